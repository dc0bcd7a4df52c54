"""The guards that keep heavy tests out of `make test-fast` (tests/slow.py) hold."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from lab.harness import HostSpec, TestHosts
from tests.bulwark.e2e.stack import Stack
from tests.slow import NotMarkedSlow, unmarked_heavy_tests


def test_a_test_not_marked_slow_cannot_start_a_test_host() -> None:
    manager = object.__new__(TestHosts)
    manager._closed = False
    with pytest.raises(NotMarkedSlow, match="starts a test host: mark it slow"):
        manager.start(HostSpec("never-started"))


def test_a_test_not_marked_slow_cannot_start_a_bulwark_process() -> None:
    with pytest.raises(NotMarkedSlow, match="starts a Bulwark process: mark it slow"):
        object.__new__(Stack).start_worker()


def _item(nodeid: str, fixtures: list[str], slow: bool) -> Any:
    return SimpleNamespace(
        nodeid=nodeid,
        fixturenames=fixtures,
        get_closest_marker=lambda name: object() if slow and name == "slow" else None,
    )


def test_the_collection_names_unmarked_tests_whose_fixtures_start_hosts_or_a_browser() -> None:
    items = [
        _item("t.py::hosts", ["db", "test_hosts"], slow=False),
        _item("t.py::browser", ["browser", "live_server"], slow=False),
        _item("t.py::marked", ["test_hosts", "browser"], slow=True),
        _item("t.py::light", ["db", "client"], slow=False),
    ]
    assert unmarked_heavy_tests(items) == [
        "t.py::hosts (uses test_hosts)",
        "t.py::browser (uses browser)",
    ]


def test_a_test_not_marked_slow_cannot_audit_every_filesystem_of_this_machine() -> None:
    from pathlib import Path

    from workers import audit
    from workers.engine.policy import load_policy
    from workers.transports.local import LocalTransport

    debian = load_policy(Path(__file__).parents[1] / "rulesets" / "linux" / "bulwark_debian12.yml")
    assert debian.policy is not None
    with pytest.raises(NotMarkedSlow, match="audits every local filesystem of this machine"):
        audit.run(LocalTransport(), [debian.policy])
