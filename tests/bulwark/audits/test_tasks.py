"""Audits through the Celery tasks, in-process (eager): local end to end, retries, errors,
schedules, and credentials kept out of task arguments and logs."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django_celery_beat.models import PeriodicTask

from bulwark.audits import services, tasks
from bulwark.audits.models import (
    Audit,
    AuditStatus,
    CategorySummary,
    PolicyVerdict,
    Result,
    Schedule,
    ScoreSample,
)
from bulwark.inventory.models import Credential, Group, Host, HostState
from bulwark.policies.models import Policy
from tests.bulwark.conftest import using_postgres

PASSWORD = "pw-NEVER-in-logs-7731"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """Every (args, kwargs) the audit task is sent with."""
    sent: list[tuple[Any, Any]] = []
    original = tasks.audit_host.apply_async

    def spy(args: Any = None, kwargs: Any = None, **options: Any) -> Any:
        sent.append((args, kwargs))
        return original(args, kwargs, **options)

    monkeypatch.setattr(tasks.audit_host, "apply_async", spy)
    return sent


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_local_host_is_audited_end_to_end_with_the_bundled_policies(
    catalogue: None, local_host: Host, published: list[tuple[Any, Any]]
) -> None:
    (audit,) = services.start_audits([local_host])
    audit.refresh_from_db()
    assert audit.status == AuditStatus.DONE, audit.error_reason
    assert published == [((audit.pk,), {})]
    results = Result.objects.filter(audit=audit)
    # Every check of the policies that apply; one verdict, no rows, for those that do not.
    verdicts = PolicyVerdict.objects.filter(audit=audit)
    assert verdicts.count() == Policy.objects.filter(enabled=True).count()
    applicable = verdicts.filter(status="applicable").values_list("policy", flat=True)
    checks = sum(p.check_count for p in Policy.objects.filter(pk__in=applicable))
    assert results.count() == checks == audit.passed + audit.failed + audit.not_applicable
    # This machine is Debian 12: the Debian policy applies, most of its checks pass or fail.
    debian = results.filter(policy_check__policy__requirements__icontains="debian")
    assert debian.exists()
    assert debian.exclude(status="not_applicable").count() > debian.count() // 2
    assert audit.score == round(audit.passed * 100 / (audit.passed + audit.failed), 2)
    assert results.filter(status="failed").exclude(evidence=[]).exists()
    categories = CategorySummary.objects.filter(audit=audit)
    assert sum(c.passed for c in categories) == audit.passed
    assert sum(c.failed for c in categories) == audit.failed
    assert ScoreSample.objects.get(audit=audit).score == audit.score
    local_host.refresh_from_db()
    assert local_host.os_distribution == "debian" and local_host.os_version == "12"
    assert local_host.latest_score == audit.score and local_host.state != HostState.UNKNOWN
    assert audit.latest and audit.host_facts["family"] == "linux"


@pytest.mark.django_db(transaction=True)
def test_a_transient_error_is_retried_three_times_then_recorded(
    settings: Any,
    catalogue: None,
    group: Group,
    make_credential: Callable[..., Credential],
    published: list[tuple[Any, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = Host.objects.create(
        name="down",
        address="127.0.0.1",
        port=_closed_port(),
        group=group,
        credential=make_credential(secret=PASSWORD),
        trust_on_first_use=True,
    )
    # The embedded default runs retries in a timer thread, after their backoff.
    if not using_postgres():
        pytest.skip("SQLite's in-memory test database is not shared between threads")
    settings.AUDIT_RETRY_BACKOFF = 0.3
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG):
        (audit,) = services.start_audits([host])
        deadline = time.monotonic() + 60
        while audit.status != AuditStatus.ERROR and time.monotonic() < deadline:
            time.sleep(0.1)
            audit.refresh_from_db()
    elapsed = time.monotonic() - started
    assert (audit.status, audit.attempts) == (AuditStatus.ERROR, 4)
    assert audit.error_reason == "gave up after 4 attempts: connection refused"
    assert published == [((audit.pk,), {})]  # the first; the retries run in-process
    # Three retries, each after the backoff its log line announced (0.3, 0.6, 1.2 s +-20 %).
    retries = [r.getMessage() for r in caplog.records if ": retry in " in r.getMessage()]
    waits = [float(m.split(" in ")[1].split(" s")[0]) for m in retries]
    assert len(waits) == 3 and waits[0] < waits[1] < waits[2]
    assert elapsed >= sum(waits)  # the waits really happened (never the 40 ms of old)
    assert "Retry in" not in caplog.text  # no Celery retry claims that nobody honours
    assert PASSWORD not in caplog.text and PASSWORD not in repr(published)


@pytest.mark.django_db(transaction=True)
def test_a_permanent_error_is_recorded_at_once_without_retry(
    catalogue: None, group: Group, make_credential: Callable[..., Credential]
) -> None:
    # An SSH host saved (bypassing clean()) with a WinRM credential: refused before any
    # network traffic, a permanent error. Tests never aim at addresses outside this machine.
    mismatched = Host.objects.create(
        name="mismatched",
        address="127.0.0.1",
        port=1,
        transport="ssh",
        group=group,
        credential=make_credential(kind="winrm", username="Administrator"),
    )
    (audit,) = services.start_audits([mismatched])
    audit.refresh_from_db()
    assert (audit.status, audit.attempts) == (AuditStatus.ERROR, 1)
    assert "is not an SSH credential" in audit.error_reason


@pytest.mark.django_db(transaction=True)
def test_without_policies_the_audit_is_an_error_saying_what_to_do(local_host: Host) -> None:
    (audit,) = services.start_audits([local_host])
    audit.refresh_from_db()
    assert audit.status == AuditStatus.ERROR
    assert "sync_rulesets" in audit.error_reason


@pytest.mark.django_db(transaction=True)
def test_a_secret_is_in_no_column_log_or_task_argument(
    catalogue: None,
    group: Group,
    make_credential: Callable[..., Credential],
    published: list[tuple[Any, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    credential = make_credential(
        secret=PASSWORD, sudo_mode="password", sudo_password="sudo-" + PASSWORD
    )
    host = Host.objects.create(
        name="h", address="127.0.0.1", port=_closed_port(), group=group, credential=credential
    )
    with caplog.at_level(logging.DEBUG):
        services.start_audits([host])
    assert published and PASSWORD not in repr(published)
    assert PASSWORD not in caplog.text
    with connection.cursor() as cursor:
        for table in ("audits_audit", "audits_alertevent", "inventory_credential"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            assert PASSWORD not in repr(cursor.fetchall()), table


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_group_schedule_is_a_beat_task_that_audits_every_host_of_the_group(
    machine_policy: None, local_host: Host, group: Group
) -> None:
    schedule = Schedule.objects.create(group=group)
    assert (schedule.interval_days, schedule.command_timeout) == (7, 150.0)
    beat = PeriodicTask.objects.get(pk=schedule.periodic_task_id)
    assert beat.task == "audits.run_schedule" and beat.interval.every == 7
    assert beat.kwargs == f'{{"schedule_id": {schedule.pk}}}'
    assert tasks.run_schedule.delay(**{"schedule_id": schedule.pk}) is not None
    audit = Audit.objects.get(host=local_host)
    assert (audit.status, audit.trigger) == (AuditStatus.DONE, "schedule")
    schedule.enabled = False
    schedule.save()
    assert not PeriodicTask.objects.get(pk=beat.pk).enabled
    schedule.delete()
    assert not PeriodicTask.objects.filter(pk=beat.pk).exists()


@pytest.mark.django_db
def test_a_schedule_is_for_a_host_or_a_group(local_host: Host, group: Group) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        Schedule(host=local_host, group=group).full_clean()
    with pytest.raises(ValidationError):
        Schedule().full_clean()


@pytest.mark.django_db(transaction=True)
def test_a_secret_no_key_decrypts_is_an_error_without_retry(
    settings: Any, catalogue: None, group: Group, make_credential: Callable[..., Credential]
) -> None:
    from cryptography.fernet import Fernet

    host = Host.objects.create(
        name="h",
        address="127.0.0.1",
        port=_closed_port(),
        group=group,
        credential=make_credential(),
    )
    settings.CREDENTIAL_KEYS = [Fernet.generate_key().decode()]  # the old key was dropped
    (audit,) = services.start_audits([host])
    audit.refresh_from_db()
    assert (audit.status, audit.attempts) == (AuditStatus.ERROR, 1)
    assert "does not decrypt with any key of CREDENTIAL_KEYS" in audit.error_reason
