"""The Windows fix shorthands of `fix:` (docs/policy-format-extensions.md), expanded to the
PowerShell steps of workers/remediation/powershell.py:

    audit_policy: {Credential Validation: success_and_failure}     # auditpol, by GUID
    security_policy:                                                # secedit, one setting
      System Access: {PasswordHistorySize: {set: 24, min: 24}}
      Privilege Rights: {SeTcbPrivilege: []}                        # exactly these SIDs
      Privilege Rights: {SeDenyBatchLogonRight: {include: ['*S-1-5-32-546']}}

The steps call the helper functions that powershell.HELPERS defines in every script's header.
Only text is made here: nothing runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# auditpol's subcategories by category, with the last two hex digits of their GUIDs
# {0CCE92xx-69AE-11D9-BED3-505054503030} (Microsoft's list of audit subcategory GUIDs, as
# `auditpol /list /subcategory:* /v` prints them). The fixes name a subcategory by its GUID:
# auditpol's names are translated on a localized Windows, the GUIDs are not.
AUDIT_SUBCATEGORIES = {
    "System": "Security State Change 10, Security System Extension 11, System Integrity 12, "
    "IPsec Driver 13, Other System Events 14",
    "Logon/Logoff": "Logon 15, Logoff 16, Account Lockout 17, IPsec Main Mode 18, "
    "IPsec Quick Mode 19, IPsec Extended Mode 1A, Special Logon 1B, "
    "Other Logon/Logoff Events 1C, Network Policy Server 43, User / Device Claims 47, "
    "Group Membership 49",
    "Object Access": "File System 1D, Registry 1E, Kernel Object 1F, SAM 20, "
    "Certification Services 21, Application Generated 22, Handle Manipulation 23, "
    "File Share 24, Filtering Platform Packet Drop 25, Filtering Platform Connection 26, "
    "Other Object Access Events 27, Detailed File Share 44, Removable Storage 45, "
    "Central Policy Staging 46",
    "Privilege Use": "Sensitive Privilege Use 28, Non Sensitive Privilege Use 29, "
    "Other Privilege Use Events 2A",
    "Detailed Tracking": "Process Creation 2B, Process Termination 2C, DPAPI Activity 2D, "
    "RPC Events 2E, Plug and Play Events 48, Token Right Adjusted Events 4A",
    "Policy Change": "Audit Policy Change 2F, Authentication Policy Change 30, "
    "Authorization Policy Change 31, MPSSVC Rule-Level Policy Change 32, "
    "Filtering Platform Policy Change 33, Other Policy Change Events 34",
    "Account Management": "User Account Management 35, Computer Account Management 36, "
    "Security Group Management 37, Distribution Group Management 38, "
    "Application Group Management 39, Other Account Management Events 3A",
    "DS Access": "Directory Service Access 3B, Directory Service Changes 3C, "
    "Directory Service Replication 3D, Detailed Directory Service Replication 3E",
    "Account Logon": "Credential Validation 3F, Kerberos Service Ticket Operations 40, "
    "Other Account Logon Events 41, Kerberos Authentication Service 42",
}


def subcategories() -> list[tuple[str, str, str]]:
    """(category, subcategory, GUID) in auditpol's order."""
    found = []
    for category, text in AUDIT_SUBCATEGORIES.items():
        for item in text.split(", "):
            name, _, suffix = item.rpartition(" ")
            found.append((category, name, f"{{0CCE92{suffix}-69AE-11D9-BED3-505054503030}}"))
    return found


_GUIDS = {name.lower(): guid for _, name, guid in subcategories()}

# What each audit_policy setting accepts as compliant (auditpol's /r "Inclusion Setting"), and
# the switches that turn it on. "success" leaves failures as they are (and the reverse).
AUDIT_SETTINGS = {
    "success": (("Success", "Success and Failure"), "/success:enable"),
    "failure": (("Failure", "Success and Failure"), "/failure:enable"),
    "success_and_failure": (("Success and Failure",), "/success:enable /failure:enable"),
}

# secedit's INF sections and the /areas that configure them.
SECURITY_SECTIONS = {"System Access": "SECURITYPOLICY", "Privilege Rights": "USER_RIGHTS"}
DWORD_MAX = 0xFFFFFFFF
_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_SID = re.compile(r"^\*S-1-\d+(?:-\d+)+$")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _array(items: tuple[str, ...] | list[str]) -> str:
    return "@(" + ", ".join(_quoted(i) for i in items) + ")"


def audit_policy(value: Any, problems: list[str]) -> tuple[str, str] | None:
    """fix.audit_policy -> (test, fix), or None with the defects in `problems`."""
    if not isinstance(value, dict) or len(value) != 1:
        problems.append("fix.audit_policy must map one auditpol subcategory to a setting")
        return None
    ((name, setting),) = value.items()
    guid = _GUIDS.get(str(name).lower())
    if guid is None:
        problems.append(f"fix.audit_policy: {name}: not an auditpol subcategory (English name)")
        return None
    if setting not in AUDIT_SETTINGS:
        problems.append(
            f"fix.audit_policy: {name}: setting {setting!r}, expected one of "
            + ", ".join(AUDIT_SETTINGS)
        )
        return None
    accepted, switches = AUDIT_SETTINGS[setting]
    test = f"Test-BulwarkAuditPolicy {_quoted(guid)} {_array(accepted)}"
    fix = f"auditpol.exe /set {_quoted('/subcategory:' + guid)} {switches} | Out-Null"
    return test, fix


def security_policy(value: Any, problems: list[str]) -> tuple[str, str] | None:
    """fix.security_policy -> (test, fix), or None with the defects in `problems`."""
    where = "fix.security_policy"
    if (
        not isinstance(value, dict)
        or len(value) != 1
        or not isinstance(next(iter(value.values())), dict)
        or len(next(iter(value.values()))) != 1
    ):
        problems.append(f"{where} must be one setting: {{Section: {{Key: value}}}}")
        return None
    ((section, settings),) = value.items()
    ((key, setting),) = settings.items()
    if section not in SECURITY_SECTIONS:
        problems.append(f"{where}: section {section!r}, expected {' or '.join(SECURITY_SECTIONS)}")
        return None
    if not _KEY.match(str(key)):
        problems.append(f"{where}: {section}: {key!r} is not a secedit key name")
        return None
    if section == "Privilege Rights":
        return _user_right(str(key), setting, problems)
    return _number(str(key), setting, problems)


def _number(key: str, setting: Any, problems: list[str]) -> tuple[str, str] | None:
    """A [System Access] number: `N` (exactly) or `{set: N, min: A, max: B}` (the test takes
    any value in [A, B], the fix writes N)."""
    where = f"fix.security_policy: System Access: {key}"
    if isinstance(setting, int) and not isinstance(setting, bool):
        wanted, low, high = setting, setting, setting
    elif isinstance(setting, dict) and "set" in setting and set(setting) <= {"set", "min", "max"}:
        wanted, low, high = setting["set"], setting.get("min", 0), setting.get("max", DWORD_MAX)
    else:
        problems.append(f"{where}: expected an integer or {{set: N, min: A, max: B}}")
        return None
    numbers = (wanted, low, high)
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers) or not (
        0 <= low <= wanted <= high <= DWORD_MAX
    ):
        problems.append(f"{where}: expected integers with 0 <= min <= set <= max <= {DWORD_MAX}")
        return None
    test = f"Test-BulwarkSecurityNumber 'System Access' {_quoted(key)} {low} {high}"
    line = _quoted(f"{key} = {wanted}")
    fix = f"Set-BulwarkSecurityPolicy 'SECURITYPOLICY' 'System Access' {line}"
    return test, fix


def _user_right(key: str, setting: Any, problems: list[str]) -> tuple[str, str] | None:
    """A user right: a list of SIDs (exactly those; [] for nobody), or {include: [SIDs]} (those
    added to whoever holds it)."""
    where = f"fix.security_policy: Privilege Rights: {key}"
    include = isinstance(setting, dict)
    sids = setting.get("include") if isinstance(setting, dict) and len(setting) == 1 else setting
    if not isinstance(sids, list) or (include and not sids):
        problems.append(f"{where}: expected a list of SIDs or {{include: [SIDs]}}")
        return None
    bad = [str(s) for s in sids if not (isinstance(s, str) and _SID.match(s))]
    if bad or len(set(sids)) != len(sids):
        problems.append(f"{where}: SIDs are written '*S-1-5-32-544', each once: {', '.join(bad)}")
        return None
    if include:
        test = f"Test-BulwarkUserRight {_quoted(key)} {_array(sids)} -Include"
        return test, f"Add-BulwarkUserRight {_quoted(key)} {_array(sids)}"
    test = f"Test-BulwarkUserRight {_quoted(key)} {_array(sids)}"
    line = f"{key} = {','.join(sids)}"
    return test, f"Set-BulwarkSecurityPolicy 'USER_RIGHTS' 'Privilege Rights' {_quoted(line)}"


def expand(value: Mapping[str, Any], problems: list[str]) -> tuple[str, str] | None:
    """The (powershell_test, powershell) of a fix's Windows shorthand, if it has one."""
    if "audit_policy" in value:
        return audit_policy(value["audit_policy"], problems)
    if "security_policy" in value:
        return security_policy(value["security_policy"], problems)
    return None
