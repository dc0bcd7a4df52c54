"""The demo removes its lab however it is stopped: Ctrl-C, SIGTERM and SIGHUP unwind through
the lab's close; a demo killed outright (SIGKILL) leaves its lab, which the next demo removes.
"Its lab": network namespaces, sshd processes, veth links, temporary folders, and the
10.77.0.0/16 route (unless another live lab on this machine still holds it)."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from lab.harness import LOCK_PATH, NETWORK
from tests.bulwark.e2e.stack import ROOT, free_port
from tests.hosts.fixtures import other_cleaners_held_off, require_test_hosts, wait_until_waiting
from tests.parallel import LAB_CLEANERS

# Every demo start waits for its turn to clean: one group, so only the demo under test waits
# when the killed demo's lab is handed over (tests/parallel.py: LAB_CLEANERS).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group(LAB_CLEANERS)]


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=False).stdout


def _running(pid: int) -> bool:
    """Whether the process still runs. A killed sshd whose parent died with the demo stays a
    zombie until init reaps it: it runs nothing and holds no port, so it is not left over."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@dataclass
class Lab:
    """What one demo's lab consists of, seen from outside while it runs."""

    pid: int
    namespaces: list[str]
    sshd: list[int]

    @classmethod
    def of(cls, pid: int) -> Lab:
        names = [line.split()[0] for line in _ip("netns", "list").splitlines() if line.strip()]
        mine = [name for name in names if name.startswith(f"bwk-{pid}-")]
        pids = [int(p) for name in mine for p in _ip("netns", "pids", name).split()]
        return cls(pid, mine, pids)

    def folders(self) -> list[Path]:
        return list(Path(tempfile.gettempdir()).glob(f"bwk-{self.pid}-*"))

    def links(self) -> list[str]:
        """veth links whose other end is in one of the lab's namespaces."""
        return [
            line
            for line in _ip("-o", "link", "show").splitlines()
            if f"link-netns bwk-{self.pid}-" in line
        ]

    def live_processes(self) -> list[int]:
        return [pid for pid in self.sshd if _running(pid)]

    def leftovers(self) -> dict[str, object]:
        """Everything of the lab still on this machine (empty when it is all gone)."""
        left: dict[str, object] = {
            "namespaces": [n for n in Lab.of(self.pid).namespaces],
            "processes": self.live_processes(),
            "links": self.links(),
            "folders": self.folders(),
        }
        if route_left():
            left["route"] = NETWORK
        return {what: items for what, items in left.items() if items}


def route_present() -> bool:
    return NETWORK in _ip("route", "show", "type", "unreachable")


def route_left() -> bool:
    """The route is there while no live lab holds it, for a whole second: a lab closing on
    another worker lets go of its lock a moment before it removes the route."""
    for _ in range(10):
        if not route_present() or another_lab_holds_the_route():
            return False
        time.sleep(0.1)
    return True


def another_lab_holds_the_route() -> bool:
    """Live harnesses (other tests on this machine) hold LOCK_PATH shared while they run."""
    fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def start_demo(tmp_path: Path, log_name: str, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    out = tmp_path / log_name
    env = {
        **os.environ,
        "BULWARK_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": "",
        "CELERY_BROKER_URL": "",
        "EMBEDDED_TASKS": "thread",  # the product's default, as `make demo` runs it
    }
    with out.open("wb") as log:
        demo = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "demo_setup", "--no-audit", *extra],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return demo, out


def serving_demo(tmp_path: Path, log_name: str) -> tuple[subprocess.Popen[bytes], Path, Lab]:
    demo, out = start_demo(tmp_path, log_name, "--serve", f"127.0.0.1:{free_port()}")
    deadline = time.monotonic() + 300  # ends a hung start; not a measure of anything
    while "Bulwark is running at" not in out.read_text(errors="replace"):
        if demo.poll() is not None or time.monotonic() > deadline:
            demo.kill()
            raise AssertionError(out.read_text(errors="replace")[-3000:])
        time.sleep(0.3)
    lab = Lab.of(demo.pid)
    assert len(lab.namespaces) == 3 and lab.sshd and lab.folders(), (lab, out.read_text())
    assert len(lab.links()) == 3
    assert route_present()
    return demo, out, lab


@pytest.mark.parametrize(
    ("how", "to_group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False), (signal.SIGHUP, False)],
    ids=["ctrl-c", "sigterm", "sighup"],
)
def test_the_demo_removes_its_lab_when_stopped(
    tmp_path: Path, how: signal.Signals, to_group: bool
) -> None:
    require_test_hosts()
    demo, out, lab = serving_demo(tmp_path, "demo.log")
    text = out.read_text()
    assert "next run" in text  # the demo says when each schedule fires next
    try:
        if to_group:
            os.killpg(demo.pid, how)  # Ctrl-C reaches the terminal's whole process group
        else:
            os.kill(demo.pid, how)  # a service manager or `kill` signals the process
        demo.wait(120)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert "lab stopped" in out.read_text(), out.read_text()[-3000:]
    assert lab.leftovers() == {}


def test_a_lab_left_by_a_killed_demo_is_removed_at_the_next_start(tmp_path: Path) -> None:
    require_test_hosts()
    demo, _, lab = serving_demo(tmp_path, "killed.log")
    with other_cleaners_held_off() as lock:
        os.killpg(demo.pid, signal.SIGKILL)  # no handler runs: the lab stays behind
        demo.wait(60)
        left = lab.leftovers()
        assert left.keys() >= {"namespaces", "processes", "links", "folders"}, left
        again, out = start_demo(tmp_path, "next.log", "--no-lab")

        def ended() -> str | None:
            return None if again.poll() is None else out.read_text(errors="replace")[-3000:]

        wait_until_waiting(lock, again.pid, ended)  # then let the next demo clean

    assert again.wait(300) == 0, out.read_text()[-3000:]
    assert f"removed a lab left by a killed demo: bwk-{demo.pid}-" in out.read_text()
    assert lab.leftovers() == {}
