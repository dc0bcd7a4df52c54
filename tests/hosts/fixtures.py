"""The pytest plugin for test hosts: `pytest_plugins = ("tests.hosts.fixtures",)` in a module.

`test_hosts` is one session-wide TestHosts. Where hosts cannot run (not root, no ip, no sshd)
tests that use it are skipped with the reason, except under CI (`CI=true`), where that is a
failure: CI must never pass by skipping the hosts.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager

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
