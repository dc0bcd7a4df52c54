"""Commands the simulated Windows machine can run, emulated from its fixture.

Answers are (collector status, output): `rc=N`, `noexec` (CreateProcess failed) or `timeout`.
Emulated: fixture `commands` (exact text, case-insensitive), auditpol (/get /subcategory:"X"
text and /get /category:* /r CSV, from `audit_policy`), secedit exports read through
PowerShell's Select-String (from `secedit`), `reg query KEY [/v NAME]` (from the registry),
`net user`, the stock Guest-account queries (from `accounts`), and Bulwark's generated
remediation scripts as `powershell -EncodedCommand` (windows_script.py). Other known programs
exit 1.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tests.hosts.windows_script import run_encoded

if TYPE_CHECKING:
    from tests.hosts.windows_machine import WindowsMachine

# auditpol's subcategories, by category, with the last two hex digits of their GUIDs
# {0CCE92xx-69AE-11D9-BED3-505054503030}.
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
KNOWN_PROGRAMS = {
    "auditpol", "cmd", "net", "netsh", "powershell", "reg", "sc", "secedit", "wmic", "bcdedit",
}  # fmt: skip
_PROGRAM = re.compile(r'^\s*(?:"([^"]*)"|(\S+))')
_SUBCATEGORY = re.compile(r'(?i)^auditpol(?:\.exe)?\s+/get\s+/subcategory:"?([^"]+?)"?\s*$')
_CATEGORY_CSV = re.compile(r"(?i)^auditpol(?:\.exe)?\s+/get\s+/category:\*\s+/r\s*$")
_SELECT = re.compile(r'(?i)Select-String\s+\\?"([^"\\]+)\\?"')
_REG_QUERY = re.compile(r'(?i)^reg(?:\.exe)?\s+query\s+(?:"([^"]+)"|(\S+))(?:\s+/v\s+(\S+))?\s*$')
_NOT_FOUND = b"ERROR: The system was unable to find the specified registry key or value.\r\n"


def subcategories() -> list[tuple[str, str, str]]:
    """(category, subcategory, GUID) in auditpol's order."""
    found = []
    for category, text in AUDIT_SUBCATEGORIES.items():
        for item in text.split(", "):
            name, _, suffix = item.rpartition(" ")
            found.append((category, name, f"{{0CCE92{suffix}-69AE-11D9-BED3-505054503030}}"))
    return found


def run_command(machine: WindowsMachine, line: str) -> tuple[str, bytes]:
    """Run a command line (already %VAR%-expanded) on the machine."""
    fixed = {k.lower(): v for k, v in (machine.spec.get("commands") or {}).items()}
    if line.lower() in fixed:
        return _fixed(fixed[line.lower()])
    match = _PROGRAM.match(line)
    if match is None:
        return "noexec", b""
    program_path = match.group(1) or match.group(2)
    program = re.split(r"[\\/]", program_path)[-1].lower().removesuffix(".exe")
    rest = line[match.end() :].strip()
    if program not in KNOWN_PROGRAMS:
        return "noexec", b""
    short = f"{program} {rest}".strip()
    if program == "auditpol":
        return _auditpol(machine, short)
    if program == "reg":
        return _reg_query(machine, short)
    if program == "net" and rest.lower() == "user":
        return _net_user(machine)
    if program == "powershell":
        script = run_encoded(machine, rest)
        if script is not None:
            return script
    if program == "powershell" and "secedit" in rest.lower():
        return _secedit_select(machine, rest)
    if "-501" in rest and ("Win32_UserAccount" in rest or "useraccount" in rest.lower()):
        return _guest(machine, program)
    return "rc=1", f"{program}: this test machine does not emulate '{rest[:60]}'\r\n".encode()


def secedit_export(machine: WindowsMachine) -> tuple[str, bytes]:
    """The collector's secedit snapshot: the exported INF text."""
    text = str(machine.spec.get("secedit") or "")
    return ("rc=0", text.replace("\n", "\r\n").encode()) if text else ("rc=1", b"")


def _fixed(spec: Any) -> tuple[str, bytes]:
    if isinstance(spec, str):
        return "rc=0", spec.encode()
    if spec.get("timeout"):
        return "timeout", str(spec.get("output", "")).encode()
    return f"rc={int(spec.get('rc', 0))}", str(spec.get("output", "")).encode()


def _audit_settings(machine: WindowsMachine) -> dict[str, str]:
    policy = machine.spec.get("audit_policy") or {}
    return {name.lower(): str(policy.get(name, "No Auditing")) for _, name, _ in subcategories()}


def _auditpol(machine: WindowsMachine, command: str) -> tuple[str, bytes]:
    settings = _audit_settings(machine)
    host = machine.env.get("COMPUTERNAME", "WIN")
    if _CATEGORY_CSV.match(command):
        rows = ["Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,"
                "Exclusion Setting"]  # fmt: skip
        for _, name, guid in subcategories():
            rows.append(f"{host},System,{name},{guid},{settings[name.lower()]},")
        return "rc=0", ("\r\n".join(rows) + "\r\n\r\n").encode()
    match = _SUBCATEGORY.match(command)
    if match is None or match.group(1).lower() not in settings:
        return "rc=87", b"Error 0x00000057 occurred:\r\nThe parameter is incorrect.\r\n\r\n"
    category, name, _ = next(s for s in subcategories() if s[1].lower() == match.group(1).lower())
    text = (
        "System audit policy\r\nCategory/Subcategory                      Setting\r\n"
        f"{category}\r\n  {name:<40}{settings[name.lower()]}\r\n\r\n"
    )
    return "rc=0", text.encode()


def _secedit_lines(machine: WindowsMachine, needle: str) -> list[str]:
    text = str(machine.spec.get("secedit") or "")
    return [line for line in text.splitlines() if needle.lower() in line.lower()]


def _secedit_select(machine: WindowsMachine, script: str) -> tuple[str, bytes]:
    match = _SELECT.search(script)
    if match is None:
        return "rc=1", b""
    found = _secedit_lines(machine, match.group(1))
    if ".Split(" in script:  # $(...).ToString().Split("=")[1].Trim(): just the value
        if not found:
            return "rc=1", b"You cannot call a method on a null-valued expression.\r\n"
        return "rc=0", (found[0].split("=", 1)[1].strip() + "\r\n").encode()
    # Select-String's MatchInfo objects, as PowerShell formats them for a pipe.
    return "rc=0", "".join(f"\r\n{line}\r\n\r\n" for line in found).encode()


def _reg_query(machine: WindowsMachine, command: str) -> tuple[str, bytes]:
    match = _REG_QUERY.match(command)
    if match is None:
        return "rc=1", b"ERROR: Invalid syntax.\r\n"
    key, name = match.group(1) or match.group(2), match.group(3)
    hive, _, rest = key.partition("\\")
    full = {"HKLM": "HKEY_LOCAL_MACHINE", "HKCU": "HKEY_CURRENT_USER"}.get(hive.upper(), hive)
    full = f"{full}\\{rest}"
    if name is None:
        # Without /v reg lists every value of the key, then its subkeys' full names.
        found = machine.key("64", key)
        if found is None:
            return "rc=1", _NOT_FOUND
        lines = [_reg_line(*value) for value in found.values.values()]
        lines += ["", *(f"{full}\\{sub}" for sub in found.subkeys.values())]
        return "rc=0", (f"\r\n{full}\r\n" + "".join(f"{x}\r\n" for x in lines)).encode()
    value = machine.value(key, name)
    if value is None:
        return "rc=1", _NOT_FOUND
    return "rc=0", f"\r\n{full}\r\n{_reg_line(*value)}\r\n\r\n".encode()


def _reg_line(value_name: str, reg_type: str, raw: bytes) -> str:
    """One value as `reg query` prints it."""
    if reg_type == "REG_DWORD":
        shown = hex(int.from_bytes(raw, "little"))
    elif reg_type in ("REG_SZ", "REG_EXPAND_SZ"):
        shown = raw.decode()
    elif reg_type == "REG_MULTI_SZ":
        shown = raw.decode().replace("\0", "\\0")
    else:
        shown = raw.hex().upper()
    return f"    {value_name}    {reg_type}    {shown}"


def _accounts(machine: WindowsMachine) -> list[dict[str, Any]]:
    return list(machine.spec.get("accounts") or [])


def _net_user(machine: WindowsMachine) -> tuple[str, bytes]:
    names = [str(a["name"]) for a in _accounts(machine)]
    rows = ["".join(f"{n:<25}" for n in names[i : i + 3]) for i in range(0, len(names), 3)]
    host = machine.env.get("COMPUTERNAME", "WIN")
    text = (
        f"\r\nUser accounts for \\\\{host}\r\n\r\n{'-' * 79}\r\n"
        + "".join(row + "\r\n" for row in rows)
        + "The command completed successfully.\r\n\r\n"
    )
    return "rc=0", text.encode()


def _guest(machine: WindowsMachine, program: str) -> tuple[str, bytes]:
    guest = next((a for a in _accounts(machine) if int(a.get("rid", 0)) == 501), None)
    disabled = bool(guest and guest.get("disabled"))
    if program == "powershell":
        return "rc=0", (b"True\r\n" if disabled else b"False\r\n")
    if guest is None:
        return "rc=0", b"No Instance(s) Available.\r\n"
    return "rc=0", f"Disabled  \r\n{'TRUE' if disabled else 'FALSE'}     \r\n\r\n".encode()
