"""The pytest plugin for test hosts: `pytest_plugins = ("tests.hosts.fixtures",)` in a module.

`test_hosts` is one session-wide TestHosts. Where hosts cannot run (not root, no ip, no sshd)
tests that use it are skipped with the reason, except under CI (`CI=true`), where that is a
failure: CI must never pass by skipping the hosts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.harness import TestHosts, unavailable_reason
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
