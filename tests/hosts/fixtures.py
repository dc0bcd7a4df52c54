"""The pytest plugin for test hosts: `pytest_plugins = ("tests.hosts.fixtures",)` in a module.

`test_hosts` is one session-wide TestHosts. Where hosts cannot run (not root, no ip, no sshd)
tests that use it are skipped with the reason, except under CI (`CI=true`), where that is a
failure: CI must never pass by skipping the hosts.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lab.harness import CLEANUP_LOCK_PATH, TestHosts, unavailable_reason
from tests.require import require


def require_test_hosts() -> None:
    """Skip the calling test when hosts cannot run here; fail instead under CI."""
    reason = unavailable_reason()
    require(reason is None, f"test hosts: {reason}")


@pytest.fixture(scope="session")
def test_hosts() -> Iterator[TestHosts]:
    """The session's TestHosts; every host it started is removed at the end of the session."""
    require_test_hosts()
    with TestHosts() as hosts:
        yield hosts


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that use hosts carry the `root` marker, so `-m "not root"` deselects them.
    for item in items:
        if "test_hosts" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.root)


@contextmanager
def other_cleaners_held_off() -> Iterator[int]:
    """Hold the harness's clean-up lock. Every harness starting hosts (other tests, on other
    xdist workers) removes dead processes' labs unless another process is cleaning: without
    this, one of them could remove a lab a test left on purpose before the cleaner under test
    looks for it."""
    fd = os.open(CLEANUP_LOCK_PATH, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield fd
    finally:
        os.close(fd)


def wait_until_waiting(fd: int, pid: int, failed: Callable[[], str | None]) -> None:
    """Until process `pid` waits for the lock held on `fd` (/proc/locks lists a waiter after
    "->"). `failed` says why to stop waiting (the process ended), or None to go on."""
    st = os.fstat(fd)
    lock = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino} "
    deadline = time.monotonic() + 300  # ends a hung start; not a measure of anything
    while not any(
        " -> " in line and f" {pid} {lock}" in line
        for line in Path("/proc/locks").read_text().splitlines()
    ):
        why = failed()
        if why is not None or time.monotonic() > deadline:
            raise AssertionError(why or f"process {pid} never waited for the lock")
        time.sleep(0.05)
