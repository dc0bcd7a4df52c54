"""How the suite shares the machine under pytest-xdist (`make test` runs `-n 3 --dist loadgroup`).

Tests of one `xdist_group` run on one worker, one after another. Three kinds of test get a
group here, at collection, unless they name one themselves:

- tests that use the shared Redis broker (BULWARK_TEST_BROKER_URL): each empties it first
  (tests/bulwark/e2e/stack.py: redis_broker_url), so two at once would lose each other's
  messages. They all share REDIS_BROKER, and redis_broker_url refuses to run in any other test;
- tests that share a module-scoped fixture (test hosts, a whole Bulwark, a browser session):
  their module is one group, so the fixture is built once, not once per worker;
- tests that share a session-scoped fixture of a conftest below tests/ (the real audit of this
  machine in tests/workers/exports): that folder is one group, for the same reason.

Everything else is spread over the workers one test at a time. Serially (`-p no:xdist` or
`-n 0`), the groups change nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

REDIS_BROKER = "redis-broker"
# Every test that runs a lab cleaner which waits for its turn (a demo's start, cleanup_stale()).
# Some hand the clean-up lock to one such cleaner and check what it reports; flock may give a
# released lock to any waiter, so no other test may have one waiting at that moment.
LAB_CLEANERS = "lab-cleaners"

# The xdist groups of the test running in this process (set by the autouse fixture below).
_current_groups: frozenset[str] = frozenset()


def groups_of(item: pytest.Item) -> set[str]:
    return {
        str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
        for mark in item.iter_markers("xdist_group")
    }


# Session fixtures every worker builds for itself anyway: pytest-django's test database (one per
# worker), which tests/bulwark/conftest.py extends. Grouping on them would put every database
# test on one worker.
PER_WORKER_FIXTURES = frozenset({"django_db_setup"})


def shared_fixture_group(item: pytest.Item) -> str | None:
    """The group of a test that shares an expensive fixture with others, or None."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    folders, modules = set(), set()
    for name, definitions in info.name2fixturedefs.items():
        if name in PER_WORKER_FIXTURES:
            continue
        definition = definitions[-1]  # the one this test gets
        base = definition.baseid
        if definition.scope == "session" and base.startswith("tests/") and "::" not in base:
            folders.add(base)
        elif definition.scope == "module":
            modules.add(item.nodeid.split("::", 1)[0])
    if folders:
        return min(folders)
    return min(modules) if modules else None


def uses_redis_broker(item: pytest.Item) -> bool:
    from tests.bulwark.e2e import stack

    module = getattr(item, "module", None)
    return getattr(module, "redis_broker_url", None) is stack.redis_broker_url


def assign_groups(items: list[pytest.Item]) -> None:
    """Put the tests above in their groups (tests/conftest.py calls it at collection)."""
    for item in items:
        if groups_of(item):
            continue
        group = REDIS_BROKER if uses_redis_broker(item) else shared_fixture_group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(autouse=True)
def xdist_groups(request: pytest.FixtureRequest) -> Iterator[None]:
    """Remember the running test's groups (require_group asks)."""
    global _current_groups
    _current_groups = frozenset(groups_of(request.node))
    yield
    _current_groups = frozenset()


def require_group(group: str, what: str) -> None:
    """Under xdist, fail unless the running test is in `group`: `what` is not safe otherwise."""
    if os.environ.get("PYTEST_XDIST_WORKER") and group not in _current_groups:
        raise AssertionError(
            f"{what} is shared by the whole suite: mark the test "
            f"`pytest.mark.xdist_group({group!r})` (tests/parallel.py)"
        )


def batched_cases(
    paths: Iterable[Path],
    batches_of: Callable[[Path], Sequence[Sequence[str]]],
    check_ids_of: Callable[[Path], Iterable[str]],
) -> list[Any]:
    """One test case (policy path, check id) per check; the checks of one batch share an
    `xdist_group`, so under `--dist loadgroup` they run on one worker and the batch's hosts or
    machines start once. A check in no batch gets a group of its own (and fails in its test)."""
    cases = []
    for path in paths:
        group = {
            check_id: f"{path.stem}-b{index}"
            for index, ids in enumerate(batches_of(path))
            for check_id in ids
        }
        for check_id in check_ids_of(path):
            mark = pytest.mark.xdist_group(group.get(check_id, check_id))
            cases.append(pytest.param(path, check_id, id=f"{path.stem}:{check_id}", marks=mark))
    return cases
