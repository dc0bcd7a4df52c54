"""The CLI against real hosts: a WinRM audit of the WS-Management test server, and one inventory
of 20 SSH test hosts, 2 WinRM test servers and an unreachable host audited in one command, with
per-host status, every export written, and the exit codes CI gates read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from lab.harness import HostSpec, TestHost, TestHosts
from tests.hosts.pki import TestCA
from tests.hosts.winrm_server import WinRMServer
from tests.hosts.winrm_support import PASSWORD, USER, machine

pytestmark = pytest.mark.slow  # make test-fast leaves it out

pytest_plugins = ("tests.hosts.fixtures",)

ROOT = Path(__file__).resolve().parents[3]
POLICIES = ["rulesets/linux/bulwark_openssh.yml", "rulesets/windows"]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "WIN_PASSWORD": PASSWORD, **(env or {})},
        check=False,
    )


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("cli-ca"))


@pytest.fixture(scope="module")
def windows(ca: TestCA) -> Iterator[list[WinRMServer]]:
    cert = ca.issue(["127.0.0.1", "localhost"])
    servers = [
        WinRMServer(machine(name), users={USER: PASSWORD}, tls=(cert.cert, cert.key)).start()
        for name in ("ws2022_hardened", "ws2022_stock")
    ]
    yield servers
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def linux(test_hosts: TestHosts) -> Iterator[list[TestHost]]:
    # Every other host hardens sshd a little, so the fleet's outcomes differ.
    specs = [
        HostSpec(
            name=f"fleet-{n:02d}",
            files={"/etc/ssh/sshd_config.d/50-fleet.conf": "MaxAuthTries 3\nLogLevel VERBOSE\n"}
            if n % 2
            else {},
        )
        for n in range(20)
    ]
    hosts = test_hosts.start_many(specs, timeout=60)
    yield hosts
    for host in hosts:
        host.stop()


def test_a_winrm_audit_of_the_test_server(windows: list[WinRMServer], ca: TestCA) -> None:
    server = windows[0]
    done = cli(
        "audit",
        "--winrm",
        f"{USER}@127.0.0.1:{server.port}",
        "--password-env",
        "WIN_PASSWORD",
        "--ca-file",
        str(ca.cert_path),
        "--policy",
        "rulesets/windows",
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["host"]["family"] == "windows"
    assert outcome["summary"]["passed"] > 0
    assert PASSWORD not in done.stdout + done.stderr


def test_a_winrm_audit_refuses_an_untrusted_certificate(windows: list[WinRMServer]) -> None:
    done = cli(
        "audit",
        "--winrm",
        f"{USER}@127.0.0.1:{windows[0].port}",
        "--password-env",
        "WIN_PASSWORD",
        "--policy",
        "rulesets/windows",
    )
    assert done.returncode == 3
    assert "certificate" in done.stderr.lower() and PASSWORD not in done.stderr


def _inventory(folder: Path, linux: list[TestHost], windows: list[WinRMServer], ca: TestCA) -> Path:
    known = folder / "known_hosts"
    known.write_text("".join(f"[{h.address}]:{h.port} {h.host_key_line}\n" for h in linux))
    web = {h.name: {"ansible_host": h.address, "ansible_port": h.port} for h in linux[:10]}
    db = {h.name: {"ansible_host": h.address, "ansible_port": h.port} for h in linux[10:]}
    # A host that was decommissioned: nothing listens there any more.
    db["gone"] = {"ansible_host": "127.0.0.1", "ansible_port": 1}
    win = {
        f"win-{n}": {"ansible_host": "127.0.0.1", "ansible_port": server.port}
        for n, server in enumerate(windows)
    }
    document = {
        "all": {
            "children": {
                "linux": {
                    "vars": {
                        "ansible_user": "root",
                        "ansible_ssh_private_key_file": linux[0].client_key_path,
                        "bulwark_known_hosts": str(known),
                    },
                    "children": {"web": {"hosts": web}, "db": {"hosts": db}},
                },
                "windows": {
                    "vars": {
                        "ansible_connection": "winrm",
                        "ansible_user": USER,
                        "bulwark_password_env": "WIN_PASSWORD",
                        "ansible_winrm_ca_trust_path": str(ca.cert_path),
                    },
                    "hosts": win,
                },
            }
        }
    }
    path = folder / "fleet.yml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_an_inventory_of_22_hosts_and_one_unreachable_in_one_command(
    linux: list[TestHost], windows: list[WinRMServer], ca: TestCA, tmp_path: Path
) -> None:
    inventory = _inventory(tmp_path, linux, windows, ca)
    out = tmp_path / "out"
    done = cli(
        "audit",
        "--inventory",
        str(inventory),
        "--policy",
        *POLICIES,
        "--forks",
        "8",
        "--format",
        "json,junit,sarif,oscal,html,csv",
        "--output-dir",
        str(out),
    )
    # One host could not be audited: exit 3, and every other host was audited all the same.
    assert done.returncode == 3, done.stderr
    report = json.loads((out / "bulwark.json").read_text())
    status = {h["name"]: h["status"] for h in report["hosts"]}
    assert len(status) == 23 and status.pop("gone") == "error"
    assert set(status.values()) == {"audited"}
    gone = next(h for h in report["hosts"] if h["name"] == "gone")
    assert "refused" in gone["error"] or "unreachable" in gone["error"].lower()
    # Progress: one plain line per host as it finishes (stderr is not a terminal here).
    progress = [line for line in done.stderr.splitlines() if line.startswith("[")]
    assert len(progress) == 23 and progress[-1].startswith("[23/23]")
    # Mixed outcomes: the sshd drop-in changes the OpenSSH verdicts of every other host.
    scores = {h["name"]: h["result"]["summary"]["score"] for h in report["hosts"] if h["result"]}
    assert scores["fleet-00"] != scores["fleet-01"]
    assert {
        h["result"]["host"]["family"] for h in report["hosts"] if h["name"].startswith("win")
    } == {"windows"}
    # The exports cover the same hosts.
    suites = ET.parse(out / "bulwark.junit.xml").getroot().findall("testsuite")  # noqa: S314
    assert len(suites) == 23
    sarif = json.loads((out / "bulwark.sarif").read_text())
    assert sarif["runs"][0]["invocations"][0]["executionSuccessful"] is False
    assert (out / "assessment-plan.json").exists() and (out / "bulwark.html").stat().st_size


def test_limit_and_ci_gates(
    linux: list[TestHost], windows: list[WinRMServer], ca: TestCA, tmp_path: Path
) -> None:
    inventory = _inventory(tmp_path, linux, windows, ca)
    common = ["audit", "--inventory", str(inventory), "--policy", *POLICIES, "--format", "json"]
    passing = cli(*common, "--limit", "web:&fleet-0[01]", "--fail-under", "0")
    assert passing.returncode == 0, passing.stderr
    names = [h["name"] for h in json.loads(passing.stdout)["hosts"]]
    assert names == ["fleet-00", "fleet-01"]
    gated = cli(*common, "--limit", "fleet-00", "--fail-on", "failed")
    assert gated.returncode == 4, gated.stderr
    assert json.loads(gated.stdout)["hosts"][0]["result"]["summary"]["failed"] > 0
    too_low = cli(*common, "--limit", "windows", "--fail-under", "100")
    assert too_low.returncode == 4
    nothing = cli(*common, "--limit", "nope")
    assert nothing.returncode == 1 and "no host" in nothing.stderr


def test_a_terminal_gets_a_live_progress_display(
    linux: list[TestHost], windows: list[WinRMServer], ca: TestCA, tmp_path: Path
) -> None:
    import pty

    inventory = _inventory(tmp_path, linux, windows, ca)
    primary, secondary = pty.openpty()
    args = ["audit", "--inventory", str(inventory), "--policy", *POLICIES]
    args += ["--limit", "windows:gone", "--format", "json", "--output-dir", str(tmp_path / "out")]
    process = subprocess.Popen(
        [sys.executable, "-m", "workers", *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
        env={**os.environ, "WIN_PASSWORD": PASSWORD, "TERM": "xterm", "COLUMNS": "120"},
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    assert process.wait(timeout=300) == 3
    screen = b"".join(chunks).decode(errors="replace")
    # rich's bar with its counter, and a line per host as it finishes.
    assert "auditing" in screen and "3/3" in screen and "1 not audited" in screen
    assert "gone: ERROR" in screen and "win-0: passed" in screen
    assert "[1/3]" not in screen  # not the plain lines of a pipe
