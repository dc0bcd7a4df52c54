"""The remediation proof on SSH test hosts, for every check of bulwark_openssh with a fix:
on a host where they all fail, the generated shell script's dry run changes nothing, applying
it makes the re-audit pass, and applying it again changes nothing. The Ansible playbook is
proven the same way with Debian's ansible-playbook against a fresh failing host."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hosts.harness import HostSpec, TestHost, TestHosts
from workers.audit import AuditOutcome, run
from workers.cli.output import outcome_as_dict
from workers.engine.definitions import PolicyDefinition
from workers.engine.policy import load_policy
from workers.remediation import playbook, shell
from workers.remediation.plan import failed_ids, make_plan
from workers.transports.base import Unreachable
from workers.transports.ssh import SSHTransport

pytest_plugins = ("tests.hosts.fixtures",)

ROOT = Path(__file__).resolve().parents[3]
ANSIBLE = "/usr/bin/ansible-playbook"

# Every setting a fix changes, set the failing way: in the main file (after its Include) and in
# a drop-in that sshd reads before it, so the fix must find and neutralise both.
WEAK_MAIN = """\
Include /etc/ssh/sshd_config.d/*.conf
PermitRootLogin prohibit-password
UsePAM no
UseDNS no
Subsystem sftp /usr/lib/openssh/sftp-server
HostbasedAuthentication yes
IgnoreRhosts no
LoginGraceTime 300
LogLevel QUIET
MaxSessions 100
MaxStartups 200
PermitEmptyPasswords yes
PermitUserEnvironment yes
X11Forwarding yes
AllowTcpForwarding yes
AllowAgentForwarding yes
AllowStreamLocalForwarding yes
PermitTunnel yes
GatewayPorts yes
IgnoreUserKnownHosts no
X11UseLocalhost no
PrintLastLog no
ClientAliveInterval 0
"""
WEAK_DROP_IN = "MaxAuthTries 10\nDisableForwarding no\nClientAliveCountMax 10\n"


def weak_spec(name: str) -> HostSpec:
    return HostSpec(
        name=name,
        files={
            "/etc/ssh/sshd_config": WEAK_MAIN,
            "/etc/ssh/sshd_config.d/50-weak.conf": WEAK_DROP_IN,
        },
        modes={
            "/etc/ssh/sshd_config": 0o644,
            "/etc/ssh/sshd_config.d/50-weak.conf": 0o644,
            # Not the key sshd serves (it would refuse to start): the machine's other keys.
            "/etc/ssh/ssh_host_ecdsa_key": 0o640,
            "/etc/ssh/ssh_host_ecdsa_key.pub": 0o666,
        },
    )


@pytest.fixture(scope="module")
def policy() -> PolicyDefinition:
    loaded = load_policy(ROOT / "rulesets/linux/bulwark_openssh.yml")
    assert loaded.policy is not None, loaded.errors
    return loaded.policy


def fixable(policy: PolicyDefinition) -> set[str]:
    return {c.id for c in policy.checks if c.fix is not None and c.fix.automatic}


def connect(host: TestHost) -> SSHTransport:
    """A connected transport. A fix that changed sshd reloads it (SIGHUP: sshd re-executes
    itself), so the port may be closed for a moment: wait until it listens again."""
    for _ in range(100):
        transport = SSHTransport(host.ssh_target())
        try:
            transport.connect()
        except Unreachable:
            time.sleep(0.1)
            continue
        return transport
    raise AssertionError(f"{host.name} never listened again")


def audit(host: TestHost, policy: PolicyDefinition) -> AuditOutcome:
    with connect(host) as transport:
        return run(transport, [policy])


def statuses(outcome: AuditOutcome) -> dict[str, str]:
    return {r.check.id: r.status.value for r in outcome.results}


def snapshot(host: TestHost) -> str:
    """Content, mode and owner of everything under /etc/ssh: what a fix may change."""
    done = host.run_local(
        "cd /etc/ssh && find . -type f | sort | while read f; do "
        'printf "%s %s " "$f" "$(stat -c "%a %u %g" "$f")"; md5sum < "$f"; done'
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def apply(host: TestHost, script: str, *args: str) -> tuple[int, str]:
    with connect(host) as transport:
        result = transport.run(f"sh -s -- {' '.join(args)}", stdin=script.encode(), timeout=120)
    assert result.exit_status is not None, "the script did not finish"
    return result.exit_status, (result.stdout + result.stderr).decode()


@pytest.fixture(scope="module")
def failing(test_hosts: TestHosts) -> Iterator[list[TestHost]]:
    hosts = test_hosts.start_many([weak_spec("fix-sh"), weak_spec("fix-ansible")])
    yield hosts
    for host in hosts:
        host.stop()


def test_every_fix_is_proven_by_the_shell_script(
    failing: list[TestHost], policy: PolicyDefinition, tmp_path: Path
) -> None:
    host = failing[0]
    before = audit(host, policy)
    wanted = fixable(policy)
    assert wanted, "no check of bulwark_openssh has a fix"
    # The scenario: every check with a fix fails here.
    assert {c: s for c, s in statuses(before).items() if c in wanted} == dict.fromkeys(
        wanted, "failed"
    )
    results = tmp_path / "results.json"
    results.write_text(json.dumps(outcome_as_dict(before)))
    name, failed = failed_ids(json.loads(results.read_text()), None)
    plan = make_plan(name, failed, [policy])
    assert {s.check.id for s in plan.steps} == wanted
    script = shell.render(plan)

    untouched = snapshot(host)
    code, output = apply(host, script, "--check")
    assert code == 0, output
    assert output.count("would    ") == len(wanted) and "fixed" not in output
    assert snapshot(host) == untouched  # the dry run changed nothing

    code, output = apply(host, script)
    assert code == 0, output
    assert output.count("fixed    ") == len(wanted) and "FAILED" not in output
    after = statuses(audit(host, policy))
    assert {c: after[c] for c in wanted} == dict.fromkeys(wanted, "passed")
    # Nothing that passed before fails now.
    assert not [c for c, s in statuses(before).items() if s == "passed" and after[c] != "passed"]

    fixed = snapshot(host)
    code, output = apply(host, script)
    assert code == 0, output
    assert output.count("ok       ") == len(wanted) and "0 step(s) changed the host" in output
    assert snapshot(host) == fixed  # a second run changes nothing


def test_the_cli_writes_the_same_script(failing: list[TestHost], tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text(
        json.dumps(
            {
                "host": {"hostname": "h"},
                "results": [
                    {"policy": "bulwark_openssh", "check_id": "bwk-sshd-0017", "status": "failed"},
                    {"policy": "bulwark_openssh", "check_id": "bwk-sshd-0021", "status": "failed"},
                    {
                        "policy": "bulwark_openssh",
                        "check_id": "bwk-sshd-0015",
                        "status": "excepted",
                    },
                ],
            }
        )
    )
    done = subprocess.run(
        [
            str(ROOT / ".venv/bin/python"),
            "-m",
            "workers",
            "remediate",
            "--from",
            str(results),
            "--format",
            "sh",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "bulwark_sshd_set MaxAuthTries 4" in done.stdout
    assert "bwk-sshd-0017 (CIS 5.1.7)" in done.stdout or "bwk-sshd-0017" in done.stdout
    assert "LogLevel" not in done.stdout  # excepted: no step
    assert "# bulwark_openssh bwk-sshd-0021" in done.stdout and "locks out" in done.stdout
    assert "2 failed check(s), 1 with a fix, 1 without" in done.stderr


def _ansible(host: TestHost, book: Path, folder: Path, *extra: str) -> str:
    known = folder / "known_hosts"
    known.write_text(f"[{host.address}]:{host.port} {host.host_key_line}\n")
    inventory = folder / "inventory.ini"
    inventory.write_text(
        f"{host.name} ansible_host={host.address} ansible_port={host.port} ansible_user=root "
        f"ansible_ssh_private_key_file={host.client_key_path} "
        "ansible_python_interpreter=/usr/bin/python3 "
        f"ansible_ssh_common_args='-o UserKnownHostsFile={known} -o StrictHostKeyChecking=yes'\n"
    )
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCAL_TEMP": str(folder / "tmp")}
    done = subprocess.run(
        [ANSIBLE, "-i", str(inventory), str(book), *extra],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return done.stdout


def test_the_ansible_playbook_is_proven_too(
    failing: list[TestHost], policy: PolicyDefinition, tmp_path: Path
) -> None:
    if not os.access(ANSIBLE, os.X_OK):
        if os.environ.get("CI") == "true":
            pytest.fail(f"needs {ANSIBLE} (Debian: ansible-core)")
        pytest.skip(f"needs {ANSIBLE} (Debian: ansible-core)")
    assert shutil.which("ssh"), "ansible needs the OpenSSH client"
    host = failing[1]
    before = audit(host, policy)
    with_tasks = {c.id for c in policy.checks if c.fix and (c.fix.ansible or c.fix.sshd)}
    assert {c: statuses(before)[c] for c in with_tasks} == dict.fromkeys(with_tasks, "failed")
    failed = {(r.policy_id, r.check.id) for r in before.results if r.status.value == "failed"}
    book = tmp_path / "fix.yml"
    book.write_text(playbook.render(make_plan(host.name, failed, [policy])))

    untouched = snapshot(host)
    _ansible(host, book, tmp_path, "--check")
    assert snapshot(host) == untouched

    first = _ansible(host, book, tmp_path)
    assert "changed=0" not in first
    after = statuses(audit(host, policy))
    assert {c: after[c] for c in with_tasks} == dict.fromkeys(with_tasks, "passed")

    fixed = snapshot(host)
    second = _ansible(host, book, tmp_path)
    assert "changed=0" in second and "failed=0" in second
    assert snapshot(host) == fixed
