"""The database is the truth: lost messages are re-driven from the table, a broker that is down
never fails a request, and concurrent re-drives publish once."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone

from bulwark.audits import delivery, services, tasks
from bulwark.audits.models import Audit, AuditStatus
from bulwark.inventory.models import Host


def _age(audit: Audit, seconds: float) -> None:
    Audit.objects.filter(pk=audit.pk).update(
        enqueued_at=timezone.now() - timedelta(seconds=seconds)
    )


@pytest.mark.django_db
def test_a_queued_audit_nobody_claimed_is_re_driven_once(
    settings: Any, local_host: Host, queued_audit: Callable[[Host], Audit]
) -> None:
    settings.AUDIT_REQUEUE_AFTER = 300
    fresh_host = Host.objects.create(
        name="fresh", address="localhost", transport="local", group=local_host.group
    )
    lost, fresh = queued_audit(local_host), queued_audit(fresh_host)
    _age(lost, 301)
    _age(fresh, 100)
    with mock.patch("bulwark.audits.delivery.enqueue_on_commit") as enqueue:
        assert delivery.redrive_queued() == [lost.pk]
        # Stamped anew: the next reap does not publish it again.
        assert delivery.redrive_queued() == []
    enqueue.assert_called_once_with(lost.pk)
    lost.refresh_from_db()
    assert lost.status == AuditStatus.QUEUED
    assert timezone.now() - lost.enqueued_at < timedelta(seconds=60)


@pytest.mark.django_db
def test_two_reapers_with_the_same_view_re_drive_once(
    local_host: Host, queued_audit: Callable[[Host], Audit]
) -> None:
    audit = queued_audit(local_host)
    _age(audit, 10_000)
    seen = Audit.objects.get(pk=audit.pk).enqueued_at
    with mock.patch("bulwark.audits.delivery.enqueue_on_commit") as enqueue:
        assert delivery.redrive(audit.pk, seen)
        assert not delivery.redrive(audit.pk, seen)  # the second lost the compare-and-set
    assert enqueue.call_count == 1


@pytest.mark.django_db
def test_a_retry_waiting_for_its_backoff_is_not_re_driven_early(
    settings: Any, local_host: Host, queued_audit: Callable[[Host], Audit]
) -> None:
    settings.AUDIT_REQUEUE_AFTER, settings.AUDIT_RETRY_BACKOFF = 60, 600
    audit = queued_audit(local_host)
    won = services.claim(audit.pk)
    assert won is not None
    assert services.release_for_retry(won, "connection refused")
    # Due in about ten minutes: its message is not presumed lost before then + 60 s.
    assert delivery.redrive_queued() == []


@pytest.mark.django_db(transaction=True)
def test_audit_now_on_a_host_whose_message_was_lost_runs_the_stuck_audit(
    machine_policy: None, local_host: Host, queued_audit: Callable[[Host], Audit]
) -> None:
    # The operator story: queued, then the broker restarted empty.
    stuck = queued_audit(local_host)
    _age(stuck, 10_000)
    (again,) = services.start_audits([local_host])
    assert again.pk == stuck.pk
    stuck.refresh_from_db()
    assert stuck.status == AuditStatus.DONE, stuck.error_reason  # eager here: it ran


@pytest.mark.django_db(transaction=True)
def test_the_reaper_task_runs_audits_whose_message_was_lost(
    machine_policy: None, local_host: Host, queued_audit: Callable[[Host], Audit]
) -> None:
    stuck = queued_audit(local_host)
    _age(stuck, 10_000)
    assert tasks.reap_expired_leases.delay().get() == 1
    stuck.refresh_from_db()
    assert stuck.status == AuditStatus.DONE, stuck.error_reason


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.django_db(transaction=True)
def test_a_broker_that_is_down_never_fails_the_request_and_the_audit_waits_in_the_table(
    settings: Any, local_host: Host, caplog: pytest.LogCaptureFixture
) -> None:
    from bulwark.celery_app import app

    # A real Redis client aimed at a loopback port nobody listens on.
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(task_always_eager=False, broker_url=url)
    _forget_connections(app)
    try:
        with caplog.at_level(logging.WARNING):
            (audit,) = services.start_audits([local_host])
    finally:
        app.conf.update(saved)
        _forget_connections(app)
    audit.refresh_from_db()
    assert audit.status == AuditStatus.QUEUED
    assert f"audit {audit.pk}: could not publish it" in caplog.text
    assert "re-driven within AUDIT_REQUEUE_AFTER" in caplog.text


def _forget_connections(app: Any) -> None:
    """Drop the app's cached pools, so the next publish uses broker_url. Never close them:
    kombu keeps one pool per URL for the process, and a closed one would stay closed."""
    app._pool = None
    app.amqp._producer_pool = None
