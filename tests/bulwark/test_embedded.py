"""The embedded default (no broker): "audit now" returns at once while the audit runs in the
background pool, and the in-process scheduler fires a due schedule once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from bulwark import embedded
from bulwark.audits import services
from bulwark.audits.models import ACTIVE, Audit, AuditStatus, Schedule
from bulwark.celery_app import app
from bulwark.inventory.models import Group, Host, Membership, Role

# slow: make test-fast leaves it out; transaction: the pool's threads see committed rows only
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def threaded(settings: object) -> Iterator[None]:
    """Switch this test to the product's embedded default: tasks in the background pool."""
    settings.EMBEDDED_TASKS = "thread"  # type: ignore[attr-defined]
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = eager


def wait_for(condition: Callable[[], bool], what: str, limit: float = 120.0) -> None:
    """Poll until condition() holds (not a timing assertion: the limit only ends a hung test)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Audits in the pool wait for this event before running (then run for real)."""
    event = threading.Event()
    real = services.run_audit

    def gated(audit_id: int) -> float | None:
        assert event.wait(120), "the test never opened the gate"
        return real(audit_id)

    monkeypatch.setattr(services, "run_audit", gated)
    return event


def operator_client(group: Group) -> APIClient:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("op", password="pw-op-12345")
    Membership.objects.create(user=user, group=group, role=Role.OPERATOR)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_audit_now_returns_while_the_audit_waits_in_the_pool(
    threaded: None, gate: threading.Event, local_host: Host
) -> None:
    client = operator_client(local_host.group)
    response = client.post(f"/api/hosts/{local_host.pk}/audit/", {}, format="json")
    assert response.status_code in (200, 201, 202), response.content
    audit = Audit.objects.get(host=local_host)
    # The request came back and the audit has not run yet: it waits behind the gate.
    assert audit.status == AuditStatus.QUEUED
    gate.set()
    wait_for(lambda: Audit.objects.get(pk=audit.pk).status not in ACTIVE, "the audit to end")
    # No policies are synced here, so the audit ends as an error that says so: it did run.
    finished = Audit.objects.get(pk=audit.pk)
    assert finished.status == AuditStatus.ERROR
    assert "no enabled policies" in finished.error_reason


def test_a_group_audit_returns_while_its_audits_wait(
    threaded: None, gate: threading.Event, group: Group
) -> None:
    hosts = [
        Host.objects.create(
            name=f"m{i}", address="localhost", transport=Host.TransportKind.LOCAL, group=group
        )
        for i in range(3)
    ]
    client = operator_client(group)
    response = client.post(f"/api/groups/{group.pk}/audit/", {}, format="json")
    assert response.status_code in (200, 201, 202), response.content
    statuses = set(Audit.objects.filter(host__in=hosts).values_list("status", flat=True))
    assert statuses == {AuditStatus.QUEUED}
    gate.set()
    wait_for(
        lambda: not Audit.objects.filter(host__in=hosts, status__in=ACTIVE).exists(),
        "the group's audits to end",
    )
    assert Audit.objects.filter(host__in=hosts).count() == 3


def test_a_schedule_due_in_the_next_minute_fires_once(threaded: None, local_host: Host) -> None:
    schedule = Schedule.objects.create(host=local_host, interval_days=7)
    task = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    # Last run a week ago less 5 seconds: due 5 seconds from now (the scheduler looks at least
    # every 5 s; a later first look fires it at once, still once).
    task.last_run_at = timezone.now() - timedelta(days=7) + timedelta(seconds=5)
    task.save()
    scheduled = Audit.objects.filter(host=local_host, trigger=Audit.Trigger.SCHEDULE)
    assert not scheduled.exists()

    scheduler = embedded.start_scheduler()
    assert scheduler is not None
    try:
        wait_for(scheduled.exists, "the schedule to fire")
        wait_for(lambda: not scheduled.filter(status__in=ACTIVE).exists(), "its audit to end")
        # Beat records the run (CELERY_BEAT_SYNC_EVERY = 1): the next one is a week away.
        wait_for(
            lambda: PeriodicTask.objects.get(pk=task.pk).total_run_count == 1,
            "the run to be recorded",
        )
    finally:
        scheduler.stop()
    assert not scheduler.is_alive()
    assert scheduled.count() == 1
    recorded = PeriodicTask.objects.get(pk=task.pk)
    assert recorded.last_run_at > timezone.now() - timedelta(minutes=5)

    # A restarted scheduler (a new demo) reads the recorded run and does not fire it again.
    again = embedded.start_scheduler()
    assert again is not None
    try:
        entry = again.service.scheduler.schedule[task.name]
        assert not entry.is_due().is_due
        again.service.scheduler.tick()
    finally:
        again.stop()
    assert scheduled.count() == 1


def test_one_process_per_data_folder_runs_the_scheduler(threaded: None, tmp_path: object) -> None:
    first = embedded.Scheduler(app, tmp_path / "scheduler.lock")  # type: ignore[operator]
    second = embedded.Scheduler(app, tmp_path / "scheduler.lock")  # type: ignore[operator]
    assert first.acquire()
    try:
        assert not second.acquire()  # another holder: flock is per open file, as per process
    finally:
        assert first._lock_file is not None
        first._lock_file.close()
    assert second.acquire()
    assert second._lock_file is not None
    second._lock_file.close()
