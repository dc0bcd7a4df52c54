"""The remediation scripts of workers/remediation/powershell.py, run on a simulated Windows machine.

The test server runs no PowerShell: it emulates, from the machine's registry, the small subset
of PowerShell 5.1 that the generated registry fixes use, and refuses anything else (a statement
it does not know is an error, as an unknown cmdlet would be, so an unproven fix cannot pass):

- the script is `powershell -EncodedCommand <UTF-16LE base64>` (pywinrm's `run_ps`), or, when
  longer than cmd.exe's command line takes, comes through stdin to STDIN_BOOTSTRAP (the test
  server runs it when stdin ends); wrapped as `& { SCRIPT } -Check` it is the dry run;
- its header must be the generator's own (powershell.HEADER); `Invoke-BulwarkStep LABEL {TEST}
  {FIX}` behaves as that header defines it: test, fix only when the test fails (not in -Check),
  test again, count changed and failed steps; the footer prints the counts and exits 1 when a
  step failed;
- a TEST is `try { (Get-ItemPropertyValue -LiteralPath 'HKLM:\\K' -Name 'N' -ErrorAction Stop)
  OP VALUE } catch { $false }`, or several joined as `$(TEST) -and $(TEST)` (a subexpression,
  because `try` is a statement and `( )` takes only a pipeline): a missing key or value throws,
  so the test is false. OP is -eq, -ne, -ge, -gt, -le, -lt or -like, VALUE an integer or a
  single-quoted string. As in PowerShell the value read decides the comparison: a number
  (REG_DWORD/QWORD) against an integer, a string (REG_SZ, and REG_EXPAND_SZ with its %NAMES%
  expanded, as Get-ItemPropertyValue returns it) against the right side made a string, without
  regard to case (-eq, -ne, and -like with its * and ? wildcards); a number against a string
  that is not one is false (-eq), or throws and the catch makes it false (-ge...); other
  pairings and other value types are not emulated (an error);
- a FIX is made of `if (-not (Test-Path -LiteralPath 'HKLM:\\K')) { New-Item -Path 'HKLM:\\K'
  -Force | Out-Null }` (New-Item -Force creates the missing parent keys; on an existing key it
  would replace it and lose its values, which is why the fixes test first) and
  `New-ItemProperty -LiteralPath 'HKLM:\\K' -Name 'N' -Value VALUE -PropertyType TYPE -Force |
  Out-Null` (-Force overwrites an existing value, whatever its type), TYPE being DWord with an
  integer, String or ExpandString with a single-quoted string (written as it is: PowerShell
  expands nothing in single quotes). New-ItemProperty on a missing key fails.

- the audit policy and security policy steps (workers/engine/windows_fixes.py) call the helper
  functions of the header (powershell.HELPERS), which this module runs as their PowerShell
  does, through the machine's emulated auditpol and secedit (windows_commands.py): a TEST is
  `Test-BulwarkAuditPolicy 'GUID' @('SETTING', ...)`, `Test-BulwarkSecurityNumber 'SECTION'
  'KEY' MIN MAX` or `Test-BulwarkUserRight 'RIGHT' @('SID', ...)` (with `-Include`: holders may
  be more), a FIX `auditpol.exe /set '/subcategory:GUID' /success:enable /failure:enable |
  Out-Null` (either switch or both), `Set-BulwarkSecurityPolicy 'AREA' 'SECTION' 'LINE'` or
  `Add-BulwarkUserRight 'RIGHT' @('SID', ...)`. The temporary files they write (secedit's export,
  the template and its database) are files of the machine, removed as the helpers remove them.
  A helper's `throw` (secedit failing) is a warning of the step, as `Invoke-BulwarkStep`'s catch
  makes it; in a test it makes the test false, as the helpers' own catch does.

A 64-bit PowerShell writes the 64-bit registry view, which is the one emulated here.
"""

from __future__ import annotations

import base64
import fnmatch
import re
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tests.hosts.pslex import QUOTES, LexError, read_literal
from workers.remediation import powershell

if TYPE_CHECKING:
    from tests.hosts.windows_machine import WindowsMachine

_ENCODED = re.compile(r"(?i)^-encodedcommand\s+([A-Za-z0-9+/=]+)\s*$")
_LITERAL = r"'(?:[^']|'')*'"
_CLAUSE = (
    rf"try \{{ \(Get-ItemPropertyValue -LiteralPath (?P<key>{_LITERAL}) -Name (?P<name>{_LITERAL}) "
    rf"-ErrorAction Stop\) (?P<op>-eq|-ne|-ge|-gt|-le|-lt|-like) (?P<value>\d+|{_LITERAL}) "
    r"\} catch \{ \$false \}"
)
_TEST = re.compile(f"^{_CLAUSE}$")
_PART = re.compile(rf"\$\({_CLAUSE}\)")
_NEW_KEY = re.compile(
    r"^if \(-not \(Test-Path -LiteralPath (?P<key>'[^']*')\)\) \{ "
    r"New-Item -Path (?P<again>'[^']*') -Force \| Out-Null \}$"
)
_NEW_VALUE = re.compile(
    rf"^New-ItemProperty -LiteralPath (?P<key>{_LITERAL}) -Name (?P<name>{_LITERAL}) "
    rf"-Value (?P<value>\d+|{_LITERAL}) -PropertyType (?P<type>DWord|String|ExpandString) "
    r"-Force \| Out-Null$"
)
_LIST = rf"@\((?P<list>(?:{_LITERAL}(?:, {_LITERAL})*)?)\)"
_AUDIT_TEST = re.compile(rf"^Test-BulwarkAuditPolicy (?P<guid>{_LITERAL}) {_LIST}$")
_NUMBER_TEST = re.compile(
    rf"^Test-BulwarkSecurityNumber (?P<section>{_LITERAL}) (?P<key>{_LITERAL}) "
    r"(?P<min>\d+) (?P<max>\d+)$"
)
_RIGHT_TEST = re.compile(
    rf"^Test-BulwarkUserRight (?P<right>{_LITERAL}) {_LIST}(?P<include> -Include)?$"
)
_AUDIT_SET = re.compile(
    rf"^auditpol\.exe /set (?P<subcategory>{_LITERAL}) "
    r"(?P<switches>/success:enable(?: /failure:enable)?|/failure:enable) \| Out-Null$"
)
_POLICY_SET = re.compile(
    rf"^Set-BulwarkSecurityPolicy (?P<area>{_LITERAL}) (?P<section>{_LITERAL}) "
    rf"(?P<line>{_LITERAL})$"
)
_RIGHT_ADD = re.compile(rf"^Add-BulwarkUserRight (?P<right>{_LITERAL}) {_LIST}$")
_FOOTER = (
    'if ($Check) { Write-Output "dry run: $script:Changed step(s) would change the host" }\n'
    'else { Write-Output "$script:Changed step(s) changed the host, $script:Failed failed" }\n'
    "exit [int]($script:Failed -gt 0)"
)


# A script longer than cmd.exe's 8,191-character command line cannot ride on -EncodedCommand
# (UTF-16 in base64 makes it 2.7 times longer): it goes through stdin, read by this bootstrap
# (the way Ansible ships its PowerShell), which is itself short enough to be the command.
STDIN_BOOTSTRAP = (
    "$r = New-Object IO.StreamReader([Console]::OpenStandardInput(), [Text.Encoding]::UTF8); "
    "& ([scriptblock]::Create($r.ReadToEnd()))"
)
_ENCODED_COMMAND = re.compile(r"(?i)^\S*powershell(?:\.exe)?\s(?:.*\s)?-encodedcommand\s+(\S+)\s*$")


def encoded(script: str) -> str:
    """The -EncodedCommand form of a script: UTF-16LE in base64."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def reads_script_from_stdin(line: str) -> bool:
    """Whether a command line is PowerShell running STDIN_BOOTSTRAP."""
    match = _ENCODED_COMMAND.match(line)
    return match is not None and match.group(1) == encoded(STDIN_BOOTSTRAP)


class NotEmulated(ValueError):
    """A statement outside the emulated subset."""


class Thrown(RuntimeError):
    """A helper's `throw`: a terminating error of the step's fix."""


def run_encoded(machine: WindowsMachine, arguments: str) -> tuple[str, bytes] | None:
    """`powershell -EncodedCommand B64` -> (status, output), or None if not that form."""
    match = _ENCODED.match(arguments.strip())
    if match is None:
        return None
    script = base64.b64decode(match.group(1)).decode("utf-16-le")
    return run_script(machine, script)


def run_script(machine: WindowsMachine, script: str) -> tuple[str, bytes]:
    text = script.replace("\r\n", "\n").strip("\n")
    check = False
    if text.startswith("& {\n") and text.endswith("\n} -Check"):
        text, check = text[4 : -len("\n} -Check")], True
    header = _expected_header(text)
    if not text.startswith(header):
        return "rc=1", b"this test machine runs only Bulwark's generated remediation scripts\r\n"
    body = text[len(header) :].strip("\n")
    if not body.endswith(_FOOTER):
        return "rc=1", b"the script does not end with the generated footer\r\n"
    body = body[: -len(_FOOTER)]
    out: list[str] = []
    changed = failed = 0
    for label, test, fix in _steps(body):
        if _test(machine, test):
            out.append(f"ok       {label}")
            continue
        if check:
            out.append(f"would    {label}")
            changed += 1
            continue
        try:
            for statement in fix:
                _fix(machine, statement)
        except (NotEmulated, Thrown) as exc:
            out.append(f"WARNING: {exc}")
        if _test(machine, test):
            out.append(f"fixed    {label}")
            changed += 1
        else:
            out.append(f"WARNING: FAILED   {label}")
            failed += 1
    if check:
        out.append(f"dry run: {changed} step(s) would change the host")
    else:
        out.append(f"{changed} step(s) changed the host, {failed} failed")
    return f"rc={int(failed > 0)}", "".join(line + "\r\n" for line in out).encode()


def _expected_header(text: str) -> str:
    """The generator's header, with the host name, step count and time this script has."""
    first = text.split("\n", 1)[0]
    match = re.match(r"^# Bulwark remediation for (.*): (\d+) step\(s\), generated (.*)\.$", first)
    if match is None:
        return "\0"  # never a prefix
    when = datetime.strptime(match.group(3), "%Y-%m-%d %H:%M UTC").replace(tzinfo=UTC)
    return powershell.header(
        match.group(1), int(match.group(2)), when.strftime("%Y-%m-%d %H:%M UTC")
    )


def _steps(body: str) -> list[tuple[str, str, list[str]]]:
    """(label, test, fix statements) of each `Invoke-BulwarkStep 'L' {\\nT\\n} {\\nF\\n}`."""
    steps = []
    lines = body.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.startswith("#"):
            continue
        if not line.startswith("Invoke-BulwarkStep "):
            raise NotEmulated(f"not emulated: {line[:80]}")
        try:
            label, end = read_literal(line, len("Invoke-BulwarkStep "))
        except LexError as exc:
            raise NotEmulated(str(exc)) from None
        if line[end:] != " {":
            raise NotEmulated(f"not a step: {line[:80]}")
        test = lines[i]
        if lines[i + 1] != "} {":
            raise NotEmulated(f"a test of more than one line: {label}")
        i += 2
        fix = []
        while lines[i] != "}":
            fix.append(lines[i])
            i += 1
        i += 1
        steps.append((label, test, fix))
    return steps


def _key(literal: str) -> str:
    value, end = read_literal(literal, 0)
    if end != len(literal) or not value.lower().startswith("hklm:\\"):
        raise NotEmulated(f"not an HKLM path: {literal}")
    return "HKLM\\" + value[len("hklm:\\") :]


def _test(machine: WindowsMachine, statement: str) -> bool:
    if any(q in statement for q in QUOTES[1:]):
        raise NotEmulated(f"typographic quotes: {statement[:80]}")
    if match := _TEST.match(statement):
        return _compare(machine, match)
    helper = _helper_test(machine, statement)
    if helper is not None:
        return helper
    parts = list(_PART.finditer(statement))
    if len(parts) < 2 or " -and ".join(p.group(0) for p in parts) != statement:
        raise NotEmulated(f"not an emulated test: {statement[:80]}")
    return all(_compare(machine, part) for part in parts)  # -and: every one, as PowerShell


def _compare(machine: WindowsMachine, match: re.Match[str]) -> bool:
    found = machine.key("64", _key(match["key"]))
    name = read_literal(match["name"], 0)[0]
    value = found.values.get(name.lower()) if found else None
    if value is None:
        return False  # Get-ItemPropertyValue throws: the catch answers $false
    _, reg_type, raw = value
    op, wanted = match["op"], match["value"]
    if reg_type in ("REG_DWORD", "REG_QWORD") and wanted.isdigit() and op != "-like":
        number, limit = int.from_bytes(raw, "little"), int(wanted)
        return {
            "-eq": number == limit,
            "-ne": number != limit,
            "-ge": number >= limit,
            "-gt": number > limit,
            "-le": number <= limit,
            "-lt": number < limit,
        }[op]
    if reg_type in ("REG_DWORD", "REG_QWORD"):
        text = read_literal(wanted, 0)[0] if not wanted.isdigit() else wanted
        if op != "-like" and not text.strip().isdigit():
            return False  # not a number: -eq and -ne say no, an ordering throws (the catch: no)
        raise NotEmulated(f"a number compared with {op} {wanted}")
    if reg_type in ("REG_SZ", "REG_EXPAND_SZ"):
        data = raw.decode()
        data = machine.expand(data) if reg_type == "REG_EXPAND_SZ" else data
        text = wanted if wanted.isdigit() else read_literal(wanted, 0)[0]  # 1 becomes '1'
        if op == "-like" and "[" not in text and "`" not in text:
            return fnmatch.fnmatchcase(data.lower(), text.lower())
        if op in ("-eq", "-ne"):
            return (data.lower() == text.lower()) == (op == "-eq")
        raise NotEmulated(f"a string compared with {op} {wanted}")
    # REG_MULTI_SZ is an array (-eq filters it), REG_BINARY bytes: not emulated
    raise NotEmulated(f"a {reg_type} value compared with {op}")


def _fix(machine: WindowsMachine, statement: str) -> None:
    if match := _NEW_KEY.match(statement):
        key = _key(match["key"])
        if _key(match["again"]).lower() != key.lower():
            raise NotEmulated(f"Test-Path and New-Item name different keys: {statement[:80]}")
        if machine.key("64", key) is None:
            machine.set_value("64", key, None, None)
        return
    if _helper_fix(machine, statement):
        return
    if match := _NEW_VALUE.match(statement):
        key = _key(match["key"])
        if machine.key("64", key) is None:
            raise NotEmulated(f"New-ItemProperty: the key does not exist: {key}")
        kind, raw = match["type"], match["value"]
        if (kind == "DWord") != raw.isdigit():
            raise NotEmulated(f"-PropertyType {kind} with -Value {raw[:40]}")
        value: object
        if kind == "DWord":
            value = int(raw)
            if value > 0xFFFFFFFF:
                raise NotEmulated("a DWord holds 32 bits")
        else:
            text = read_literal(raw, 0)[0]
            value = text if kind == "String" else {"expand_sz": text}
        machine.set_value("64", key, read_literal(match["name"], 0)[0], value)
        return
    raise NotEmulated(f"not an emulated fix statement: {statement[:80]}")


# -- the helpers of the audit policy and security policy steps (powershell.HELPERS) -------------


def _run(machine: WindowsMachine, line: str) -> tuple[str, bytes]:
    """A command on the machine, as the helpers run auditpol.exe and secedit.exe."""
    from tests.hosts.windows_commands import run_command  # it runs scripts through this module

    return run_command(machine, line)


def _literal(text: str) -> str:
    return read_literal(text, 0)[0]


def _items(listed: str) -> list[str]:
    return [value for value, _ in (read_literal(item, 0) for item in re.findall(_LITERAL, listed))]


def _helper_test(machine: WindowsMachine, statement: str) -> bool | None:
    """The value of a helper test, or None when the statement is none of them."""
    if match := _AUDIT_TEST.match(statement):
        return _test_audit_policy(machine, _literal(match["guid"]), _items(match["list"]))
    if match := _NUMBER_TEST.match(statement):
        try:
            value = _security_value(machine, _literal(match["section"]), _literal(match["key"]))
        except Thrown:
            return False  # the helper's catch: a warning, and $false
        if value is None or not re.match(r"^\d+$", value):
            return False
        return int(match["min"]) <= int(value) <= int(match["max"])
    if match := _RIGHT_TEST.match(statement):
        try:
            held = _user_right(machine, _literal(match["right"]))
        except Thrown:
            return False
        lowered = {h.lower() for h in held}
        wanted = _items(match["list"])
        missing = [sid for sid in wanted if sid.lower() not in lowered]
        return not missing and (bool(match["include"]) or len(held) == len(wanted))
    return None


def _helper_fix(machine: WindowsMachine, statement: str) -> bool:
    """Run a helper fix statement; False when the statement is none of them."""
    if match := _AUDIT_SET.match(statement):
        subcategory = _literal(match["subcategory"])
        # PowerShell passes the argument to auditpol.exe as it is (no blank: no quotes); auditpol's
        # exit code alone does not stop a script: the step's second test tells.
        _run(machine, f"auditpol.exe /set {subcategory} {match['switches']}")
        return True
    if match := _POLICY_SET.match(statement):
        _set_security_policy(
            machine, _literal(match["area"]), _literal(match["section"]), _literal(match["line"])
        )
        return True
    if match := _RIGHT_ADD.match(statement):
        right = _literal(match["right"])
        held = _user_right(machine, right)
        lowered = {h.lower() for h in held}
        every = held + [sid for sid in _items(match["list"]) if sid.lower() not in lowered]
        _set_security_policy(
            machine, "USER_RIGHTS", "Privilege Rights", f"{right} = " + ",".join(every)
        )
        return True
    return False


def _test_audit_policy(machine: WindowsMachine, guid: str, accepted: list[str]) -> bool:
    """Test-BulwarkAuditPolicy: auditpol's /r row of the subcategory, its fifth column."""
    status, output = _run(machine, f"auditpol.exe /get /subcategory:{guid} /r")
    if status != "rc=0":
        return False
    lines = output.decode().replace("\r\n", "\n").split("\n")
    rows = [line for line in lines if f",{guid.lower()}," in line.lower()]
    if len(rows) != 1:
        return False
    setting = rows[0].split(",")[4]
    return setting.lower() in (a.lower() for a in accepted)


def _temp(machine: WindowsMachine, name: str) -> str:
    return machine.env.get("TEMP", "C:\\Windows\\Temp").rstrip("\\") + "\\" + name


def _security_value(machine: WindowsMachine, section: str, key: str) -> str | None:
    """Get-BulwarkSecurityPolicy: secedit's export into a temporary file, read back."""
    path = _temp(machine, f"tmp{uuid.uuid4().hex[:4].upper()}.tmp")
    machine.write_file(path, b"")  # GetTempFileName creates the file
    try:
        status, _ = _run(machine, f"secedit.exe /export /cfg {path} /quiet")
        if status != "rc=0":
            raise Thrown(f"secedit /export exited with {status[3:]}")
        data = machine.read_file(path) or b""
        text = data[2:].decode("utf-16-le") if data.startswith(b"\xff\xfe") else data.decode()
        inside = False
        for line in text.splitlines():
            if heading := re.match(r"^\[(.*)\]$", line):
                inside = heading.group(1).lower() == section.lower()
            elif inside and (found := re.match(r"^\s*(\S+?)\s*=\s*(.*?)\s*$", line)):  # noqa: SIM102
                if found.group(1).lower() == key.lower():  # as the helper: one -match, then -eq
                    return found.group(2)
        return None
    finally:
        machine.remove_files(path)


def _user_right(machine: WindowsMachine, right: str) -> list[str]:
    value = _security_value(machine, "Privilege Rights", right)
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def _set_security_policy(machine: WindowsMachine, area: str, section: str, line: str) -> None:
    """Set-BulwarkSecurityPolicy: a template of one line, configured from a database of its
    own in a temporary directory, removed afterwards."""
    directory = _temp(machine, f"bulwark-{uuid.uuid4()}")
    template = ["[Unicode]", "Unicode=yes", f"[{section}]", line, "[Version]",
                'signature="$CHICAGO$"', "Revision=1"]  # fmt: skip
    # Set-Content -Encoding Unicode: UTF-16LE with its byte order mark, a line break after each
    data = b"\xff\xfe" + "".join(f"{item}\r\n" for item in template).encode("utf-16-le")
    machine.write_file(f"{directory}\\fix.inf", data)
    try:
        status, _ = _run(
            machine,
            f"secedit.exe /configure /db {directory}\\fix.sdb /cfg {directory}\\fix.inf "
            f"/areas {area} /quiet",
        )
        if status != "rc=0":
            raise Thrown(f"secedit /configure exited with {status[3:]}")
    finally:
        machine.remove_files(directory)
