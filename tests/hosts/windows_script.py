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

A 64-bit PowerShell writes the 64-bit registry view, which is the one emulated here.
"""

from __future__ import annotations

import base64
import fnmatch
import re
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
        except NotEmulated as exc:
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
    return powershell.HEADER.format(
        host=match.group(1), count=match.group(2), when=when.strftime("%Y-%m-%d %H:%M UTC")
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
