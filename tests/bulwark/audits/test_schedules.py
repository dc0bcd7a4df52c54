"""A schedule starts its audits once per period, however many times beat sends it (two beats,
a beat restarted around the due time), and a period missed while everything was down runs once."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule

from bulwark.audits import schedules
from bulwark.audits.models import Audit, Schedule, ScheduleRun
from bulwark.inventory.models import Group, Host
from tests.bulwark.conftest import using_postgres


def _finish_all() -> None:
    # Tasks are eager here; this keeps "one active audit per host" out of the count.
    Audit.objects.update(status="done")


def _age_runs(schedule: Schedule, by: timedelta) -> None:
    ScheduleRun.objects.filter(schedule=schedule).update(created_at=timezone.now() - by)


@pytest.mark.django_db
def test_a_second_firing_in_the_same_period_starts_nothing(
    local_host: Host, group: Group, django_capture_on_commit_callbacks: Any
) -> None:
    schedule = Schedule.objects.create(group=group, interval_days=1)
    with django_capture_on_commit_callbacks():
        first = schedules.fire(schedule.pk)
        _finish_all()
        second = schedules.fire(schedule.pk)  # another beat, or a restarted one
    assert first is not None and len(first) == 1
    assert second is None
    assert list(ScheduleRun.objects.values_list("period", "audits")) == [(1, 1)]
    assert Audit.objects.count() == 1


@pytest.mark.django_db
def test_the_next_period_runs_and_a_long_outage_runs_once(
    local_host: Host, group: Group, django_capture_on_commit_callbacks: Any
) -> None:
    schedule = Schedule.objects.create(group=group, interval_days=1)
    with django_capture_on_commit_callbacks():
        schedules.fire(schedule.pk)
        _finish_all()
        _age_runs(schedule, timedelta(hours=13))  # past half the interval: the next period
        assert schedules.fire(schedule.pk) is not None
        _finish_all()
        _age_runs(schedule, timedelta(days=9))  # everything was down for nine periods
        assert schedules.fire(schedule.pk) is not None  # beat sends it once: it runs once
        _finish_all()
        assert schedules.fire(schedule.pk) is None
    assert list(ScheduleRun.objects.order_by("period").values_list("period", flat=True)) == [
        1,
        2,
        3,
    ]
    assert Audit.objects.count() == 3


@pytest.mark.django_db
def test_the_period_follows_the_beat_task_s_own_interval(group: Group) -> None:
    schedule = Schedule.objects.create(group=group, interval_days=7)
    assert schedules.interval_of(schedule) == timedelta(days=7)
    seconds, _ = IntervalSchedule.objects.get_or_create(every=30, period=IntervalSchedule.SECONDS)
    schedule.periodic_task.interval = seconds
    schedule.periodic_task.save()
    assert schedules.interval_of(Schedule.objects.get(pk=schedule.pk)) == timedelta(seconds=30)


@pytest.mark.django_db(transaction=True)
def test_two_beats_firing_at_the_same_instant_start_one_run(
    settings: Any, local_host: Host, group: Group
) -> None:
    if not using_postgres():
        pytest.skip("SQLite's in-memory test database is not shared between threads")
    settings.CELERY_TASK_ALWAYS_EAGER = False  # count the runs, not the audits' execution
    from unittest import mock

    schedule = Schedule.objects.create(group=group, interval_days=1)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []
    original = ScheduleRun.objects.create

    def racing_create(**fields: Any) -> ScheduleRun:
        barrier.wait(10)  # both have read "no run yet" before either inserts
        return original(**fields)

    def fire() -> None:
        try:
            outcomes.append(schedules.fire(schedule.pk))
        finally:
            connection.close()

    with (
        mock.patch.object(ScheduleRun.objects, "create", side_effect=racing_create),
        mock.patch("bulwark.audits.delivery.enqueue"),
    ):
        threads = [threading.Thread(target=fire) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    assert sorted(outcome is None for outcome in outcomes) == [False, True]
    assert ScheduleRun.objects.filter(schedule=schedule).count() == 1
    assert Audit.objects.filter(host=local_host).count() == 1
