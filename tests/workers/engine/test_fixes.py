"""The `fix:` extension: loaded when valid, refused with file, line and check when not, and
absent from a check that does not carry it."""

from __future__ import annotations

import pytest

from workers.engine.policy import load_policy_text

HEAD = "policy: {id: p, file: p.yml, name: p, description: d}\nchecks:\n"


def check(fix: str) -> str:
    return (
        HEAD + "  - id: 1\n    title: t\n    condition: all\n    rules: ['f:/etc/passwd']\n"
        "    remediation: do it\n" + fix
    )


def test_a_check_without_fix_has_none() -> None:
    loaded = load_policy_text(check(""), "p.yml")
    assert loaded.policy is not None and loaded.policy.checks[0].fix is None


def test_sshd_shorthand_reads_yes_and_no_as_sshd_spells_them() -> None:
    loaded = load_policy_text(
        check("    fix:\n      sshd: {UsePAM: yes, X11Forwarding: no, MaxAuthTries: 4}\n"), "p.yml"
    )
    assert loaded.policy is not None, loaded.errors
    fix = loaded.policy.checks[0].fix
    assert fix is not None and fix.automatic and fix.line == 9
    assert fix.sshd == (("UsePAM", "yes"), ("X11Forwarding", "no"), ("MaxAuthTries", "4"))


def test_test_and_sh_and_ansible() -> None:
    text = check(
        "    fix:\n      test: 'true'\n      sh: 'echo fixed'\n"
        "      ansible:\n        - ansible.builtin.file: {path: /etc/x, mode: '0600'}\n"
    )
    loaded = load_policy_text(text, "p.yml")
    assert loaded.policy is not None, loaded.errors
    fix = loaded.policy.checks[0].fix
    assert fix is not None and fix.sh == "echo fixed" and len(fix.ansible) == 1


def test_service_and_package_shorthands() -> None:
    text = check(
        "    fix:\n      disable_units: [avahi-daemon.service, avahi-daemon.socket]\n"
        "      end_processes: [avahi-daemon]\n      purge_packages: [inetutils-telnet, g++-12]\n"
    )
    loaded = load_policy_text(text, "p.yml")
    assert loaded.policy is not None, loaded.errors
    fix = loaded.policy.checks[0].fix
    assert fix is not None and fix.automatic and fix.has_shell and fix.has_ansible
    assert fix.disable_units == ("avahi-daemon.service", "avahi-daemon.socket")
    assert fix.end_processes == ("avahi-daemon",)
    assert fix.purge_packages == ("inetutils-telnet", "g++-12")


def test_install_and_mount_shorthands() -> None:
    text = check(
        "    fix:\n      install_packages: [aide, aide-common]\n"
        "      mount_options: {/var/log/audit: [nodev, noexec]}\n"
    )
    loaded = load_policy_text(text, "p.yml")
    assert loaded.policy is not None, loaded.errors
    fix = loaded.policy.checks[0].fix
    assert fix is not None and fix.automatic and fix.has_shell and fix.has_ansible
    assert fix.install_packages == ("aide", "aide-common")
    assert fix.mount_options == (("/var/log/audit", ("nodev", "noexec")),)


def test_windows_shorthands_make_the_powershell_test_and_fix() -> None:
    """auditpol by GUID whatever the name's case; the secedit helpers of powershell.HELPERS."""
    cases = {
        "audit_policy: {logon: success}": (
            "Test-BulwarkAuditPolicy '{0CCE9215-69AE-11D9-BED3-505054503030}' "
            "@('Success', 'Success and Failure')",
            "auditpol.exe /set '/subcategory:{0CCE9215-69AE-11D9-BED3-505054503030}' "
            "/success:enable | Out-Null",
        ),
        "audit_policy: {Account Lockout: failure}": (
            "Test-BulwarkAuditPolicy '{0CCE9217-69AE-11D9-BED3-505054503030}' "
            "@('Failure', 'Success and Failure')",
            "auditpol.exe /set '/subcategory:{0CCE9217-69AE-11D9-BED3-505054503030}' "
            "/failure:enable | Out-Null",
        ),
        "security_policy: {System Access: {LockoutDuration: {set: 15, min: 15}}}": (
            "Test-BulwarkSecurityNumber 'System Access' 'LockoutDuration' 15 4294967295",
            "Set-BulwarkSecurityPolicy 'SECURITYPOLICY' 'System Access' 'LockoutDuration = 15'",
        ),
        "security_policy: {System Access: {PasswordComplexity: 1}}": (
            "Test-BulwarkSecurityNumber 'System Access' 'PasswordComplexity' 1 1",
            "Set-BulwarkSecurityPolicy 'SECURITYPOLICY' 'System Access' 'PasswordComplexity = 1'",
        ),
        "security_policy: {Privilege Rights: {SeTcbPrivilege: []}}": (
            "Test-BulwarkUserRight 'SeTcbPrivilege' @()",
            "Set-BulwarkSecurityPolicy 'USER_RIGHTS' 'Privilege Rights' 'SeTcbPrivilege = '",
        ),
        "security_policy: {Privilege Rights: "
        "{SeBackupPrivilege: ['*S-1-5-32-544', '*S-1-5-19']}}": (
            "Test-BulwarkUserRight 'SeBackupPrivilege' @('*S-1-5-32-544', '*S-1-5-19')",
            "Set-BulwarkSecurityPolicy 'USER_RIGHTS' 'Privilege Rights' "
            "'SeBackupPrivilege = *S-1-5-32-544,*S-1-5-19'",
        ),
        "security_policy: {Privilege Rights: "
        "{SeDenyBatchLogonRight: {include: ['*S-1-5-32-546']}}}": (
            "Test-BulwarkUserRight 'SeDenyBatchLogonRight' @('*S-1-5-32-546') -Include",
            "Add-BulwarkUserRight 'SeDenyBatchLogonRight' @('*S-1-5-32-546')",
        ),
    }
    for shorthand, (test, fix) in cases.items():
        loaded = load_policy_text(check(f"    fix:\n      {shorthand}\n"), "p.yml")
        assert loaded.policy is not None, loaded.errors
        found = loaded.policy.checks[0].fix
        assert found is not None and found.automatic, shorthand
        assert (found.powershell_test, found.powershell) == (test, fix)


def test_the_enable_units_shorthand() -> None:
    text = check(
        "    fix:\n      install_packages: [cron]\n"
        "      enable_units: {cron.service: cron, rsyslog.service: rsyslogd}\n"
    )
    loaded = load_policy_text(text, "p.yml")
    assert loaded.policy is not None, loaded.errors
    fix = loaded.policy.checks[0].fix
    assert fix is not None and fix.automatic and fix.has_shell and fix.has_ansible
    assert fix.enable_units == (("cron.service", "cron"), ("rsyslog.service", "rsyslogd"))


@pytest.mark.parametrize(
    ("fix", "message"),
    [
        (
            "    fix:\n      audit_policy: {Logons: success}\n",
            "Logons: not an auditpol subcategory",
        ),
        ("    fix:\n      audit_policy: {Logon: yes}\n", "expected one of success, failure"),
        ("    fix:\n      audit_policy: {Logon: success, Logoff: success}\n", "one auditpol"),
        (
            "    fix:\n      audit_policy: {Logon: success}\n      powershell: x\n"
            "      powershell_test: y\n",
            "stand alone",
        ),
        ("    fix:\n      security_policy: {Kerberos Policy: {MaxTicketAge: 10}}\n", "section"),
        (
            "    fix:\n      security_policy: {System Access: {'A = 1; B': 1}}\n",
            "not a secedit key",
        ),
        ("    fix:\n      security_policy: {System Access: {X: 'Guest'}}\n", "an integer or"),
        (
            "    fix:\n      security_policy: {System Access: {X: {set: 5, min: 14}}}\n",
            "0 <= min <= set <= max",
        ),
        (
            "    fix:\n      security_policy: {Privilege Rights: {SeTcbPrivilege: [Guest]}}\n",
            "SIDs are written '*S-1-5-32-544'",
        ),
        (
            "    fix:\n      security_policy: {Privilege Rights: {SeX: {include: []}}}\n",
            "a list of SIDs or {include",
        ),
        ("    fix:\n      security_policy: {System Access: {A: 1, B: 2}}\n", "one setting"),
        ("    fix:\n      enable_units: [cron.service]\n", "mapping of service units"),
        ("    fix:\n      enable_units: {}\n", "mapping of service units"),
        ("    fix:\n      enable_units: {cron: cron}\n", "not a safe service unit name: cron"),
        ("    fix:\n      enable_units: {'x.service;reboot': x}\n", "not a safe service unit"),
        ("    fix:\n      enable_units: {dailyaidecheck.timer: aide}\n", "not a safe service unit"),
        ("    fix:\n      enable_units: {cron.service: null}\n", "not a safe process"),
        ("    fix:\n      enable_units: {cron.service: 'cron;reboot'}\n", "not a safe process"),
        ("    fix:\n      enable_units: {cron.service: [cron]}\n", "not a safe process"),
        ("    fix: 3\n", "fix must be a mapping"),
        ("    fix:\n      sh: 'x'\n", "fix.sh and fix.test go together"),
        ("    fix:\n      shell: 'x'\n", "unknown keys shell"),
        ("    fix:\n      sshd: {MaxAuthTries: '4; rm -rf /'}\n", "unsafe characters"),
        ("    fix:\n      sshd: {'Max Auth': 4}\n", "unsafe characters"),
        ("    fix:\n      ansible: {name: x}\n", "list of Ansible tasks"),
        ("    fix:\n      manual: 'why'\n      sshd: {A: b}\n", "stands alone"),
        ("    fix:\n      powershell: 'x'\n", "powershell and fix.powershell_test"),
        ("    fix:\n      test: ''\n      sh: ''\n", "fix.test must be a non-empty string"),
        ("    fix:\n      disable_units: [cups]\n", "not a safe name: cups"),
        ("    fix:\n      disable_units: ['x.service; reboot']\n", "not a safe name"),
        ("    fix:\n      disable_units: []\n", "non-empty list of names"),
        ("    fix:\n      end_processes: avahi\n", "non-empty list of names"),
        ("    fix:\n      end_processes: [a-name-over-15-chars]\n", "not a safe name"),
        ("    fix:\n      purge_packages: ['$(reboot)']\n", "not a safe name"),
        ("    fix:\n      manual: 'why'\n      purge_packages: [nis]\n", "stands alone"),
        ("    fix:\n      install_packages: ['aide; reboot']\n", "not a safe name"),
        ("    fix:\n      mount_options: [/tmp]\n", "mapping of mount points"),
        ("    fix:\n      mount_options: {tmp: [nodev]}\n", "plain absolute mount point"),
        ("    fix:\n      mount_options: {'/tmp;reboot': [nodev]}\n", "plain absolute"),
        ("    fix:\n      mount_options: {/tmp/../etc: [nodev]}\n", "plain absolute"),
        ("    fix:\n      mount_options: {/tmp: [ro]}\n", "non-empty list of nodev"),
        ("    fix:\n      mount_options: {/tmp: nodev}\n", "non-empty list of nodev"),
    ],
)
def test_a_bad_fix_refuses_the_policy_naming_line_and_check(fix: str, message: str) -> None:
    loaded = load_policy_text(check(fix), "p.yml")
    assert loaded.policy is None
    texts = [str(e) for e in loaded.errors]
    where = ("p.yml:8: check 1", "p.yml:9: check 1")  # the fix: line or its value's
    assert any(message in t and t.startswith(where) for t in texts), texts
