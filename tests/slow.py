"""Which tests are slow, and the guards that keep heavy tests out of `make test-fast`.

What makes a test slow: test hosts (network namespaces with sshd), a browser, or a whole Bulwark
in processes (gunicorn, Celery workers and beat). A test that needs one must carry the `slow`
mark (`pytestmark = pytest.mark.slow` in its module, or on the test): `make test-fast` leaves
slow tests out. Two guards keep a heavy test from silently joining the inner loop (say, after
a rename): the collection fails for an unmarked test whose fixtures start hosts or a browser,
and an unmarked test that starts a host or a process of a whole Bulwark itself fails at that
moment. Tests slow for other reasons (a whole-machine audit, a timer) carry the mark too.
"""

from __future__ import annotations

from typing import Any

import pytest

HEAVY_FIXTURES = frozenset({"test_hosts", "browser"})


class NotMarkedSlow(AssertionError):
    """A test not marked slow started a test host or a Bulwark process."""


def unmarked_heavy_tests(items: list[pytest.Item]) -> list[str]:
    """Node ids of tests whose fixtures start hosts or a browser but are not marked slow."""
    return [
        f"{item.nodeid} (uses {', '.join(sorted(heavy))})"
        for item in items
        if not item.get_closest_marker("slow")
        and (heavy := HEAVY_FIXTURES.intersection(getattr(item, "fixturenames", ())))
    ]


def refuse_heavy(nodeid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on in this test, starting a test host or a Bulwark process raises NotMarkedSlow."""
    from lab.harness import TestHosts
    from tests.bulwark.e2e.stack import Stack

    def refuse(what: str) -> Any:
        def refused(*args: Any, **kwargs: Any) -> Any:
            raise NotMarkedSlow(f"{nodeid} starts {what}: mark it slow")

        return refused

    monkeypatch.setattr(TestHosts, "_allocate", refuse("a test host"))
    monkeypatch.setattr(Stack, "spawn", refuse("a Bulwark process"))
    _refuse_whole_machine_scans(nodeid, monkeypatch)


# The Linux policies' world-writable and unowned files checks scan every local filesystem of
# the audited machine: on this machine, 30 s or more (more than make test-fast's whole budget).
WHOLE_MACHINE_SCAN = b"/proc/self/mountinfo) -xdev"


def _refuse_whole_machine_scans(nodeid: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A collector script sent to a local process (this machine's audit) that would scan every
    local filesystem raises NotMarkedSlow before it runs."""
    from workers.transports.local import LocalProcess

    write = LocalProcess.write

    def refusing(self: LocalProcess, data: bytes) -> None:
        if WHOLE_MACHINE_SCAN in data:
            self.kill()
            raise NotMarkedSlow(
                f"{nodeid} audits every local filesystem of this machine: mark it slow"
            )
        write(self, data)

    monkeypatch.setattr(LocalProcess, "write", refusing)
