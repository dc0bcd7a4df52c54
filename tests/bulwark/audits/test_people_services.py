"""The state changes people start, each in one service: "audit now" (the one operator check),
a schedule coming due, and acknowledging alerts."""

from __future__ import annotations

from bulwark.audits import services, tasks
from bulwark.audits.models import AlertEvent, Audit, Schedule
from bulwark.inventory.models import Host
from tests.bulwark.world import World


def test_audit_now_starts_only_hosts_the_user_operates(world: World, enqueued: list[int]) -> None:
    both = Host.objects.filter(pk__in=[world.a.local.pk, world.b.local.pk])
    audits, refused = services.audit_now(world.users["a_operator"], both)
    assert [a.host_id for a in audits] == [world.a.local.pk] and refused == 1
    assert enqueued == [audits[0].pk]
    assert not Audit.objects.filter(host=world.b.local, status="queued").exists()


def test_audit_now_refuses_viewers_and_starts_nothing(world: World, enqueued: list[int]) -> None:
    hosts = Host.objects.filter(group=world.a.group)
    audits, refused = services.audit_now(world.users["a_viewer"], hosts)
    assert (audits, refused) == ([], hosts.count())
    assert enqueued == []


def test_audit_now_by_a_superuser_starts_every_host_with_its_options(
    world: World, enqueued: list[int]
) -> None:
    audits, refused = services.audit_now(
        world.users["root"], Host.objects.all(), trigger=Audit.Trigger.API, command_timeout=42
    )
    assert refused == 0 and len(audits) == Host.objects.count() == len(enqueued)
    assert {(a.trigger, a.command_timeout) for a in audits} == {("api", 42.0)}
    assert {a.requested_by for a in audits} == {world.users["root"]}


def test_a_due_schedule_starts_its_host_or_its_group(world: World, enqueued: list[int]) -> None:
    (one,) = services.start_schedule(world.a.host_schedule.pk)
    assert (one.host_id, one.trigger) == (world.a.host.pk, "schedule")
    group = services.start_schedule(world.b.group_schedule.pk)
    assert {a.host_id for a in group} == set(
        Host.objects.filter(group=world.b.group).values_list("pk", flat=True)
    )
    assert tasks.run_schedule(world.b.group_schedule.pk) == 0  # the same period runs once


def test_a_disabled_or_deleted_schedule_starts_nothing(world: World, enqueued: list[int]) -> None:
    Schedule.objects.filter(pk=world.a.group_schedule.pk).update(enabled=False)
    assert services.start_schedule(world.a.group_schedule.pk) == []
    assert services.start_schedule(10**9) == []
    assert enqueued == []


def test_an_alert_is_acknowledged_once_and_keeps_its_first_time(world: World) -> None:
    alerts = AlertEvent.objects.filter(pk=world.a.alert.pk)
    assert services.acknowledge_alerts(alerts) == 1
    first = AlertEvent.objects.get(pk=world.a.alert.pk).acknowledged_at
    assert first is not None
    assert services.acknowledge_alerts(AlertEvent.objects.all()) == AlertEvent.objects.count() - 1
    assert AlertEvent.objects.get(pk=world.a.alert.pk).acknowledged_at == first
