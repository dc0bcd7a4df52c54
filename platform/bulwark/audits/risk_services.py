"""Exception state changes: create, approve, revoke, expire, warn. Each is a compare-and-set,
writes its trail event, and re-scores the hosts it covers at once (from stored results).

pending -> active (approve) | revoked;  active -> revoked | expired.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from bulwark.audits import alerts
from bulwark.audits.models import AlertEvent, Result
from bulwark.audits.rescoring import AuditChange, rescore
from bulwark.audits.risks import ExceptionEvent, RiskException
from bulwark.core import seclog
from bulwark.inventory.access import can, is_unrestricted
from bulwark.inventory.models import Host, Role

log = logging.getLogger(__name__)
WARN_DAYS = 14
Status = RiskException.Status


def may_request(user: Any, exception: RiskException) -> bool:
    """Operators and admins of the group request exceptions for it; fleet-wide: superusers."""
    group_id = _group_id(exception)
    if group_id is None:
        return is_unrestricted(user)
    return can(user, group_id, Role.OPERATOR)


def may_decide(user: Any, exception: RiskException) -> bool:
    """Approving or revoking needs the admin role in the exception's group (fleet-wide:
    superusers); revoking is also allowed to whoever requested it."""
    group_id = _group_id(exception)
    if group_id is None:
        return is_unrestricted(user)
    return can(user, group_id, Role.ADMIN)


def _group_id(exception: RiskException) -> int | None:
    if exception.host_id is not None:
        return int(Host.objects.values_list("group_id", flat=True).get(pk=exception.host_id))
    return exception.group_id


def create(user: Any, exception: RiskException, *, note: str = "") -> RiskException:
    """Validate and save a new exception; active at once unless EXCEPTION_APPROVAL is on."""
    if not may_request(user, exception):
        raise PermissionDenied("requesting an exception needs the operator or admin role")
    exception.full_clean()
    exception.status = Status.PENDING if settings.EXCEPTION_APPROVAL else Status.ACTIVE
    exception.created_by = user if getattr(user, "pk", None) else None
    with transaction.atomic():
        exception.save()
        _event(exception, ExceptionEvent.Action.CREATED, user, note)
        if exception.status == Status.ACTIVE:
            _rescore(exception, f"exception {exception.pk} created")
    return exception


def approve(user: Any, exception: RiskException) -> bool:
    """pending -> active by a group admin other than the requester; False when not pending."""
    if not may_decide(user, exception):
        raise PermissionDenied("approving needs the admin role in the exception's group")
    if exception.created_by_id is not None and exception.created_by_id == getattr(user, "pk", None):
        raise PermissionDenied("an exception is approved by someone other than its requester")
    with transaction.atomic():
        won = RiskException.objects.filter(pk=exception.pk, status=Status.PENDING).update(
            status=Status.ACTIVE, approved_by=user, approved_at=timezone.now()
        )
        if won != 1:
            return False
        _event(exception, ExceptionEvent.Action.APPROVED, user)
        _rescore(exception, f"exception {exception.pk} approved")
    exception.refresh_from_db()
    return True


def revoke(user: Any, exception: RiskException, note: str = "") -> bool:
    """pending or active -> revoked; its results count as failed again at once."""
    own = exception.created_by_id is not None and exception.created_by_id == getattr(
        user, "pk", None
    )
    if not (may_decide(user, exception) or (own and may_request(user, exception))):
        raise PermissionDenied("revoking needs the admin role or to be the requester")
    with transaction.atomic():
        won = RiskException.objects.filter(
            pk=exception.pk, status__in=[Status.PENDING, Status.ACTIVE]
        ).update(status=Status.REVOKED, revoked_by=user, revoked_at=timezone.now())
        if won != 1:
            return False
        _event(exception, ExceptionEvent.Action.REVOKED, user, note)
        changes = _rescore(exception, f"exception {exception.pk} revoked")
        _alert_back_to_failed(exception, changes, AlertEvent.Kind.EXCEPTION_EXPIRED, "revoked")
    exception.refresh_from_db()
    return True


def expire_due(today: dt.date | None = None) -> list[int]:
    """Active exceptions past their last day -> expired, re-scored, alerted. Returns ids."""
    today = today or timezone.localdate()
    expired = []
    for exception in RiskException.objects.filter(status=Status.ACTIVE, expires_at__lt=today):
        with transaction.atomic():
            won = RiskException.objects.filter(
                pk=exception.pk, status=Status.ACTIVE, expires_at__lt=today
            ).update(status=Status.EXPIRED)
            if won != 1:
                continue
            _event(exception, ExceptionEvent.Action.EXPIRED, None)
            changes = _rescore(exception, f"exception {exception.pk} expired")
            _alert_back_to_failed(exception, changes, AlertEvent.Kind.EXCEPTION_EXPIRED, "expired")
        expired.append(exception.pk)
    return expired


def warn_expiring(today: dt.date | None = None) -> list[int]:
    """Once per exception, WARN_DAYS before its last day: an alert on each host it covers."""
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=WARN_DAYS)
    warned = []
    due = RiskException.objects.filter(
        status=Status.ACTIVE, expires_at__lte=horizon, warned_at__isnull=True
    )
    for exception in due:
        with transaction.atomic():
            won = RiskException.objects.filter(pk=exception.pk, warned_at__isnull=True).update(
                warned_at=timezone.now()
            )
            if won != 1:
                continue
            _event(exception, ExceptionEvent.Action.WARNED, None)
            host_ids = Result.objects.filter(exception=exception, audit__latest=True).values_list(
                "audit__host_id", flat=True
            )
            what = f"expires on {exception.expires_at.isoformat()}"
            kind = AlertEvent.Kind.EXCEPTION_EXPIRING
            made = AlertEvent.objects.bulk_create(
                [
                    _alert(h, exception, kind, what)
                    for h in Host.objects.filter(pk__in=set(host_ids))
                ]
            )
            for alert in made:
                alerts.notify(alert)
        warned.append(exception.pk)
    return warned


def affected_host_ids(exception: RiskException) -> list[int] | None:
    """The hosts an exception covers (None: every host)."""
    if exception.host_id is not None:
        return [exception.host_id]
    if exception.group_id is not None:
        return list(Host.objects.filter(group_id=exception.group_id).values_list("pk", flat=True))
    return None


def _rescore(exception: RiskException, reason: str) -> list[AuditChange]:
    check = f"{exception.policy_id}/{exception.check_id}"
    return rescore(affected_host_ids(exception), f"{reason}: {check}")


def _event(exception: RiskException, action: str, user: Any, note: str = "") -> None:
    ExceptionEvent.objects.create(
        exception_id=exception.pk,
        action=action,
        user=user if getattr(user, "pk", None) else None,
        note=note,
    )
    if action != ExceptionEvent.Action.WARNED:
        # Accepting a risk changes what the fleet reports: the security log keeps it too.
        seclog.record(
            f"exception.{action}",
            f"{exception.pk} {exception.policy_id}/{exception.check_id}",
            detail={
                "scope": exception.scope_label,
                "expires_at": exception.expires_at.isoformat(),
                "reference": exception.reference,
            },
            user=user if getattr(user, "pk", None) else None,
        )


def _alert_back_to_failed(
    exception: RiskException, changes: list[AuditChange], kind: str, how: str
) -> None:
    """One alert per host whose latest audit has a check failing again (one INSERT for all:
    a fleet-wide exception can touch every host)."""
    host_ids = {c.host_id for c in changes if c.excepted < 0}
    hosts = Host.objects.filter(pk__in=host_ids).only("name", "state")
    made = AlertEvent.objects.bulk_create(
        [
            _alert(host, exception, kind, f"{how}: the check counts as failed again")
            for host in hosts
        ],
        batch_size=1000,
    )
    for alert in made:
        alerts.notify(alert)


def _alert(host: Host, exception: RiskException, kind: str, what: str) -> AlertEvent:
    return AlertEvent(
        host=host,
        kind=kind,
        severity=AlertEvent.Severity.WARNING,
        state=host.state,
        previous_state=host.state,
        message=(
            f"{host.name}: exception {exception.pk} for {exception.policy_id}/"
            f"{exception.check_id} ({exception.reference or 'no reference'}) {what}"
        ),
        details={
            "exception": exception.pk,
            "policy_id": exception.policy_id,
            "check_id": exception.check_id,
            "expires_at": exception.expires_at.isoformat(),
            "owner": exception.owner,
        },
    )


def validation_messages(error: ValidationError) -> dict[str, list[str]]:
    return error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
