"""The generated scripts without a host: shell syntax, order, comments that cannot break out,
only failed checks, and the results file shapes `remediate` reads."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
import yaml

from workers.engine.policy import load_policy_text
from workers.remediation import playbook, powershell, shell
from workers.remediation.plan import ResultsError, failed_ids, make_plan

POLICY = """\
policy: {id: p, file: p.yml, name: p, description: d}
checks:
  - id: 2
    title: "Second in the file\\nrm -rf / # a title that tries to break out of its comment"
    compliance: [{cis: ["1.2"]}]
    condition: all
    rules: ['f:/etc/passwd']
    fix:
      test: 'test -e /tmp/two'
      sh: 'touch /tmp/two'
  - id: 1
    title: "First"
    condition: all
    rules: ['f:/etc/passwd']
    fix:
      sysctl: {net.ipv4.ip_forward: 0}
  - id: 3
    title: "Needs a decision"
    condition: all
    rules: ['f:/etc/passwd']
    fix:
      manual: "Decide first.\\nreboot"
  - id: 4
    title: "Passed"
    condition: all
    rules: ['f:/etc/passwd']
    fix:
      sshd: {MaxAuthTries: 4}
"""


@pytest.fixture
def plan():  # type: ignore[no-untyped-def]
    loaded = load_policy_text(POLICY, "p.yml")
    assert loaded.policy is not None, loaded.errors
    return make_plan("web\n01", {("p", "1"), ("p", "2"), ("p", "3")}, [loaded.policy])


def test_the_shell_script_parses_keeps_policy_order_and_comments_stay_comments(plan) -> None:  # type: ignore[no-untyped-def]
    script = shell.render(plan)
    assert subprocess.run(["sh", "-n"], input=script, text=True, check=False).returncode == 0
    assert [s.check.id for s in plan.steps] == ["2", "1"]  # the file's order
    # No line of the script starts with the injected command: it stayed in a comment.
    assert not any(line.startswith(("rm -rf", "reboot")) for line in script.splitlines())
    assert "# --- 1. p 2 (CIS 1.2): Second in the file rm -rf /" in script
    assert "# Bulwark remediation for web 01:" in script
    assert "Decide first. reboot" in script
    assert "bulwark_sshd_set()" not in script  # check 4 passed: no step, no helpers


def test_the_dry_run_of_a_script_runs_no_fix(plan, tmp_path) -> None:  # type: ignore[no-untyped-def]
    loaded = load_policy_text(
        "policy: {id: q, file: q.yml, name: q, description: d}\nchecks:\n"
        "  - id: 1\n    title: t\n    condition: all\n    rules: ['f:/etc/passwd']\n"
        f"    fix:\n      test: 'test -e {tmp_path}/done'\n      sh: 'touch {tmp_path}/done'\n",
        "q.yml",
    )
    assert loaded.policy is not None, loaded.errors
    script = shell.render(make_plan("h", {("q", "1")}, [loaded.policy]))
    dry = subprocess.run(
        ["sh", "-s", "--", "--check"], input=script, text=True, capture_output=True, check=False
    )
    assert dry.returncode == 0 and "would    1: t" in dry.stdout
    assert not (tmp_path / "done").exists()
    bad = subprocess.run(
        ["sh", "-s", "--", "--nope"], input=script, text=True, capture_output=True, check=False
    )
    assert bad.returncode == 2 and "usage" in bad.stderr


def test_the_playbook_and_powershell(plan) -> None:  # type: ignore[no-untyped-def]
    document = playbook.render(plan)
    play = yaml.safe_load(document)[0]
    assert play["hosts"] == "all" and play["become"] is True
    names = [t["name"] for t in play["tasks"]]
    assert names and all(n.startswith("p 1: First") for n in names)
    assert "# not here: p 2 (CIS 1.2): Second in the file rm -rf /" in document
    assert not any(line.startswith(("rm -rf", "reboot")) for line in document.splitlines())
    ps1 = powershell.render(plan)
    assert "param([switch]$Check)" in ps1 and "# no automatic fix: p 3: Needs a decision" in ps1
    assert not any(line.startswith(("rm -rf", "reboot")) for line in ps1.splitlines())


def test_results_documents() -> None:
    one = {
        "host": {"hostname": "a"},
        "results": [
            {"policy": "p", "check_id": "1", "status": "failed"},
            {"policy": "p", "check_id": "2", "status": "excepted"},
            {"policy": "p", "check_id": "3", "status": "passed"},
        ],
    }
    assert failed_ids(one, None) == ("a", {("p", "1")})
    fleet = {
        "hosts": [
            {"name": "a", "result": one},
            {"name": "b", "result": {"results": []}},
            {"name": "c", "result": None},
        ]
    }
    with pytest.raises(ResultsError, match="name one audited host with --host"):
        failed_ids(fleet, None)
    assert failed_ids(fleet, "a") == ("a", {("p", "1")})
    with pytest.raises(ResultsError, match="no audited host 'c'"):
        failed_ids(fleet, "c")
    with pytest.raises(ResultsError, match="not a Bulwark results document"):
        failed_ids({"x": 1}, None)


SERVICES = """\
policy: {id: s, file: s.yml, name: s, description: d}
checks:
  - id: 1
    title: "Avahi not in use"
    condition: all
    rules: ['f:/etc/passwd']
    fix:
      disable_units: [avahi-daemon.service, avahi-daemon.socket]
      end_processes: [avahi-daemon]
  - id: 2
    title: "No telnet"
    condition: all
    rules: ['f:/etc/passwd']
    fix:
      purge_packages: [telnet, inetutils-telnet]
"""


def test_service_and_package_steps_test_first_in_both_formats() -> None:
    loaded = load_policy_text(SERVICES, "s.yml")
    assert loaded.policy is not None, loaded.errors
    plan = make_plan("h", {("s", "1"), ("s", "2")}, [loaded.policy])
    script = shell.render(plan)
    assert subprocess.run(["sh", "-n"], input=script, text=True, check=False).returncode == 0
    assert script.count("bulwark_units_disable() {") == 1
    assert script.count("bulwark_packages_purge() {") == 1
    assert (
        "bulwark_units_off avahi-daemon.service avahi-daemon.socket"
        " && bulwark_processes_off avahi-daemon" in script
    )
    assert "bulwark_packages_purge telnet inetutils-telnet" in script
    tasks = yaml.safe_load(playbook.render(plan))[0]["tasks"]
    assert [t["name"] for t in tasks] == [
        "s 1: Avahi not in use: avahi-daemon.service off, avahi-daemon.socket off,"
        " no avahi-daemon process",
        "s 2: No telnet: telnet, inetutils-telnet not installed",
    ]
    for task in tasks:
        body = task["ansible.builtin.shell"]
        assert subprocess.run(["sh", "-n"], input=body, text=True, check=False).returncode == 0
        # The test runs first and ends the task unchanged; after the fix it runs again.
        lines = body.splitlines()
        first = next(n for n, line in enumerate(lines) if line.endswith(" && exit 0"))
        test = lines[first].removesuffix(" && exit 0")
        assert lines[first + 1 :][-2:] == [f"{test} || exit 1", "echo changed"]


ENABLE = """\
policy: {id: s, file: s.yml, name: s, description: d}
checks:
  - id: 1
    title: "cron enabled and running"
    condition: all
    rules: ['f:/etc/passwd']
    fix:
      install_packages: [cron]
      enable_units: {cron.service: cron}
"""


def test_enable_steps_install_then_enable_in_both_formats() -> None:
    loaded = load_policy_text(ENABLE, "s.yml")
    assert loaded.policy is not None, loaded.errors
    plan = make_plan("h", {("s", "1")}, [loaded.policy])
    script = shell.render(plan)
    assert subprocess.run(["sh", "-n"], input=script, text=True, check=False).returncode == 0
    assert script.count("bulwark_unit_enable() {") == 1
    assert "bulwark_packages_present cron && bulwark_unit_on cron.service cron" in script
    # The package first (it brings the unit and the init script), then the unit.
    fix = script[script.index("bulwark_fix_1() {") :]
    assert fix.index("bulwark_packages_install cron") < fix.index(
        "bulwark_unit_enable cron.service cron || return 1"
    )
    tasks = yaml.safe_load(playbook.render(plan))[0]["tasks"]
    assert [t["name"] for t in tasks] == [
        "s 1: cron enabled and running: cron installed",
        "s 1: cron enabled and running: cron.service enabled, cron running",
    ]
    body = tasks[1]["ansible.builtin.shell"]
    assert subprocess.run(["sh", "-n"], input=body, text=True, check=False).returncode == 0
    assert body.splitlines()[-3:] == [
        "bulwark_unit_enable cron.service cron || exit 1",
        "bulwark_unit_on cron.service cron || exit 1",
        "echo changed",
    ]


def test_enabling_a_unit_the_host_lacks_fails_and_says_so() -> None:
    """bulwark_unit_enable on this machine, for a unit it does not have: the step fails with a
    message naming the unit, and changes nothing (no unit, nothing to enable)."""
    from workers.remediation import services

    script = services.SH_FUNCTIONS + "bulwark_unit_enable bwk-no-such-unit.service bwk-none"
    done = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert "bwk-no-such-unit.service: the host has no such unit" in done.stderr
    test = services.SH_FUNCTIONS + services.sh_enable_test([("bwk-no-such-unit.service", "x")])
    assert subprocess.run(["sh", "-c", test], check=False).returncode == 1


def test_the_package_test_reads_dpkg() -> None:
    """bulwark_packages_absent against this machine's dpkg: dpkg itself is installed, a
    package that does not exist is not."""
    from workers.remediation import packages

    def absent(name: str) -> int:
        script = packages.SH_FUNCTIONS + packages.sh_test([name])
        return subprocess.run(["sh", "-c", script], check=False).returncode

    assert absent("dpkg") == 1
    assert absent("bwk-no-such-package") == 0


INSTALL_AND_MOUNTS = """\
policy: {id: s, file: s.yml, name: s, description: d}
checks:
  - id: 1
    title: "AIDE installed"
    condition: all
    rules: ['f:/etc/passwd']
    fix:
      install_packages: [aide, aide-common]
  - id: 2
    title: "nodev and noexec on /var/tmp"
    condition: all
    rules: ['f:/etc/passwd']
    fix:
      mount_options: {/var/tmp: [nodev, noexec]}
"""


def test_install_and_mount_steps_test_first_in_both_formats() -> None:
    loaded = load_policy_text(INSTALL_AND_MOUNTS, "s.yml")
    assert loaded.policy is not None, loaded.errors
    plan = make_plan("h", {("s", "1"), ("s", "2")}, [loaded.policy])
    script = shell.render(plan)
    assert subprocess.run(["sh", "-n"], input=script, text=True, check=False).returncode == 0
    assert "bulwark_packages_present aide aide-common" in script
    assert "bulwark_packages_install aide aide-common" in script
    assert "apt-get install -y -q --no-install-recommends" in script
    assert "DEBIAN_FRONTEND=noninteractive apt-get install" in script
    assert "bulwark_mount_ok /var/tmp nodev && bulwark_mount_ok /var/tmp noexec" in script
    assert "bulwark_mount_ok /var/tmp noexec || bulwark_mount_set /var/tmp noexec" in script
    tasks = yaml.safe_load(playbook.render(plan))[0]["tasks"]
    assert [t["name"] for t in tasks] == [
        "s 1: AIDE installed: aide, aide-common installed",
        "s 2: nodev and noexec on /var/tmp: nodev on /var/tmp, noexec on /var/tmp",
    ]
    for task in tasks:
        body = task["ansible.builtin.shell"]
        assert subprocess.run(["sh", "-n"], input=body, text=True, check=False).returncode == 0
        lines = body.splitlines()
        first = next(n for n, line in enumerate(lines) if line.endswith(" && exit 0"))
        test = lines[first].removesuffix(" && exit 0")
        assert lines[first + 1 :][-2:] == [f"{test} || exit 1", "echo changed"]


def test_the_mount_test_reads_whole_options(tmp_path: Path) -> None:
    """bulwark_mount_lacks on a table: the option must be a whole option of that mount point's
    own (non-comment) lines; `nodevice` is not nodev, and /tmpx is not /tmp."""
    from workers.remediation import mounts

    table = tmp_path / "fstab"

    def lacks(text: str, point: str = "/tmp", option: str = "nodev") -> bool:
        table.write_text(text)
        script = mounts.SH_FUNCTIONS + f"bulwark_mount_lacks {table} {point} {option}"
        return subprocess.run(["sh", "-c", script], check=False).returncode == 0

    assert lacks("tmpfs /tmp tmpfs defaults 0 0\n")
    assert lacks("tmpfs /tmp tmpfs rw,nodevice 0 0\n")
    assert lacks("tmpfs /tmp tmpfs\n")
    assert not lacks("tmpfs /tmp tmpfs rw,nodev,nosuid 0 0\n")
    assert not lacks("tmpfs /tmp tmpfs nodev 0 0\n# tmpfs /tmp tmpfs defaults 0 0\n")
    assert not lacks("tmpfs /tmpx tmpfs defaults 0 0\n")
    assert lacks("tmpfs /tmp tmpfs nodev 0 0\ntmpfs /tmp tmpfs nosuid 0 0\n")


def test_package_installs_come_first() -> None:
    """A package's own configuration files must exist before the steps that configure them:
    the install step goes first, the others keep the policy's order."""
    loaded = load_policy_text(INSTALL_AND_MOUNTS, "s.yml")
    assert loaded.policy is not None, loaded.errors
    mounts_first = dataclasses.replace(loaded.policy, checks=loaded.policy.checks[::-1])
    plan = make_plan("h", {("s", "1"), ("s", "2")}, [mounts_first])
    assert [s.check.id for s in plan.steps] == ["1", "2"]
    script = shell.render(plan)
    assert script.index("# --- 1. s 1: AIDE installed") < script.index("# --- 2. s 2:")


def test_a_sysctl_parameter_may_accept_several_values() -> None:
    """`{kernel.yama.ptrace_scope: [1, 2, 3]}`: any of them passes the test, the fix keeps a live
    one among them and sets the first otherwise; malformed lists refuse the policy."""
    head = "policy: {id: s, file: s.yml, name: s, description: d}\nchecks:\n"
    check = "  - id: 1\n    title: t\n    condition: all\n    rules: ['f:/etc/passwd']\n"
    loaded = load_policy_text(
        head + check + "    fix:\n      sysctl: {kernel.yama.ptrace_scope: [1, 2, 3]}\n", "s.yml"
    )
    assert loaded.policy is not None, loaded.errors
    fix = loaded.policy.checks[0].fix
    assert fix is not None and fix.sysctl == (("kernel.yama.ptrace_scope", "1|2|3"),)
    plan = make_plan("h", {("s", "1")}, [loaded.policy])
    script = shell.render(plan)
    assert subprocess.run(["sh", "-n"], input=script, text=True, check=False).returncode == 0
    assert "bulwark_sysctl_has_any kernel.yama.ptrace_scope '1|2|3'" in script
    assert "bulwark_sysctl_set_any kernel.yama.ptrace_scope '1|2|3' 1" in script
    assert "kernel.yama.ptrace_scope = 1 or 2 or 3" in playbook.render(plan)
    for bad in ("[]", "[1, x]", "[1, 1]", str(list(range(11))), "[1.5]"):
        refused = load_policy_text(
            head + check + f"    fix:\n      sysctl: {{kernel.yama.ptrace_scope: {bad}}}\n", "s.yml"
        )
        assert refused.policy is None, bad
