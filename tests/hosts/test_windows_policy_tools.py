"""The emulated auditpol and secedit that the audit policy and security policy fixes run
(windows_commands.py): by GUID as by name, /r as CSV, /set changing only the half it names,
secedit's export as a UTF-16 file and /configure applying one template's area, on the same
state the audits read; and the helper steps of powershell.HELPERS run through them
(windows_script.py). On a machine directly, no server: the WinRM proof runs them end to end."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.hosts.windows_commands import run_command
from tests.hosts.windows_machine import WindowsMachine
from tests.hosts.windows_script import run_script
from workers.engine.windows_fixes import subcategories
from workers.remediation import powershell

LOGON = "{0CCE9215-69AE-11D9-BED3-505054503030}"
INF = """\
[Unicode]
Unicode=yes
[System Access]
MinimumPasswordLength = 0
EnableGuestAccount = 1
[Privilege Rights]
SeTcbPrivilege = *S-1-5-32-544
SeDenyBatchLogonRight = Guest
SeBackupPrivilege = *S-1-5-32-544,*S-1-5-32-551
[Version]
signature="$CHICAGO$"
Revision=1
"""
FOOTER = (
    'if ($Check) { Write-Output "dry run: $script:Changed step(s) would change the host" }\n'
    'else { Write-Output "$script:Changed step(s) changed the host, $script:Failed failed" }\n'
    "exit [int]($script:Failed -gt 0)\n"
)


def machine(**spec: Any) -> WindowsMachine:
    base: dict[str, Any] = {
        "env": {"COMPUTERNAME": "WIN11", "TEMP": "C:\\Users\\admin\\AppData\\Local\\Temp"},
        "audit_policy": {"Logon": "Success"},
        "secedit": INF,
        "accounts": [{"name": "Administrator", "rid": 500}, {"name": "Guest", "rid": 501}],
    }
    return WindowsMachine({**base, **spec})


def run(target: WindowsMachine, line: str) -> tuple[str, str]:
    status, output = run_command(target, line)
    return status, output.decode("latin-1")


def step(target: WindowsMachine, test: str, fix: str, *, check: bool = False) -> str:
    header = powershell.header("h", 1, datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"))
    script = f"{header}\nInvoke-BulwarkStep 'step' {{\n{test}\n}} {{\n{fix}\n}}\n\n{FOOTER}"
    if check:
        script = f"& {{\n{script}\n}} -Check"
    return run_script(target, script)[1].decode()


def test_the_guid_table_is_microsofts() -> None:
    found = {name: guid for _, name, guid in subcategories()}
    assert len(found) == 59 and len(set(found.values())) == 59
    assert found["Credential Validation"] == "{0CCE923F-69AE-11D9-BED3-505054503030}"
    assert found["Plug and Play Events"] == "{0CCE9248-69AE-11D9-BED3-505054503030}"
    assert found["Token Right Adjusted Events"] == "{0CCE924A-69AE-11D9-BED3-505054503030}"


def test_auditpol_reads_by_guid_as_csv_and_sets_only_the_half_it_names() -> None:
    target = machine()
    status, text = run(target, f"auditpol.exe /get /subcategory:{LOGON} /r")
    assert status == "rc=0"
    assert text.split("\r\n")[:2] == [
        "Machine Name,Policy Target,Subcategory,Subcategory GUID,Inclusion Setting,"
        "Exclusion Setting",
        f"WIN11,System,Logon,{LOGON},Success,",
    ]
    assert run(target, f"auditpol.exe /set /subcategory:{LOGON} /failure:enable") == (
        "rc=0",
        "The command was successfully executed.\r\n",
    )
    # the audit's own command (by name, as text) reads what /set wrote
    status, text = run(target, 'auditpol.exe /get /subcategory:"Logon"')
    assert status == "rc=0" and "  Logon" + " " * 35 + "Success and Failure" in text
    run(target, f"auditpol.exe /set /subcategory:{LOGON} /success:disable")
    assert target.spec["audit_policy"] == {"Logon": "Failure"}
    bad = run(
        target,
        "auditpol.exe /set /subcategory:{0CCE9299-69AE-11D9-BED3-505054503030} /success:enable",
    )
    assert bad[0] == "rc=87" and "The parameter is incorrect." in bad[1]
    assert run(target, f"auditpol.exe /set /subcategory:{LOGON}")[0] == "rc=87"


def test_secedit_exports_a_utf16_file_and_configures_one_area() -> None:
    target = machine()
    assert run(target, "secedit.exe /export /cfg C:\\t\\x.inf /quiet") == ("rc=0", "")
    exported = target.read_file("C:\\t\\x.inf")
    assert exported is not None and exported.startswith(b"\xff\xfe")
    assert exported[2:].decode("utf-16-le") == INF.replace("\n", "\r\n")

    template = "[System Access]\r\nMinimumPasswordLength = 14\r\nEnableGuestAccount = 0\r\n"
    template += "[Privilege Rights]\r\nSeTcbPrivilege = \r\n"
    target.write_file("C:\\t\\fix.inf", b"\xff\xfe" + template.encode("utf-16-le"))
    line = "secedit.exe /configure /db C:\\t\\fix.sdb /cfg C:\\t\\fix.inf /areas {} /quiet"
    assert run(target, line.format("SECURITYPOLICY")) == ("rc=0", "")
    policy = target.spec["secedit"]
    assert "MinimumPasswordLength = 14" in policy and "EnableGuestAccount = 0" in policy
    assert "SeTcbPrivilege" in policy  # another area: untouched
    assert target.spec["accounts"][1]["disabled"] is True  # the Guest account follows
    assert run(target, line.format("USER_RIGHTS")) == ("rc=0", "")
    assert "SeTcbPrivilege" not in target.spec["secedit"]  # nobody holds it: not exported

    assert run(target, line.format("REGKEYS"))[0] == "rc=1"
    missing = "secedit.exe /configure /db C:\\t\\a.sdb /cfg C:\\t\\none.inf /areas USER_RIGHTS"
    assert run(target, missing) == ("rc=1", "The system cannot find the file specified.\r\n")
    assert run(target, "secedit.exe /frobnicate")[0] == "rc=1"


def test_the_helper_steps_fix_through_the_tools_and_leave_no_file_behind() -> None:
    target = machine()
    before = dict(target.files)
    audit = (
        f"Test-BulwarkAuditPolicy '{LOGON}' @('Success and Failure')",
        f"auditpol.exe /set '/subcategory:{LOGON}' /success:enable /failure:enable | Out-Null",
    )
    number = (
        "Test-BulwarkSecurityNumber 'System Access' 'MinimumPasswordLength' 14 4294967295",
        "Set-BulwarkSecurityPolicy 'SECURITYPOLICY' 'System Access' 'MinimumPasswordLength = 14'",
    )
    exact = (
        "Test-BulwarkUserRight 'SeBackupPrivilege' @('*S-1-5-32-544')",
        "Set-BulwarkSecurityPolicy 'USER_RIGHTS' 'Privilege Rights' "
        "'SeBackupPrivilege = *S-1-5-32-544'",
    )
    include = (
        "Test-BulwarkUserRight 'SeDenyBatchLogonRight' @('*S-1-5-32-546') -Include",
        "Add-BulwarkUserRight 'SeDenyBatchLogonRight' @('*S-1-5-32-546')",
    )
    for test, fix in (audit, number, exact, include):
        assert step(target, test, fix, check=True).startswith("would "), test
        assert step(target, test, fix).startswith("fixed "), test
        assert step(target, test, fix).startswith("ok "), test
    assert target.spec["audit_policy"]["Logon"] == "Success and Failure"
    policy = target.spec["secedit"]
    assert "SeBackupPrivilege = *S-1-5-32-544\n" in policy
    assert "SeDenyBatchLogonRight = Guest,*S-1-5-32-546\n" in policy  # added, Guest kept
    assert target.files == before  # exports, templates and databases removed


def test_a_failing_secedit_fails_the_step_and_the_test_says_no() -> None:
    target = machine(secedit="")  # secedit /export fails on this machine
    output = step(
        target,
        "Test-BulwarkUserRight 'SeDenyBatchLogonRight' @('*S-1-5-32-546') -Include",
        "Add-BulwarkUserRight 'SeDenyBatchLogonRight' @('*S-1-5-32-546')",
    )
    assert "WARNING: secedit /export exited with 1" in output
    assert "FAILED   step" in output and target.files == {}


def test_a_lockout_reset_longer_than_the_lockout_is_refused_so_order_matters() -> None:
    target = machine(secedit=INF.replace("EnableGuestAccount = 1", "LockoutDuration = 10"))
    reset = (
        "Test-BulwarkSecurityNumber 'System Access' 'ResetLockoutCount' 15 4294967295",
        "Set-BulwarkSecurityPolicy 'SECURITYPOLICY' 'System Access' 'ResetLockoutCount = 15'",
    )
    duration = (
        "Test-BulwarkSecurityNumber 'System Access' 'LockoutDuration' 15 4294967295",
        "Set-BulwarkSecurityPolicy 'SECURITYPOLICY' 'System Access' 'LockoutDuration = 15'",
    )
    before = target.spec["secedit"]
    output = step(target, *reset)
    assert "secedit /configure exited with 1" in output and "FAILED   step" in output
    assert target.spec["secedit"] == before
    assert step(target, *duration).startswith("fixed ")  # the policy's order: 1.2.1, then 1.2.4
    assert step(target, *reset).startswith("fixed ")
