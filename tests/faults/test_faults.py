"""Nothing lost, whatever fails: a fleet of SSH test hosts audited through real Celery workers on
PostgreSQL and a Redis of the test's own, while workers, Redis, PostgreSQL connections, beat
and hosts fail. Every requested audit must end `done` or `error` with a reason within the bound,
with exactly one result set, no duplicate score sample or alert, none left queued or running."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from lab.harness import TestHosts
from tests.faults import scenarios
from tests.faults.fleet import Fleet, Report

pytest_plugins = ("tests.hosts.fixtures",)
pytestmark = pytest.mark.slow
FLEET_SIZE = 20


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, test_hosts: TestHosts) -> Iterator[Fleet]:
    with Fleet(tmp_path_factory.mktemp("fleet"), test_hosts, FLEET_SIZE).running() as running:
        yield running


def _assert_nothing_lost(report: Report, *, errors: bool = False) -> None:
    assert report.lost == 0, report
    assert report.duplicated == 0, report
    assert report.done + report.error == report.requested, report
    assert all(reason.strip() for reason in report.reasons), report
    if not errors:  # the hosts are healthy: every fault of the platform is absorbed
        assert report.error == 0, report.reasons


def test_a_worker_sigkilled_mid_audit(fleet: Fleet) -> None:
    _assert_nothing_lost(scenarios.worker_sigkill(fleet))


def test_a_worker_stopped_with_sigterm_finishes_or_hands_back(fleet: Fleet) -> None:
    _assert_nothing_lost(scenarios.worker_sigterm(fleet))


def test_all_workers_down_and_redis_restarted_empty_while_audits_are_queued(fleet: Fleet) -> None:
    _assert_nothing_lost(scenarios.workers_down_redis_empty(fleet))


def test_redis_restarted_empty_while_audits_are_running(fleet: Fleet) -> None:
    _assert_nothing_lost(scenarios.redis_restart_running(fleet))


def test_postgres_connections_terminated_mid_audit(fleet: Fleet) -> None:
    _assert_nothing_lost(scenarios.postgres_terminated(fleet))


def test_host_side_faults_end_with_the_right_reason(fleet: Fleet) -> None:
    report = scenarios.host_faults(fleet)
    _assert_nothing_lost(report, errors=True)
    latest = dict(
        fleet.sql(
            "SELECT DISTINCT ON (h.name) h.name, a.status || ': ' || a.error_reason "
            "FROM audits_audit a JOIN inventory_host h ON h.id = a.host_id "
            "ORDER BY h.name, a.id DESC"
        )
    )
    # Users get the fixed vocabulary (audits/reasons.py); what the far end said (no SSH
    # banner) stays in the worker log.
    assert latest["silent"] == "error: gave up after 3 attempts: timed out", latest
    assert latest["fleet-01"].startswith("error: gave up after 3 attempts"), latest
    assert latest["fleet-02"].startswith("error: "), latest
    assert latest["fleet-big"].split(":")[0] in ("done", "error"), latest
    assert latest["fleet-03"] == "done: ", latest


def test_two_beats_and_a_beat_restart_fire_a_schedule_once_per_period(fleet: Fleet) -> None:
    report, runs, sent = scenarios.beats(fleet)
    assert len(runs) >= 2, runs
    assert sent > len(runs), (sent, runs)  # the beats did send duplicates; they were skipped
    assert [period for period, _ in runs] == list(range(1, len(runs) + 1))
    for (_, earlier), (_, later) in itertools.pairwise(runs):
        gap = (later - earlier).total_seconds()  # type: ignore[operator]
        assert gap >= scenarios.SCHEDULE_INTERVAL / 2, runs
    assert report.requested <= len(runs)
    _assert_nothing_lost(report)
