"""Commands the simulated Windows machine can run, emulated from its fixture.

Answers are (collector status, output): `rc=N`, `noexec` (CreateProcess failed) or `timeout`.
Emulated: fixture `commands` (exact text, case-insensitive), auditpol (/get /subcategory:"X"
or {GUID} as text or, with /r, CSV; /get /category:* /r; /set /subcategory:X
/success:enable|disable /failure:enable|disable: all on `audit_policy`), secedit exports read
through PowerShell's Select-String (from `secedit`), `secedit /export /cfg FILE` (the INF in
UTF-16, as secedit writes it) and `secedit /configure /db DB /cfg FILE /areas SECURITYPOLICY|
USER_RIGHTS` (the template's [System Access] or [Privilege Rights] lines applied to `secedit`;
an empty right is taken from everyone, and EnableGuestAccount enables or disables the Guest
account of `accounts`), `reg query KEY [/v NAME]` (from the registry),
`net user`, the stock Guest-account queries (from `accounts`), and Bulwark's generated
remediation scripts as `powershell -EncodedCommand` (windows_script.py). Other known programs
exit 1.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tests.hosts.windows_script import run_encoded
from workers.engine.windows_fixes import subcategories

if TYPE_CHECKING:
    from tests.hosts.windows_machine import WindowsMachine

KNOWN_PROGRAMS = {
    "auditpol", "cmd", "net", "netsh", "powershell", "reg", "sc", "secedit", "wmic", "bcdedit",
}  # fmt: skip
_PROGRAM = re.compile(r'^\s*(?:"([^"]*)"|(\S+))')
_SUBCATEGORY = re.compile(
    r'(?i)^auditpol(?:\.exe)?\s+/get\s+/subcategory:"?([^"]+?)"?(?P<csv>\s+/r)?\s*$'
)
_SET = re.compile(
    r'(?i)^auditpol(?:\.exe)?\s+/set\s+/subcategory:"?([^"]+?)"?'
    r"((?:\s+/(?:success|failure):(?:enable|disable))+)\s*$"
)
_CATEGORY_CSV = re.compile(r"(?i)^auditpol(?:\.exe)?\s+/get\s+/category:\*\s+/r\s*$")
_SELECT = re.compile(r'(?i)Select-String\s+\\?"([^"\\]+)\\?"')
_REG_QUERY = re.compile(r'(?i)^reg(?:\.exe)?\s+query\s+(?:"([^"]+)"|(\S+))(?:\s+/v\s+(\S+))?\s*$')
_NOT_FOUND = b"ERROR: The system was unable to find the specified registry key or value.\r\n"


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
    if program == "secedit":
        return _secedit(machine, rest)
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


_BAD_PARAMETER = b"Error 0x00000057 occurred:\r\nThe parameter is incorrect.\r\n\r\n"
_CSV_HEADER = (
    "Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,Exclusion Setting"
)


def _subcategory(named: str) -> tuple[str, str, str] | None:
    """A subcategory by its English name or its GUID (auditpol takes both)."""
    wanted = named.strip().lower()
    return next((s for s in subcategories() if wanted in (s[1].lower(), s[2].lower())), None)


def _auditpol(machine: WindowsMachine, command: str) -> tuple[str, bytes]:
    settings = _audit_settings(machine)
    host = machine.env.get("COMPUTERNAME", "WIN")
    if _CATEGORY_CSV.match(command):
        rows = [_CSV_HEADER]
        for _, name, guid in subcategories():
            rows.append(f"{host},System,{name},{guid},{settings[name.lower()]},")
        return "rc=0", ("\r\n".join(rows) + "\r\n\r\n").encode()
    if match := _SET.match(command):
        return _auditpol_set(machine, match)
    match = _SUBCATEGORY.match(command)
    found = _subcategory(match.group(1)) if match else None
    if match is None or found is None:
        return "rc=87", _BAD_PARAMETER
    category, name, guid = found
    if match.group("csv"):
        row = f"{host},System,{name},{guid},{settings[name.lower()]},"
        return "rc=0", f"{_CSV_HEADER}\r\n{row}\r\n\r\n".encode()
    text = (
        "System audit policy\r\nCategory/Subcategory                      Setting\r\n"
        f"{category}\r\n  {name:<40}{settings[name.lower()]}\r\n\r\n"
    )
    return "rc=0", text.encode()


def _auditpol_set(machine: WindowsMachine, match: re.Match[str]) -> tuple[str, bytes]:
    """`auditpol /set /subcategory:X /success:enable ...`: each switch given changes its half
    of the setting, the other half stays as it was."""
    found = _subcategory(match.group(1))
    if found is None:
        return "rc=87", _BAD_PARAMETER
    name = found[1]
    current = _audit_settings(machine)[name.lower()]
    success, failure = "Success" in current, "Failure" in current
    for switch in match.group(2).lower().split():
        kind, _, state = switch[1:].partition(":")
        if kind == "success":
            success = state == "enable"
        else:
            failure = state == "enable"
    setting = {
        (True, True): "Success and Failure",
        (True, False): "Success",
        (False, True): "Failure",
        (False, False): "No Auditing",
    }[success, failure]
    policy = machine.spec.setdefault("audit_policy", {})
    for key in [k for k in policy if k.lower() == name.lower()]:
        del policy[key]
    policy[name] = setting
    return "rc=0", b"The command was successfully executed.\r\n"


# secedit's template sections, by the /areas that configure them (only those the fixes use).
_AREAS = {"securitypolicy": "System Access", "user_rights": "Privilege Rights"}
_SECEDIT_ARGUMENT = re.compile(r'(?i)/(\w+)(?:\s+(?!/)("[^"]*"|\S+))?')
_SECEDIT_USAGE = b"The parameter is incorrect.\r\n\r\nSee secedit /? for usage.\r\n"


def _secedit(machine: WindowsMachine, rest: str) -> tuple[str, bytes]:
    """secedit /export /cfg FILE [/areas ...] [/quiet], /configure /db DB /cfg FILE /areas A
    [/quiet]. The export writes the whole INF (areas are not narrowed here); the configuration
    applies the template's lines of the given areas' sections."""
    arguments: dict[str, str] = {}
    for name, value in _SECEDIT_ARGUMENT.findall(rest):
        arguments[name.lower()] = value.strip('"')
    if "export" in arguments and arguments.get("cfg"):
        text = str(machine.spec.get("secedit") or "")
        if not text:
            return "rc=1", b"Task failed. See %windir%\\security\\logs\\scesrv.log.\r\n"
        data = b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le")
        machine.write_file(arguments["cfg"], data)
        return "rc=0", b"" if "quiet" in arguments else b"The task has completed successfully.\r\n"
    if "configure" in arguments and arguments.get("db") and arguments.get("cfg"):
        data = machine.read_file(arguments["cfg"])
        if data is None:
            return "rc=1", b"The system cannot find the file specified.\r\n"
        areas = [a.lower() for a in arguments.get("areas", "").split()]
        if not areas or any(a not in _AREAS for a in areas):
            return "rc=1", f"this test machine does not emulate /areas {areas}\r\n".encode()
        template = _read_template(data)
        if template is None:
            return "rc=1", b"The template is not a valid INF file.\r\n"
        machine.write_file(arguments["db"], b"emulated security database")
        before = machine.spec.get("secedit")
        for area in areas:
            for key, value in template.get(_AREAS[area].lower(), []):
                _apply_secedit(machine, _AREAS[area], key, value)
        if problem := _lockout_problem(machine):
            machine.spec["secedit"] = before  # the account policy is set as a whole, or not
            return "rc=1", f"Task failed: {problem}\r\n".encode()
        return "rc=0", b"" if "quiet" in arguments else b"The task has completed successfully.\r\n"
    return "rc=1", _SECEDIT_USAGE


def _lockout_problem(machine: WindowsMachine) -> str:
    """Windows refuses a lockout counter reset longer than the lockout itself (a duration of 0
    locks until an administrator unlocks: any reset goes); the fixes rely on the policy's
    order, the duration (1.2.1) before the reset (1.2.4)."""
    values = {
        key.strip().lower(): value.strip()
        for key, _, value in (
            line.partition("=") for line in str(machine.spec.get("secedit") or "").splitlines()
        )
    }
    duration, reset = values.get("lockoutduration"), values.get("resetlockoutcount")
    numbers = duration and reset and duration.isdigit() and reset.isdigit()
    if numbers and 0 < int(str(duration)) < int(str(reset)):
        return "ResetLockoutCount must not exceed LockoutDuration"
    return ""


def _read_template(data: bytes) -> dict[str, list[tuple[str, str]]] | None:
    """An INF template as secedit reads it: UTF-16 with its byte order mark, or ANSI."""
    text = data[2:].decode("utf-16-le") if data.startswith(b"\xff\xfe") else data.decode("latin-1")
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1].lower(), [])
        elif "=" in line and current is not None:
            key, _, value = line.partition("=")
            current.append((key.strip(), value.strip()))
        elif line:
            return None
    return sections


def _apply_secedit(machine: WindowsMachine, section: str, key: str, value: str) -> None:
    """One template line into the machine's policy: the line replaced (or added) in its section
    of the export; a right given to nobody leaves the export, as secedit omits it."""
    lines = str(machine.spec.get("secedit") or "").splitlines()
    heading = f"[{section.lower()}]"
    if heading not in (line.strip().lower() for line in lines):
        lines.append(f"[{section}]")
    start = next(i for i, line in enumerate(lines) if line.strip().lower() == heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    kept = [
        line for line in lines[start + 1 : end] if line.split("=")[0].strip().lower() != key.lower()
    ]
    if value or section != "Privilege Rights":
        kept.append(f"{key} = {value}")
    machine.spec["secedit"] = "\n".join([*lines[: start + 1], *kept, *lines[end:]]) + "\n"
    if section == "System Access" and key.lower() == "enableguestaccount":
        for account in _accounts(machine):
            if int(account.get("rid", 0)) == 501:
                account["disabled"] = value != "1"


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
