"""Windows specifics shared by the PowerShell collector, its parser and the audit: registry
hives, the registry answer encoding, registry data as SCA renders it, OS facts, snapshots.

Registry answer (the body of a frame whose status is `ok`), ASCII lines ending in LF:

    S <view> <state>                       one per view; view 64 or 32; state found, missing,
                                           denied or error
    V <view> <type> <name> <data>          a value of the key in that view
    K <view> <name>                        a subkey name

`<name>` is base64 of the UTF-8 name (the default value has the empty name), `<type>` a REG_*
name, and `<data>` base64 of the value's bytes: UTF-8 text for REG_SZ and REG_EXPAND_SZ
(unexpanded), the strings joined by NUL for REG_MULTI_SZ, little-endian integers for REG_DWORD
and REG_QWORD, the raw bytes for everything else. Rendering for rules happens here, in Python.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from workers.engine.facts import (
    CommandRequest,
    FactRequest,
    Facts,
    RegistryFact,
    RegistryRequest,
    RegistryValue,
    UnavailableFact,
)

# The hive names W4 accepts (docs/policy-format.md §4.5), case-sensitive, to .NET hive names.
HIVES = {
    "HKEY_LOCAL_MACHINE": "LocalMachine",
    "HKLM": "LocalMachine",
    "HKEY_CLASSES_ROOT": "ClassesRoot",
    "HKEY_CURRENT_CONFIG": "CurrentConfig",
    "HKEY_USERS": "Users",
    "HKEY_CURRENT_USER": "CurrentUser",
    "HKCU": "CurrentUser",
}
VIEWS = ("64", "32")  # the order W4 tries them in
REG_TYPES = frozenset(
    {
        "REG_SZ",
        "REG_EXPAND_SZ",
        "REG_MULTI_SZ",
        "REG_DWORD",
        "REG_QWORD",
        "REG_BINARY",
        "REG_NONE",
        "REG_UNKNOWN",
    }
)

CURRENT_VERSION = RegistryRequest(r"HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion")
COMPUTER_NAME = RegistryRequest(
    r"HKLM\SYSTEM\CurrentControlSet\Control\ComputerName\ActiveComputerName"
)
PRODUCT_OPTIONS = RegistryRequest(r"HKLM\SYSTEM\CurrentControlSet\Control\ProductOptions")
TCPIP_PARAMETERS = RegistryRequest(r"HKLM\SYSTEM\CurrentControlSet\Services\Tcpip\Parameters")
ENVIRONMENT = RegistryRequest(r"HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\Environment")
OS_REQUESTS: tuple[FactRequest, ...] = (
    CURRENT_VERSION,
    COMPUTER_NAME,
    PRODUCT_OPTIONS,
    TCPIP_PARAMETERS,
    ENVIRONMENT,
)

# Collected once per audit when any rule names the tool. The secedit one is special to the
# collector: its output is the exported policy (INF text), not secedit's console chatter.
AUDITPOL_REPORT = CommandRequest(
    ("auditpol.exe", "/get", "/category:*", "/r"), line="auditpol.exe /get /category:* /r"
)
SECEDIT_EXPORT = CommandRequest(
    ("secedit.exe", "/export", "/cfg", "<temporary file>"),
    line="secedit.exe /export /cfg <temporary file>",
)
_NAMES_SECEDIT = re.compile(r"(?i)\bsecedit(?:\.exe)?\b")
_NAMES_AUDITPOL = re.compile(r"(?i)\bauditpol(?:\.exe)?\b")


# -- every user's hive ---------------------------------------------------------------------------

# Bulwark's extension (docs/policy-format.md §4.5): `HKEY_USERS\*\PATH` in an `r:` rule stands for
# PATH in the hive of every user whose hive is loaded. The plan reads HKEY_USERS first to learn
# the SIDs, then each user's key; the evaluator judges the rule in each of them.
EVERY_USER = "HKEY_USERS\\*\\"
USERS_ROOT = RegistryRequest("HKEY_USERS")
# The hives of people: local and domain accounts (S-1-5-21-...) and Microsoft Entra ID accounts
# (S-1-12-1-...). Left out: .DEFAULT and S-1-5-18/19/20 (LocalSystem, LocalService,
# NetworkService: no user policy applies to them), service and app pool identities
# (S-1-5-80-..., S-1-5-82-...), and each user's <SID>_Classes hive (file associations, never
# Software\Policies; its name does not match).
_USER_SID = re.compile(r"S-1-(?:5-21|12-1)(?:-\d+)+", re.IGNORECASE)


def every_user_path(key: str) -> str | None:
    """PATH for an `HKEY_USERS\\*\\PATH` key, None for an ordinary key."""
    return key[len(EVERY_USER) :] if key.startswith(EVERY_USER) else None


def user_sids(fact: object) -> list[str] | None:
    """The SIDs of the users whose hives HKEY_USERS holds, sorted; None when it was not read."""
    if not isinstance(fact, RegistryFact) or not fact.exists:
        return None
    return sorted(name for name in fact.subkeys if _USER_SID.fullmatch(name))


def user_key(sid: str, path: str) -> str:
    return f"HKEY_USERS\\{sid}\\{path}"


def split_registry_key(key: str) -> tuple[str, str] | None:
    """(.NET hive name, subkey path) for a rule's KEY, or None when W4 refuses the hive."""
    hive, _, path = key.partition("\\")
    name = HIVES.get(hive)
    return None if name is None else (name, path.strip("\\"))


def snapshot_requests(needed: Iterable[FactRequest]) -> list[FactRequest]:
    """The secedit/auditpol snapshots that these requests call for."""
    lines = [
        r.line
        for r in needed
        if isinstance(r, CommandRequest) and r.line and r not in (SECEDIT_EXPORT, AUDITPOL_REPORT)
    ]
    wanted: list[FactRequest] = []
    if any(_NAMES_SECEDIT.search(line) for line in lines):
        wanted.append(SECEDIT_EXPORT)
    if any(_NAMES_AUDITPOL.search(line) for line in lines):
        wanted.append(AUDITPOL_REPORT)
    return wanted


# -- registry data -------------------------------------------------------------------------------


def render_registry_data(reg_type: str, raw: bytes) -> str:
    """A value's data as W4 shows it to patterns (§4.5).

    Bytes of other types are `%02x` each, without W4's sign extension of bytes >= 0x80.
    """
    if reg_type in ("REG_SZ", "REG_EXPAND_SZ"):
        return raw.decode("utf-8", errors="replace")
    if reg_type == "REG_DWORD" and len(raw) == 4:
        return str(int.from_bytes(raw, "little", signed=False))
    if reg_type == "REG_MULTI_SZ":
        if not raw:
            return ""
        return "".join(f"{part} " for part in raw.decode("utf-8", errors="replace").split("\0"))
    return raw.hex()


def parse_registry_answer(
    status: str, data: bytes, truncated: bool
) -> RegistryFact | UnavailableFact:
    """Merge the two views of one key into a fact; anything malformed makes it unavailable.

    Values of the 64-bit view come first, so a name found in both is tested there first; the
    key exists when either view has it, and is denied only when no view could be read.
    """
    if status == "badhive":
        return UnavailableFact("registry hive not accepted (W4 takes HKLM, HKCU, HKEY_...)")
    if status != "ok":
        return UnavailableFact(f"unexpected registry status {status[:40]!r}")
    if truncated:
        return UnavailableFact("registry key is larger than the collector's size cap")
    states: dict[str, str] = {}
    values: dict[tuple[str, str, str], RegistryValue] = {}
    subkeys: dict[str, str] = {}
    try:
        for line in data.decode("ascii").split("\n")[:-1]:
            fields = line.split(" ")
            if fields[0] == "S" and len(fields) == 3 and fields[1] in VIEWS:
                states[fields[1]] = fields[2]
            elif fields[0] == "V" and len(fields) == 5 and fields[2] in REG_TYPES:
                name = _b64text(fields[3]) or "@"  # W4 calls the default value "@"
                value = RegistryValue(
                    name, fields[2], render_registry_data(fields[2], _b64(fields[4]))
                )
                values.setdefault((name.lower(), value.type, value.data), value)
            elif fields[0] == "K" and len(fields) == 3:
                subkey = _b64text(fields[2])
                subkeys.setdefault(subkey.lower(), subkey)
            else:
                raise ValueError(line[:40])
    except (UnicodeDecodeError, ValueError, binascii.Error) as exc:
        return UnavailableFact(f"malformed registry answer ({exc})")
    if set(states) != set(VIEWS) or not data.endswith(b"\n"):
        return UnavailableFact("malformed registry answer (views missing)")
    exists = "found" in states.values()
    denied = not exists and all(s in ("denied", "error") for s in states.values())
    return RegistryFact(exists, denied, tuple(values.values()), tuple(subkeys.values()))


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _b64text(text: str) -> str:
    return _b64(text).decode("utf-8")


# -- OS facts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowsInfo:
    """What the registry says about the machine itself."""

    product_name: str
    edition: str
    build: str
    kernel: str  # 10.0.<build>.<UBR>
    hostname: str
    architecture: str
    role: str  # Win32_ComputerSystem.DomainRole's words, from ProductType and the domain


def windows_info(facts: Facts) -> WindowsInfo:
    current = _values(facts, CURRENT_VERSION)
    build = current.get("currentbuildnumber") or current.get("currentbuild", "")
    major = current.get("currentmajorversionnumber", "10")
    minor = current.get("currentminorversionnumber", "0")
    ubr = current.get("ubr", "")
    kernel = ".".join(part for part in (major, minor, build, ubr) if part)
    product = current.get("productname", "")
    if product.startswith("Windows 10") and build.isdigit() and int(build) >= 22000:
        product = "Windows 11" + product[len("Windows 10") :]  # it still says 10 (§6)
    pretty = " ".join(p for p in (product, current.get("displayversion", "")) if p)
    product_type = _values(facts, PRODUCT_OPTIONS).get("producttype", "").lower()
    joined = bool(_values(facts, TCPIP_PARAMETERS).get("domain"))
    if product_type == "lanmannt":
        role = "domain controller"
    elif product_type == "servernt":
        role = "member server" if joined else "standalone server"
    elif product_type == "winnt":
        role = "member workstation" if joined else "standalone workstation"
    else:
        role = ""
    return WindowsInfo(
        product_name=pretty,
        edition=current.get("editionid", ""),
        build=build,
        kernel=kernel,
        hostname=_values(facts, COMPUTER_NAME).get("computername", ""),
        architecture=_values(facts, ENVIRONMENT).get("processor_architecture", ""),
        role=role,
    )


def _values(facts: Facts, request: RegistryRequest) -> dict[str, str]:
    fact = facts.get(request)
    if not isinstance(fact, RegistryFact):
        return {}
    found: dict[str, str] = {}
    for value in fact.values:
        found.setdefault(value.name.lower(), value.data.strip())
    return found
