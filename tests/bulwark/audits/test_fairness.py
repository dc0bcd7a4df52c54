"""Fair and gentle scheduling: a schedule's hosts spread deterministically over its window, a
group's `max_parallel` bounds the claims of its audits, a host audited a moment ago is not
audited again."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from bulwark.audits import delivery, fairness, services, tasks
from bulwark.audits.models import Audit, AuditStatus, Schedule
from bulwark.inventory.models import Group, Host
from tests.bulwark.audits.outcomes import audit_with, make_outcome
from tests.bulwark.conftest import using_postgres
from tests.bulwark.world import tiny_catalogue


def _hosts(group: Group, count: int) -> list[Host]:
    return [
        Host.objects.create(name=f"h{n}", address="localhost", transport="local", group=group)
        for n in range(count)
    ]


def test_spread_offsets_are_per_host_the_same_every_time_and_inside_the_window() -> None:
    offsets = [fairness.spread_offset(7, host, 30) for host in range(1000)]
    assert offsets == [fairness.spread_offset(7, host, 30) for host in range(1000)]
    assert min(offsets) >= 0 and max(offsets) < 30 * 60
    # Spread, not bunched: every tenth of the window gets a share of the hosts.
    tenths = {offset * 10 // (30 * 60) for offset in offsets}
    assert tenths == set(range(10))
    assert fairness.spread_offset(7, 1, 0) == 0
    assert [fairness.spread_offset(8, h, 30) for h in range(50)] != offsets[:50]


@pytest.mark.django_db
def test_a_spread_schedule_enqueues_each_host_with_its_own_countdown(
    monkeypatch: pytest.MonkeyPatch, group: Group, django_capture_on_commit_callbacks: Any
) -> None:
    _hosts(group, 5)
    sent: dict[int, int] = {}
    monkeypatch.setattr(
        delivery, "enqueue", lambda audit_id, countdown=None: sent.update({audit_id: countdown})
    )
    schedule = Schedule.objects.create(group=group, spread_minutes=20)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.run_schedule(schedule.pk) == 5
    audits = Audit.objects.filter(host__group=group, trigger=Audit.Trigger.SCHEDULE)
    assert sent == {a.pk: fairness.spread_offset(schedule.pk, a.host_id, 20) for a in audits}
    assert len(set(sent.values())) > 1  # not all at once


@pytest.mark.django_db
def test_a_spread_longer_than_the_broker_holds_a_task_is_refused(group: Group) -> None:
    schedule = Schedule(group=group, spread_minutes=fairness.max_spread_minutes() + 1)
    with pytest.raises(ValidationError) as caught:
        schedule.full_clean()
    assert "CELERY_VISIBILITY_TIMEOUT" in caught.value.message_dict["spread_minutes"][0]
    Schedule(group=group, spread_minutes=fairness.max_spread_minutes()).full_clean()


@pytest.mark.django_db
def test_audit_now_after_a_fresh_audit_returns_it_instead_of_a_new_one(
    settings: Any, group: Group
) -> None:
    tiny_catalogue()
    settings.AUDIT_MIN_INTERVAL_SECONDS = 300
    (host,) = _hosts(group, 1)
    done = audit_with(host, make_outcome())
    for _ in range(10):
        assert services.start_audits([host]) == [done]
    assert Audit.objects.filter(host=host).count() == 1
    # Older than the interval: a new audit.
    Audit.objects.filter(pk=done.pk).update(finished_at=timezone.now() - timedelta(seconds=301))
    (fresh,) = services.start_audits([host])
    assert fresh.pk != done.pk


@pytest.mark.django_db
def test_after_an_error_audit_now_runs_again(settings: Any, group: Group) -> None:
    settings.AUDIT_MIN_INTERVAL_SECONDS = 300
    (host,) = _hosts(group, 1)
    failed = Audit.objects.create(
        host=host, status=AuditStatus.ERROR, finished_at=timezone.now(), error_reason="refused"
    )
    (again,) = services.start_audits([host])
    assert again.pk != failed.pk


@pytest.mark.django_db
def test_a_full_group_s_audit_is_not_claimed_until_a_slot_frees(
    settings: Any, group: Group
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    group.max_parallel = 2
    group.save()
    other = Group.objects.create(name="other", max_parallel=1)
    a, b, c = (Audit.objects.create(host=h) for h in _hosts(group, 3))
    outsider = Host.objects.create(name="o", address="localhost", transport="local", group=other)
    elsewhere = Audit.objects.create(host=outsider)
    assert services.claim(a.pk) and services.claim(b.pk)
    with pytest.raises(fairness.GroupFull) as full:
        services.claim(c.pk)
    assert 5 <= full.value.retry_in <= 15
    assert Audit.objects.get(pk=c.pk).status == AuditStatus.QUEUED  # untouched, no attempt used
    assert Audit.objects.get(pk=c.pk).attempts == 0
    assert services.claim(elsewhere.pk)  # another group's limit is its own
    # A running audit whose lease expired (its worker died) does not hold a slot.
    Audit.objects.filter(pk=a.pk).update(lease_expires=timezone.now() - timedelta(seconds=1))
    assert services.claim(c.pk)


@pytest.mark.django_db
def test_a_group_without_a_limit_claims_everything(settings: Any, group: Group) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    audits = [Audit.objects.create(host=h) for h in _hosts(group, 5)]
    assert all(services.claim(audit.pk) for audit in audits)


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_on_postgres_never_exceed_max_parallel(settings: Any) -> None:
    if not using_postgres():
        reason = "SQLite's in-memory test database is not shared between threads"
        if os.environ.get("CI") == "true":  # CI runs the suite on PostgreSQL (.ci/run)
            pytest.fail(f"{reason}: CI must set DATABASE_URL to PostgreSQL", pytrace=False)
        pytest.skip(reason)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    group = Group.objects.create(name="busy", max_parallel=3)
    audits = [Audit.objects.create(host=h) for h in _hosts(group, 8)]
    barrier = threading.Barrier(len(audits))
    outcomes: list[str] = []

    def contend(audit_id: int) -> None:
        barrier.wait()
        try:
            outcomes.append("won" if services.claim(audit_id) else "lost")
        except fairness.GroupFull:
            outcomes.append("full")
        finally:
            connection.close()

    threads = [threading.Thread(target=contend, args=(a.pk,)) for a in audits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["full"] * 5 + ["won"] * 3
    assert Audit.objects.filter(status=AuditStatus.RUNNING).count() == 3
