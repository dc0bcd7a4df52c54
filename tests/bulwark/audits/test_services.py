"""Audit transitions: claim compare-and-set, fencing, idempotent store, retries, the reaper."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from bulwark.audits import services
from bulwark.audits.models import (
    AlertEvent,
    Audit,
    AuditStatus,
    CategorySummary,
    Result,
    ScoreSample,
)
from bulwark.audits.store import store_outcome
from bulwark.inventory.models import Host
from tests.bulwark.audits.outcomes import check_ids, make_outcome
from tests.bulwark.conftest import using_postgres
from tests.require import require


def _expire(audit: Audit) -> None:
    Audit.objects.filter(pk=audit.pk).update(lease_expires=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
def test_of_two_claims_of_one_audit_one_wins(
    local_host: Host, queued_audit: Callable[[Host], Audit]
) -> None:
    audit = queued_audit(local_host)
    first, second = services.claim(audit.pk), services.claim(audit.pk)
    assert first is not None and first.attempt == 1
    assert second is None
    audit.refresh_from_db()
    assert audit.status == AuditStatus.RUNNING and audit.attempts == 1
    assert audit.lease_expires > timezone.now()


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_on_postgres_have_one_winner(
    local_host: Host, queued_audit: Callable[[Host], Audit]
) -> None:
    # CI runs the suite on PostgreSQL (.ci/run).
    require(using_postgres(), "SQLite's in-memory test database is not shared between threads")
    audit = queued_audit(local_host)
    barrier = threading.Barrier(8)
    wins: list[object] = []

    def contend() -> None:
        barrier.wait()
        try:
            wins.append(services.claim(audit.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len([w for w in wins if w is not None]) == 1
    assert Audit.objects.get(pk=audit.pk).attempts == 1


@pytest.mark.django_db
def test_an_expired_lease_can_be_taken_over_and_fences_the_first_worker(
    catalogue: None, local_host: Host, queued_audit: Callable[[Host], Audit]
) -> None:
    audit = queued_audit(local_host)
    slow = services.claim(audit.pk)
    assert slow is not None
    assert services.claim(audit.pk) is None  # the lease holds
    _expire(audit)
    fast = services.claim(audit.pk)
    assert fast is not None and fast.attempt == 2
    assert store_outcome(fast, make_outcome(failed=check_ids()[:3]))
    # The first worker wakes up: its writes are refused, the stored audit is untouched.
    assert not store_outcome(slow, make_outcome())
    assert not services.fail(slow, "late")
    audit.refresh_from_db()
    assert (audit.status, audit.failed) == (AuditStatus.DONE, 3)


@pytest.mark.django_db
def test_storing_twice_keeps_one_set_of_results(
    catalogue: None, local_host: Host, queued_audit: Callable[[Host], Audit]
) -> None:
    audit = queued_audit(local_host)
    won = services.claim(audit.pk)
    assert won is not None
    outcome = make_outcome(failed=check_ids()[:5])
    assert store_outcome(won, outcome)
    assert not store_outcome(won, outcome)  # a redelivered task: nothing more is written
    assert Result.objects.filter(audit=audit).count() == len(check_ids())
    assert ScoreSample.objects.filter(audit=audit).count() == 1
    categories = CategorySummary.objects.filter(audit=audit)
    assert sum(c.failed for c in categories) == 5


@pytest.mark.django_db
def test_a_retried_audit_replaces_what_an_earlier_attempt_left(
    catalogue: None, local_host: Host, queued_audit: Callable[[Host], Audit]
) -> None:
    from bulwark.policies.models import Check

    audit = queued_audit(local_host)
    first = services.claim(audit.pk)
    assert first is not None
    # Leftovers of an attempt (as if written outside the store's transaction).
    Result.objects.bulk_create(
        Result(audit=audit, policy_check=check, status="failed") for check in Check.objects.all()
    )
    CategorySummary.objects.create(audit=audit, category="stale", failed=99)
    assert store_outcome(first, make_outcome())
    assert Result.objects.filter(audit=audit).count() == len(check_ids())
    assert not Result.objects.filter(audit=audit, status="failed").exists()
    assert not CategorySummary.objects.filter(audit=audit, category="stale").exists()


@pytest.mark.django_db
def test_a_transient_failure_requeues_with_backoff_until_the_attempts_run_out(
    settings: object, local_host: Host, queued_audit: Callable[[Host], Audit]
) -> None:
    audit = queued_audit(local_host)
    countdowns = []
    for _ in range(services.max_attempts()):
        won = services.claim(audit.pk)
        assert won is not None
        countdowns.append(services.release_for_retry(won, "connection refused"))
    # 3 retries, doubling from 30 s with +-20 % jitter, then it gives up
    assert countdowns[-1] is None
    for countdown, nominal in zip(countdowns[:-1], (30.0, 60.0, 120.0), strict=True):
        assert countdown is not None and nominal * 0.8 <= countdown <= nominal * 1.2
    audit.refresh_from_db()
    assert audit.status == AuditStatus.ERROR and audit.attempts == 4
    assert audit.error_reason == "gave up after 4 attempts: connection refused"
    assert services.claim(audit.pk) is None


def test_the_backoff_is_jittered_and_capped(settings: Any) -> None:
    from bulwark.audits.delivery import backoff

    settings.AUDIT_RETRY_BACKOFF, settings.AUDIT_RETRY_BACKOFF_MAX = 30.0, 100.0
    firsts = {backoff(1) for _ in range(50)}
    assert len(firsts) > 1 and all(24.0 <= b <= 36.0 for b in firsts)  # jittered
    assert {backoff(5) for _ in range(20)} == {100.0}  # 480 s nominal, capped


@pytest.mark.django_db
def test_the_reaper_requeues_expired_leases_only(
    local_host: Host, queued_audit: Callable[[Host], Audit], group: object
) -> None:
    other = Host.objects.create(
        name="other", address="localhost", transport="local", group=local_host.group
    )
    expired, healthy = queued_audit(local_host), queued_audit(other)
    assert services.claim(expired.pk) and services.claim(healthy.pk)
    _expire(expired)
    from unittest import mock

    with mock.patch("bulwark.audits.delivery.enqueue_on_commit") as enqueue:
        assert services.reap_expired_leases() == [expired.pk]
    enqueue.assert_called_once_with(expired.pk)  # only the id travels
    expired.refresh_from_db()
    healthy.refresh_from_db()
    assert (expired.status, expired.lease_expires) == (AuditStatus.QUEUED, None)
    assert healthy.status == AuditStatus.RUNNING


@pytest.mark.django_db
def test_the_reaper_gives_up_on_an_audit_that_used_its_attempts(
    local_host: Host, queued_audit: Callable[[Host], Audit]
) -> None:
    audit = queued_audit(local_host)
    Audit.objects.filter(pk=audit.pk).update(
        status=AuditStatus.RUNNING,
        attempts=services.max_attempts(),
        lease_expires=timezone.now() - timedelta(minutes=1),
    )
    assert services.reap_expired_leases() == []
    audit.refresh_from_db()
    assert audit.status == AuditStatus.ERROR
    assert "worker stopped answering" in audit.error_reason
    # Raised like any failure: the host shows it and one "audit failed" alert goes out ...
    local_host.refresh_from_db()
    assert local_host.last_audit_error == audit.error_reason
    failed = AlertEvent.objects.filter(kind=AlertEvent.Kind.AUDIT_FAILED)
    assert list(failed.values_list("audit_id", flat=True)) == [audit.pk]
    # ... once per streak: the next abandoned audit of the host (through the claim that
    # finds its attempts used up, the other give-up path) raises none.
    second = queued_audit(local_host)
    Audit.objects.filter(pk=second.pk).update(attempts=services.max_attempts())
    assert services.claim(second.pk) is None
    second.refresh_from_db()
    assert second.status == AuditStatus.ERROR and "gave up" in second.error_reason
    local_host.refresh_from_db()
    assert local_host.last_audit_error == second.error_reason
    assert failed.count() == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_reaped_audit_runs_again_and_stores_one_set_of_results(
    machine_policy: None, local_host: Host, queued_audit: Callable[[Host], Audit]
) -> None:
    audit = queued_audit(local_host)
    assert services.claim(audit.pk) is not None  # a worker took it, then died
    _expire(audit)
    services.reap_expired_leases()  # re-queued and, tasks being eager here, run again
    audit.refresh_from_db()
    assert (audit.status, audit.attempts) == (AuditStatus.DONE, 2)
    assert Result.objects.filter(audit=audit).count() == audit.passed + audit.failed + (
        audit.not_applicable
    )
    assert ScoreSample.objects.filter(host=local_host).count() == 1


@pytest.mark.django_db
def test_starting_twice_gives_one_active_audit_per_host(
    local_host: Host, django_capture_on_commit_callbacks: Callable[..., object]
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:  # type: ignore[attr-defined]
        first = services.start_audits([local_host])
        second = services.start_audits([local_host])
    assert [a.pk for a in first] == [a.pk for a in second]
    assert Audit.objects.filter(host=local_host).count() == 1
    assert len(callbacks) == 1  # enqueued once, after the commit


@pytest.mark.django_db
def test_kept_facts_are_the_latest_facts_retention_audits_of_each_host(local_host: Host) -> None:
    """keep() drops a host's facts beyond FACTS_RETENTION (newest kept), other hosts' alone."""
    from django.test import override_settings

    from bulwark.audits import kept_facts
    from workers.engine.facts import Facts, FileFact, FileRequest, PathState

    facts = Facts()
    facts.by_request[FileRequest("/etc/hostname", content=True)] = FileFact(
        PathState.REGULAR, b"bench\n"
    )
    other = Host.objects.create(name="other", address="localhost", transport="local",
                                group=local_host.group)  # fmt: skip
    audits = [Audit.objects.create(host=local_host, status="done") for _ in range(4)]
    elsewhere = Audit.objects.create(host=other, status="done")
    with override_settings(FACTS_RETENTION=2):
        assert kept_facts.keep(elsewhere.pk, other.pk, facts)
        for audit in audits:
            assert kept_facts.keep(audit.pk, local_host.pk, facts)
        kept = set(kept_facts.KeptFacts.objects.values_list("audit_id", flat=True))
    assert kept == {audits[2].pk, audits[3].pk, elsewhere.pk}
