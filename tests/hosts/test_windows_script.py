"""The emulated PowerShell of windows_script.py follows PowerShell where the registry fixes rely
on it (string comparisons, expanded REG_EXPAND_SZ, -and of subexpressions, value types) and
refuses the forms PowerShell would read differently. Run on a machine directly, no server."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.hosts.windows_machine import WindowsMachine
from tests.hosts.windows_script import NotEmulated, run_script
from workers.remediation import powershell

KEY = "HKLM\\SOFTWARE\\Policies\\Bulwark"
PATH = "'HKLM:\\SOFTWARE\\Policies\\Bulwark'"
FOOTER = (
    'if ($Check) { Write-Output "dry run: $script:Changed step(s) would change the host" }\n'
    'else { Write-Output "$script:Changed step(s) changed the host, $script:Failed failed" }\n'
    "exit [int]($script:Failed -gt 0)\n"
)


def machine(**values: object) -> WindowsMachine:
    return WindowsMachine({"env": {"SystemRoot": "C:\\Windows"}, "registry": {KEY: values}})


def clause(name: str, comparison: str) -> str:
    return (
        f"try {{ (Get-ItemPropertyValue -LiteralPath {PATH} -Name '{name}' -ErrorAction Stop) "
        f"{comparison} }} catch {{ $false }}"
    )


def new(name: str, value: str, kind: str) -> str:
    return (
        f"New-ItemProperty -LiteralPath {PATH} -Name '{name}' -Value {value} "
        f"-PropertyType {kind} -Force | Out-Null"
    )


def run(target: WindowsMachine, test: str, *fix: str) -> str:
    """The step's output line(s); without a fix, the dry run: `ok` or `would`."""
    header = powershell.header("h", 1, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    body = "\n".join(fix)
    script = f"{header}\nInvoke-BulwarkStep 'step' {{\n{test}\n}} {{\n{body}\n}}\n\n{FOOTER}"
    if not fix:
        script = f"& {{\n{script}\n}} -Check"
    return run_script(target, script)[1].decode()


def test_strings_compare_without_regard_to_case() -> None:
    assert run(machine(Level="Block"), clause("Level", "-eq 'block'")).startswith("ok ")
    assert run(machine(Level="Warn"), clause("Level", "-eq 'Block'")).startswith("would ")
    assert run(machine(Level=""), clause("Level", "-eq ''")).startswith("ok ")


def test_an_expand_string_is_compared_expanded_as_get_itempropertyvalue_returns_it() -> None:
    logged = machine(Log={"expand_sz": "%SystemRoot%\\System32\\fw.log"})
    assert run(logged, clause("Log", "-eq 'C:\\Windows\\System32\\fw.log'")).startswith("ok ")
    assert run(logged, clause("Log", "-like '*\\system32\\FW.log'")).startswith("ok ")
    assert run(logged, clause("Log", "-eq '%SystemRoot%\\System32\\fw.log'")).startswith("would ")


def test_the_value_read_decides_how_it_is_compared() -> None:
    """The right side is converted to the left side's type: 'Block' is no number, so a number
    never equals it; 1 becomes the string '1'."""
    assert run(machine(Level=1), clause("Level", "-eq 'Block'")).startswith("would ")
    assert run(machine(Level="1"), clause("Level", "-eq 1")).startswith("ok ")
    assert run(machine(Level="2"), clause("Level", "-eq 1")).startswith("would ")
    with pytest.raises(NotEmulated):  # strings ordered as strings: not emulated
        run(machine(Level="1"), clause("Level", "-ge 1"))
    with pytest.raises(NotEmulated):  # an array, which -eq filters: not emulated
        run(machine(Level=["1"]), clause("Level", "-eq 1"))


def test_every_subexpression_of_an_and_must_hold() -> None:
    both = f"$({clause('Max', '-le 900')}) -and $({clause('Max', '-gt 0')})"
    assert run(machine(Max=900), both).startswith("ok ")
    assert run(machine(Max=0), both).startswith("would ")
    with pytest.raises(NotEmulated):  # ( ) takes a pipeline, not a try statement
        run(machine(Max=900), f"({clause('Max', '-le 900')}) -and ({clause('Max', '-gt 0')})")


def test_the_fix_writes_the_type_it_names() -> None:
    target = machine()
    fix = (
        new("Level", "'Block'", "String"),
        new("Log", "'%SystemRoot%\\x.log'", "ExpandString"),
        new("On", "1", "DWord"),
    )
    out = run(target, clause("Level", "-eq 'Block'"), *fix)
    assert out.startswith("fixed "), out
    assert target.value(KEY, "Level") == ("Level", "REG_SZ", b"Block")
    assert target.value(KEY, "Log") == ("Log", "REG_EXPAND_SZ", b"%SystemRoot%\\x.log")
    assert target.value(KEY, "On") == ("On", "REG_DWORD", (1).to_bytes(4, "little"))


@pytest.mark.parametrize(
    "statement",
    [
        new("On", "'1'", "DWord"),
        new("On", "1", "String"),
        new("On", "'x'", "MultiString"),
    ],
)
def test_a_value_of_the_wrong_form_for_its_type_is_refused(statement: str) -> None:
    target = machine()
    out = run(target, clause("On", "-eq 1"), statement)
    assert "not an emulated fix statement" in out or "-PropertyType" in out, out
    assert "WARNING: FAILED" in out and target.value(KEY, "On") is None
