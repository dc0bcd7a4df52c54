"""The test-host harness: each host has its own /etc, sysctls and processes; teardown is total."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lab.commands import run_command
from lab.delay_proxy import DelayProxy
from lab.harness import (
    WAITING_LOCK_PATH,
    HostSpec,
    TestHost,
    TestHosts,
    TestUser,
    cleanup_stale,
    hidden_from_hosts,
    unavailable_reason,
)
from tests.parallel import LAB_CLEANERS
from workers.transports.ssh import SSHTransport

pytestmark = pytest.mark.slow  # make test-fast leaves it out

pytest_plugins = ("tests.hosts.fixtures",)

SYSCTL = "net.ipv4.ip_forward"


def _machine_sysctl() -> str:
    return Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()


@pytest.fixture(scope="module")
def pair(test_hosts: TestHosts) -> Iterator[tuple[TestHost, TestHost]]:
    machine_value = _machine_sysctl()
    other = "0" if machine_value == "1" else "1"
    hosts = test_hosts.start_many(
        [
            HostSpec(
                "hardened",
                files={"/etc/bwk-probe": "hardened\n", "/etc/ssh/sshd_config.d/x.conf": "# x\n"},
                remove=["/etc/issue"],
                modes={"/etc/shadow": 0o600, "/etc/bwk-probe": 0o640},
                owners={"/etc/bwk-probe": "ann:ann"},
                sysctls={SYSCTL: other},
                users=[TestUser("ann", sudo="nopasswd")],
                processes=["sleep 1000"],
            ),
            HostSpec("plain"),
        ]
    )
    yield hosts[0], hosts[1]
    for host in hosts:
        host.stop()


def _ssh(host: TestHost, command: str) -> str:
    with SSHTransport(host.ssh_target()) as transport:
        result = run_command(transport, command)
    assert result.exit_status == 0, result
    return result.stdout.decode()


def test_each_host_sees_its_own_etc_and_the_machine_is_untouched(
    pair: tuple[TestHost, TestHost],
) -> None:
    hardened, plain = pair
    probe = "cat /etc/bwk-probe; stat -c '%a %U:%G' /etc/bwk-probe /etc/shadow; ls /etc/issue"
    assert _ssh(hardened, probe + " 2>&1 || true") == (
        "hardened\n640 ann:ann\n600 root:shadow\n"
        "ls: cannot access '/etc/issue': No such file or directory\n"
    )
    assert hardened.run_local("cat /etc/bwk-probe").stdout == "hardened\n"
    assert "No such file" in _ssh(plain, "cat /etc/bwk-probe 2>&1 || true")
    assert _ssh(plain, "stat -c %a /etc/shadow") == f"{os.stat('/etc/shadow').st_mode & 0o777:o}\n"
    assert not Path("/etc/bwk-probe").exists()
    assert Path("/etc/issue").exists()
    assert _ssh(hardened, "hostname") == "hardened\n"
    assert _ssh(hardened, "id -u ann") == "4000\n"
    assert not any(line.startswith("ann:") for line in Path("/etc/passwd").read_text().split())


def test_each_host_has_its_own_sysctls(pair: tuple[TestHost, TestHost]) -> None:
    hardened, plain = pair
    machine_value = _machine_sysctl()
    inside = _ssh(hardened, f"sysctl -n {SYSCTL}").strip()
    assert inside != machine_value
    assert _ssh(plain, "cat /proc/sys/net/ipv4/ip_forward").strip() != inside
    assert _machine_sysctl() == machine_value


def test_hosts_see_the_machine_s_toolchains_empty_and_their_python_whole(
    pair: tuple[TestHost, TestHost],
) -> None:
    hardened, _ = pair
    hidden = hidden_from_hosts()  # none on a machine without such toolchains
    for path in hidden:
        assert any(Path(path).iterdir()), path  # the machine still sees them
        assert _ssh(hardened, f"ls -A {path}") == ""
    assert sys.base_prefix not in hidden
    # The project's virtualenv still runs in a host (it is built on this very Python).
    assert _ssh(hardened, f"{sys.executable} -c 'print(6 * 7)'") == "42\n"


def test_each_host_sees_only_its_own_processes(pair: tuple[TestHost, TestHost]) -> None:
    hardened, plain = pair
    assert "sleep 1000" in _ssh(hardened, "ps -eo args")
    assert "sleep 1000" not in _ssh(plain, "ps -eo args")
    assert hardened.run_local("ps -o args= -p 1").stdout.startswith("sshd")


def test_a_spec_sshd_config_keeps_the_harness_lines_first(test_hosts: TestHosts) -> None:
    body = "PermitRootLogin prohibit-password\nPasswordAuthentication no\nUsePAM no\n"
    host = test_hosts.start(HostSpec("own-sshd", files={"/etc/ssh/sshd_config": body}))
    try:
        effective = _ssh(host, "sshd -T 2>/dev/null | grep -E '^(passwordauthentication|port) '")
        assert effective == f"port {host.port}\npasswordauthentication no\n"
        assert _ssh(host, "tail -n 3 /etc/ssh/sshd_config") == body
    finally:
        host.stop()


def test_twenty_hosts_start_concurrently_and_all_answer(test_hosts: TestHosts) -> None:
    started = time.monotonic()
    hosts = test_hosts.start_many([HostSpec(f"fleet-{i}") for i in range(20)])
    elapsed = time.monotonic() - started
    try:
        answers = {_ssh(host, "hostname").strip() for host in hosts}
        assert answers == {f"fleet-{i}" for i in range(20)}
        assert len({host.address for host in hosts}) == 20
    finally:
        for host in hosts:
            host.stop()
    print(f"20 hosts started in {elapsed:.2f} s")  # read with -s; no assertion on time


def test_teardown_leaves_no_namespace_veth_process_or_file(
    pair: tuple[TestHost, TestHost],
) -> None:
    from tests.hosts.fixtures import (  # after pytest_plugins loads it
        require_test_hosts,
    )

    require_test_hosts()
    with TestHosts() as hosts:
        started = hosts.start_many([HostSpec("short-a"), HostSpec("short-b")])
        hosts.link(started[0], started[1])
        state = hosts.dir
        netns = [h.netns for h in started]
        # By interface index, not name: once freed, another xdist worker may take the slot (and
        # the name); a new link never gets the index of one removed this soon.
        veths = [_ifindex(f"bwk{h.slot}") for h in started]
        pids = [h.pid for h in started] + [int(p) for h in started for p in _netns_pids(h.netns)]
        assert all(Path(f"/proc/{pid}").exists() for pid in pids)
    names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert not any(name in names for name in netns)
    assert not any(line.startswith(f"{index}: ") for line in links.splitlines() for index in veths)
    assert not any(Path(f"/proc/{pid}").exists() for pid in pids)
    assert not state.exists()
    assert str(state) not in Path("/proc/self/mountinfo").read_text()
    # Another manager in this process closing takes none of the session's hosts along.
    assert _ssh(pair[1], "hostname") == "plain\n"


def _wait_until_inside(netns: str, pid: int) -> None:
    """Wait until `ip netns exec` has entered the namespace. Before that, a clean-up finds no
    process in it, deletes it, and the process enters the orphaned namespace afterwards and
    lives on: a crashed run's processes are all inside by the time anyone cleans up."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        inside = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True)
        if str(pid) in inside.stdout.split():
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never entered the namespace {netns}")


@pytest.mark.xdist_group(LAB_CLEANERS)  # hands the clean-up to its own waiting cleaner
def test_a_crashed_run_is_cleaned_up_by_the_next(tmp_path: Path) -> None:
    from tests.hosts.fixtures import (  # after pytest_plugins loads it
        other_cleaners_held_off,
        require_test_hosts,
        wait_until_waiting,
    )

    require_test_hosts()
    dead_pid = 4_000_000  # above pid_max: no process has it
    stale = f"bwk-{dead_pid}-1"
    state = Path(f"/tmp/bwk-{dead_pid}-crashed")
    with ThreadPoolExecutor(1) as pool:
        with other_cleaners_held_off() as lock:  # until the cleaner under test takes its turn
            subprocess.run(["ip", "netns", "add", stale], check=True)
            sleeper = subprocess.Popen(["ip", "netns", "exec", stale, "sleep", "1000"])
            _wait_until_inside(stale, sleeper.pid)
            state.mkdir()
            # A harness starting hosts meanwhile leaves the cleaning to whoever holds the lock.
            assert cleanup_stale(wait=False) == []
            names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
            assert stale in names.stdout
            cleaned = pool.submit(cleanup_stale)
            # Released only once the cleaner waits: then a harness starting hosts skips its
            # clean-up and leaves the lab to it.
            wait_until_waiting(lock, os.getpid(), lambda: repr(cleaned) if cleaned.done() else None)
        removed = cleaned.result(60)
    try:
        assert stale in removed
        sleeper.wait(5)  # killed by the cleanup
        names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert stale not in names
        assert not state.exists()
    finally:
        sleeper.kill()
        subprocess.run(["ip", "netns", "del", stale], capture_output=True)


@pytest.mark.xdist_group(LAB_CLEANERS)  # is a waiting cleaner itself
def test_a_harness_starting_hosts_leaves_the_clean_up_to_a_waiting_cleaner() -> None:
    from tests.hosts.fixtures import require_test_hosts  # after pytest_plugins loads it

    require_test_hosts()
    stale = "bwk-4000001-1"  # above pid_max: its harness is dead
    waiting = os.open(WAITING_LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(waiting, fcntl.LOCK_SH)  # as a cleaner waiting for its turn holds it
        subprocess.run(["ip", "netns", "add", stale], check=True)
        assert cleanup_stale(wait=False) == []  # the clean-up lock is free, yet it skips
        names = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
        assert stale in names.stdout
        assert stale in cleanup_stale()  # a waiting cleaner goes ahead
    finally:
        os.close(waiting)
        subprocess.run(["ip", "netns", "del", stale], capture_output=True)


def test_the_delay_proxy_adds_latency_and_keeps_every_byte_in_order(
    pair: tuple[TestHost, TestHost],
) -> None:
    _, plain = pair
    payload = os.urandom(3 * 1024 * 1024)
    with DelayProxy(plain.address, plain.port, delay=0.025) as proxy:
        target = plain.ssh_target(host=proxy.host, port=proxy.port)
        with SSHTransport(target) as transport:
            transport.connect()
            started = time.monotonic()
            result = run_command(transport, "cat", stdin=payload, timeout=60)
            one_command = time.monotonic() - started
        assert proxy.connections == 1
    assert result.stdout == payload
    assert one_command >= 0.1  # open + exec + data + exit: at least two 50 ms round trips


def test_hosts_are_skipped_without_root_and_fail_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.hosts import fixtures  # after pytest_plugins has loaded (and rewritten) it

    monkeypatch.setattr(fixtures, "unavailable_reason", lambda: "test hosts need root")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="need root"):
        fixtures.require_test_hosts()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required in CI"):
        fixtures.require_test_hosts()


def test_the_reason_is_none_here_or_says_what_is_missing() -> None:
    reason = unavailable_reason()
    assert reason is None or "need" in reason


def test_a_spec_refuses_paths_outside_etc_and_global_sysctls() -> None:
    with pytest.raises(ValueError):
        HostSpec("bad", files={"/usr/bin/x": ""})
    with pytest.raises(ValueError):
        HostSpec("bad", remove=["/etc/../root/x"])
    with pytest.raises(ValueError):
        HostSpec("bad", sysctls={"kernel.randomize_va_space": "0"})
    with pytest.raises(ValueError):
        HostSpec("Not_A_Hostname")


def _ifindex(link: str) -> int:
    listed = subprocess.run(["ip", "-o", "link", "show", link], capture_output=True, text=True)
    return int(listed.stdout.split(":", 1)[0])


def _netns_pids(netns: str) -> list[str]:
    listed = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True)
    return listed.stdout.split()


def test_overrides_and_setup_change_only_the_hosts_view(test_hosts: TestHosts) -> None:
    aslr = Path("/proc/sys/kernel/randomize_va_space")
    machine_before = aslr.read_text()
    tmp_mounts = ["findmnt", "-kn", "/tmp"]
    tmp_before = subprocess.run(tmp_mounts, capture_output=True, text=True).stdout
    fake = "7\n"  # not a value the kernel would ever show
    host = test_hosts.start(
        HostSpec(
            name="override",
            overrides={str(aslr): fake},
            setup=["mount -t tmpfs -o nodev,nosuid,noexec tmpfs /tmp"],
        )
    )
    seen = host.run_local(f"cat {aslr}; findmnt -kn -o OPTIONS /tmp").stdout.splitlines()
    assert seen[0] == "7"
    assert {"nodev", "nosuid", "noexec"} <= set(seen[1].split(","))
    assert aslr.read_text() == machine_before
    assert subprocess.run(tmp_mounts, capture_output=True, text=True).stdout == tmp_before


def test_overlays_take_the_hosts_writes_outside_etc(test_hosts: TestHosts) -> None:
    """dpkg and systemctl run in a host with /var and /usr overlaid write the overlays' upper
    directories; the machine's files stay as they were."""
    status = Path("/var/lib/dpkg/status")
    before = status.read_bytes()
    host = test_hosts.start(HostSpec(name="overlays", overlays=["/var", "/usr"]))
    unit = "/usr/lib/systemd/system/bwk-overlay-probe.service"
    done = host.run_local(
        "echo 'Package: bwk-probe' >> /var/lib/dpkg/status"
        f" && printf '[Service]\\nExecStart=/bin/true\\n' > {unit} && tail -1 /var/lib/dpkg/status"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Package: bwk-probe\n"
    assert (host.overlay_upper("/usr") / "lib/systemd/system/bwk-overlay-probe.service").is_file()
    assert (host.overlay_upper("/var") / "lib/dpkg/status").read_bytes().endswith(b"bwk-probe\n")
    assert status.read_bytes() == before
    assert not Path(unit).exists()


def test_a_spec_refuses_overlays_of_etc_run_and_the_root() -> None:
    for path in ("/", "/etc", "/run/lock", "/tmp", "var", "/var/../etc", "/nonexistent-dir"):
        with pytest.raises(ValueError, match="overlays"):
            HostSpec("bad", overlays=[path])
