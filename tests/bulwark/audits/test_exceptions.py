"""Exceptions: a failed check becomes `excepted` at once from stored results (no connection),
the score rises while the raw score stays, a history point says why; revoking or expiring
brings the failure back with an alert posted to the webhooks; approval and the trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from bulwark.audits import risk_services, services
from bulwark.audits.models import AlertEvent, Audit, AuditStatus, Result, ScoreSample
from bulwark.audits.risks import ExceptionEvent, RiskException
from bulwark.core.models import SecurityEvent
from bulwark.inventory.models import Host, Membership, Role
from bulwark.reports.models import LatestCheckCount, LatestCheckTotal
from tests.bulwark.audits.test_alerts import webhook  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every transport connection the platform opens, by host name."""
    opened: list[str] = []
    real = services.open_connection

    def counting(host: Host) -> Any:
        opened.append(host.name)
        return real(host)

    monkeypatch.setattr(services, "open_connection", counting)
    return opened


@pytest.fixture
def audited(machine_policy: None, local_host: Host, connections: list[str]) -> Iterator[Audit]:
    audit = Audit.objects.create(host=local_host)
    services.run_audit(audit.pk)
    audit.refresh_from_db()
    assert audit.status == AuditStatus.DONE, audit.error_reason
    assert connections == ["this-machine"]
    yield audit


def _user(name: str, superuser: bool = False) -> Any:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    if superuser:
        return users.create_superuser(name, password="x-pass-Word")
    return users.create_user(name, password="x-pass-Word")


def _exception(result: Result, **fields: Any) -> RiskException:
    check = result.policy_check
    values: dict[str, Any] = {
        "policy_id": check.policy.policy_id,
        "check_id": check.check_id,
        "justification": "the vendor appliance needs it until its upgrade",
        "owner": "ops-team",
        "reference": "SEC-123",
        "expires_at": timezone.localdate() + dt.timedelta(days=90),
    }
    values.update(fields)
    return RiskException(**values)


def test_an_exception_excepts_at_once_without_connecting_and_revoking_alerts(
    settings: Any,
    audited: Audit,
    local_host: Host,
    connections: list[str],
    webhook: tuple[str, list[dict[str, object]]],  # noqa: F811
) -> None:
    url, received = webhook
    settings.WEBHOOK_URLS = [url]
    root = _user("root", superuser=True)
    failed = Result.objects.filter(audit=audited, status="failed").select_related(
        "policy_check__policy"
    )
    target = failed.first()
    assert target is not None, "this machine fails no check: nothing to except"
    before = (audited.score, audited.raw_score, audited.failed, audited.excepted)
    assert before[0] == before[1] and before[3] == 0

    exception = risk_services.create(root, _exception(target, host=local_host))

    assert connections == ["this-machine"]  # re-scored from stored results, no connection
    target.refresh_from_db()
    assert target.status == Result.Status.EXCEPTED and target.exception_id == exception.pk
    audited.refresh_from_db()
    assert audited.excepted == 1 and audited.failed == before[2] - 1
    assert audited.score is not None and before[0] is not None and audited.score > before[0]
    assert audited.raw_score == before[1]
    local_host.refresh_from_db()
    assert (local_host.latest_score, local_host.latest_raw_score) == (
        audited.score,
        audited.raw_score,
    )
    assert local_host.latest_excepted == 1
    point = ScoreSample.objects.filter(audit=audited).exclude(rescored="").get()
    assert point.score == audited.score and "created" in point.rescored
    assert target.policy_check.check_id in point.rescored
    counter = LatestCheckCount.objects.get(policy_check=target.policy_check)
    assert (counter.failed, counter.excepted) == (0, 1)
    total = LatestCheckTotal.objects.get(policy_check=target.policy_check)
    assert (total.failed, total.excepted) == (0, 1)

    assert risk_services.revoke(root, exception, "the appliance is gone")
    assert connections == ["this-machine"]
    target.refresh_from_db()
    assert target.status == Result.Status.FAILED and target.exception_id is None
    audited.refresh_from_db()
    assert (audited.score, audited.raw_score, audited.failed, audited.excepted) == before
    counter.refresh_from_db()
    assert (counter.failed, counter.excepted) == (1, 0)
    total.refresh_from_db()
    assert (total.failed, total.excepted) == (1, 0)
    alert = AlertEvent.objects.get(kind=AlertEvent.Kind.EXCEPTION_EXPIRED)
    assert alert.host_id == local_host.pk and "revoked" in alert.message
    assert [p["id"] for p in received] == [alert.pk]
    actions = list(
        ExceptionEvent.objects.filter(exception=exception).values_list("action", flat=True)
    )
    assert actions == ["created", "revoked"]
    assert ScoreSample.objects.filter(audit=audited).exclude(rescored="").count() == 2
    # The security log keeps each change, who made it and what it covered.
    logged = SecurityEvent.objects.filter(kind__startswith="exception.").order_by("at", "id")
    assert [(e.kind, e.actor) for e in logged] == [
        ("exception.created", root),
        ("exception.revoked", root),
    ]
    assert logged[0].target.startswith(f"{exception.pk} {target.policy_check.policy.policy_id}/")
    assert logged[0].detail == {
        "scope": f"host {local_host}",
        "expires_at": exception.expires_at.isoformat(),
        "reference": "SEC-123",
    }


def test_an_expired_exception_stops_applying_and_alerts(
    audited: Audit, local_host: Host, connections: list[str]
) -> None:
    root = _user("root", superuser=True)
    target = Result.objects.filter(audit=audited, status="failed").first()
    assert target is not None
    exception = risk_services.create(root, _exception(target, group=local_host.group))
    target.refresh_from_db()
    assert target.status == Result.Status.EXCEPTED
    last_day = exception.expires_at
    assert risk_services.expire_due(today=last_day) == []  # still applies on its last day
    assert risk_services.expire_due(today=last_day + dt.timedelta(days=1)) == [exception.pk]
    target.refresh_from_db()
    assert target.status == Result.Status.FAILED
    assert (
        AlertEvent.objects.filter(kind=AlertEvent.Kind.EXCEPTION_EXPIRED, host=local_host).count()
        == 1
    )
    exception.refresh_from_db()
    assert exception.status == RiskException.Status.EXPIRED
    assert connections == ["this-machine"]
    expired = SecurityEvent.objects.get(kind="exception.expired")
    assert expired.actor is None and expired.target.startswith(f"{exception.pk} ")


def test_a_warning_goes_out_once_fourteen_days_before_expiry(
    audited: Audit, local_host: Host
) -> None:
    root = _user("root", superuser=True)
    target = Result.objects.filter(audit=audited, status="failed").first()
    assert target is not None
    exception = risk_services.create(root, _exception(target))  # every host
    assert risk_services.warn_expiring(today=exception.expires_at - dt.timedelta(days=15)) == []
    soon = exception.expires_at - dt.timedelta(days=14)
    assert risk_services.warn_expiring(today=soon) == [exception.pk]
    assert risk_services.warn_expiring(today=soon) == []
    assert AlertEvent.objects.filter(kind=AlertEvent.Kind.EXCEPTION_EXPIRING).count() == 1


def test_a_new_audit_applies_exceptions_in_effect(
    audited: Audit, local_host: Host, connections: list[str]
) -> None:
    root = _user("root", superuser=True)
    target = Result.objects.filter(audit=audited, status="failed").first()
    assert target is not None
    risk_services.create(root, _exception(target, host=local_host))
    again = Audit.objects.create(host=local_host)
    services.run_audit(again.pk)
    again.refresh_from_db()
    fresh = Result.objects.get(audit=again, policy_check=target.policy_check)
    assert fresh.status == Result.Status.EXCEPTED
    assert again.excepted == 1 and again.raw_score is not None and again.score is not None
    assert again.score >= again.raw_score
    sample = ScoreSample.objects.get(audit=again)
    assert (sample.score, sample.excepted, sample.rescored) == (again.score, 1, "")


def test_a_passing_check_is_never_excepted(audited: Audit, local_host: Host) -> None:
    root = _user("root", superuser=True)
    passed = Result.objects.filter(audit=audited, status="passed").first()
    assert passed is not None
    risk_services.create(root, _exception(passed, host=local_host))
    passed.refresh_from_db()
    assert passed.status == Result.Status.PASSED
    audited.refresh_from_db()
    assert audited.excepted == 0


def test_approval_needs_a_second_admin(settings: Any, audited: Audit, local_host: Host) -> None:
    settings.EXCEPTION_APPROVAL = True
    alice, bob, viewer = _user("alice"), _user("bob"), _user("vera")
    for user, role in ((alice, Role.ADMIN), (bob, Role.ADMIN), (viewer, Role.VIEWER)):
        Membership.objects.create(user=user, group=local_host.group, role=role)
    target = Result.objects.filter(audit=audited, status="failed").first()
    assert target is not None
    with pytest.raises(PermissionDenied):
        risk_services.create(viewer, _exception(target, host=local_host))
    exception = risk_services.create(alice, _exception(target, host=local_host))
    assert exception.status == RiskException.Status.PENDING
    target.refresh_from_db()
    assert target.status == Result.Status.FAILED  # not in effect before approval
    with pytest.raises(PermissionDenied):
        risk_services.approve(alice, exception)
    with pytest.raises(PermissionDenied):
        risk_services.approve(viewer, exception)
    assert risk_services.approve(bob, exception)
    target.refresh_from_db()
    assert target.status == Result.Status.EXCEPTED
    assert not risk_services.approve(bob, exception)  # already active
    approved = SecurityEvent.objects.get(kind="exception.approved")
    assert approved.actor == bob
    assert SecurityEvent.objects.get(kind="exception.created").actor == alice


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"justification": " "}, "justification"),
        ({"owner": ""}, "owner"),
        ({"check_id": "no-such-check"}, "check_id"),
        ({"expires_at": dt.date(2000, 1, 1)}, "expires_at"),
        ({"expires_at": timezone.localdate() + dt.timedelta(days=400)}, "expires_at"),
    ],
)
def test_bad_exceptions_are_refused_naming_the_field(
    audited: Audit, local_host: Host, fields: dict[str, Any], field: str
) -> None:
    root = _user("root", superuser=True)
    target = Result.objects.filter(audit=audited).first()
    assert target is not None
    with pytest.raises(ValidationError) as refused:
        risk_services.create(root, _exception(target, host=local_host, **fields))
    assert field in refused.value.message_dict
    assert not RiskException.objects.exists()
