"""Thresholds, host state and alert events; webhooks get each alert after its commit, and
the receivers of `alert_raised` (the web app's e-mails) are told of it.

One alert per change: a host entering a worse state, checks flipping from passed to failed
(one event per audit, listing them), a host key that changed (once per presented key).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.dispatch import Signal
from django.utils.translation import gettext as _

from bulwark.audits import reasons
from bulwark.audits.models import AlertEvent, Audit, Result
from bulwark.inventory.models import Host, HostState

log = logging.getLogger(__name__)

# Sent (after the commit) with `alert_id` for every alert raised; the web app e-mails it.
alert_raised = Signal()

_RANK = {HostState.UNKNOWN: 0, HostState.OK: 0, HostState.WARNING: 1, HostState.CRITICAL: 2}


def state_for(score: float | None, warning_below: float, critical_below: float) -> HostState:
    """The state a score puts a host in: below critical, below warning, else ok."""
    if score is None:
        return HostState.UNKNOWN
    if score < critical_below:
        return HostState.CRITICAL
    if score < warning_below:
        return HostState.WARNING
    return HostState.OK


def regressed_checks(previous_audit_id: int | None, failed_check_pks: Sequence[int]) -> list[str]:
    """Check ids that passed in the previous audit and failed now."""
    if previous_audit_id is None or not failed_check_pks:
        return []
    rows = Result.objects.filter(
        audit_id=previous_audit_id,
        status=Result.Status.PASSED,
        policy_check_id__in=failed_check_pks,
    ).values_list("policy_check__check_id", flat=True)
    return sorted(rows)


def after_audit(
    audit: Audit, host: Host, previous: HostState, state: HostState, regressed: list[str]
) -> AlertEvent | None:
    """At most one alert for this audit: a worse state and/or regressed checks."""
    worse = _RANK[state] > _RANK[previous]
    if not worse and not regressed:
        return None
    parts = []
    if worse:
        parts.append(f"score {audit.score:g} is now {state.label} (was {previous.label})")
    if regressed:
        shown = ", ".join(regressed[:10]) + (" ..." if len(regressed) > 10 else "")
        parts.append(f"{len(regressed)} check(s) went from passed to failed: {shown}")
    alert = AlertEvent.objects.create(
        host=host,
        audit=audit,
        kind=AlertEvent.Kind.STATE if worse else AlertEvent.Kind.REGRESSION,
        severity=(
            AlertEvent.Severity.CRITICAL
            if state == HostState.CRITICAL
            else AlertEvent.Severity.WARNING
        ),
        previous_state=previous,
        state=state,
        message=f"{host.name}: " + "; ".join(parts),
        details={"score": audit.score, "regressed_checks": regressed},
    )
    _notify(alert)
    return alert


def host_key_changed(host: Host, audit: Audit | None, message: str, seen: str) -> AlertEvent | None:
    """An alert for a changed host key, unless this same key was already reported."""
    key = f"host_key:{seen}"[:200]
    if AlertEvent.objects.filter(host=host, kind=AlertEvent.Kind.HOST_KEY, dedupe_key=key).exists():
        return None
    alert = AlertEvent.objects.create(
        host=host,
        audit=audit,
        kind=AlertEvent.Kind.HOST_KEY,
        severity=AlertEvent.Severity.CRITICAL,
        state=host.state,
        previous_state=host.state,
        message=f"{host.name}: {message}",
        details={"seen": seen},
        dedupe_key=key,
    )
    _notify(alert)
    return alert


def notify(alert: AlertEvent) -> None:
    """Post the alert to the webhooks after the commit (for alerts raised elsewhere)."""
    _notify(alert)


def audit_failed(audit_id: int, *, alert: bool = True) -> AlertEvent | None:
    """The audit ended in error: the host shows it, and one alert goes out per streak of
    failures (none while the previous finished audit of the host had failed too)."""
    from django.utils import timezone

    audit = Audit.objects.select_related("host").get(pk=audit_id)
    host = audit.host
    when = audit.finished_at or timezone.now()
    Host.objects.filter(pk=host.pk).update(
        last_audit_error=audit.error_reason, last_audit_error_at=when
    )
    previous = (
        Audit.objects.filter(host=host, status__in=["done", "error"], finished_at__isnull=False)
        .exclude(pk=audit.pk)
        .order_by("-finished_at", "-pk")
        .values_list("status", flat=True)
        .first()
    )
    if previous == "error" or not alert:
        return None
    event = AlertEvent.objects.create(
        host=host,
        audit=audit,
        kind=AlertEvent.Kind.AUDIT_FAILED,
        severity=AlertEvent.Severity.WARNING,
        state=host.state,
        previous_state=host.state,
        message=f"{host.name}: audit {audit.pk} failed: {audit.error_reason[:300]}",
        details={"error": audit.error_reason[:1000]},
    )
    _notify(event)
    return event


def _notify(alert: AlertEvent) -> None:
    alert_id = alert.pk
    transaction.on_commit(lambda: alert_raised.send(AlertEvent, alert_id=alert_id))
    if settings.WEBHOOK_URLS:
        from bulwark.audits.tasks import post_alert

        # After the commit, as its own task: a slow or failing webhook never holds the audit.
        transaction.on_commit(lambda: post_alert.delay(alert.pk))


def describe(alert: AlertEvent) -> str:
    """The alert in the active language, rebuilt from its kind and details (the stored
    `message` is the English text webhooks and the API carry)."""
    host, details = alert.host.name, alert.details or {}
    if alert.kind in (AlertEvent.Kind.STATE, AlertEvent.Kind.REGRESSION):
        parts = []
        if alert.kind == AlertEvent.Kind.STATE and details.get("score") is not None:
            parts.append(
                _("score %(score)s is now %(state)s (was %(previous)s)")
                % {
                    "score": f"{details['score']:g}",
                    "state": alert.get_state_display(),
                    "previous": alert.get_previous_state_display(),
                }
            )
        regressed = details.get("regressed_checks") or []
        if regressed:
            shown = ", ".join(regressed[:10]) + (" ..." if len(regressed) > 10 else "")
            parts.append(
                _("%(count)s check(s) went from passed to failed: %(checks)s")
                % {"count": len(regressed), "checks": shown}
            )
        if parts:
            return f"{host}: " + "; ".join(parts)
    elif alert.kind == AlertEvent.Kind.HOST_KEY:
        return _("%(host)s: the host key changed (now %(seen)s)") % {
            "host": host,
            "seen": details.get("seen", "?"),
        }
    elif alert.kind == AlertEvent.Kind.AUDIT_FAILED:
        return _("%(host)s: audit %(audit)s failed: %(error)s") % {
            "host": host,
            "audit": alert.audit_id,
            "error": reasons.translated(str(details.get("error", "")))[:300],
        }
    elif alert.kind in (AlertEvent.Kind.EXCEPTION_EXPIRED, AlertEvent.Kind.EXCEPTION_EXPIRING):
        values = {
            "host": host,
            "exception": details.get("exception"),
            "check": f"{details.get('policy_id')}/{details.get('check_id')}",
            "day": details.get("expires_at", "?"),
        }
        if alert.kind == AlertEvent.Kind.EXCEPTION_EXPIRING:
            return _("%(host)s: exception %(exception)s for %(check)s expires on %(day)s") % values
        return (
            _("%(host)s: exception %(exception)s for %(check)s ended: the check counts as failed")
            % values
        )
    return alert.message


def payload(alert: AlertEvent) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "kind": alert.kind,
        "severity": alert.severity,
        "host": {"id": alert.host_id, "name": alert.host.name, "address": alert.host.address},
        "audit": alert.audit_id,
        "state": alert.state,
        "previous_state": alert.previous_state,
        "message": alert.message,
        "details": alert.details,
        "created_at": alert.created_at.isoformat(),
    }


def post_webhooks(alert: AlertEvent, urls: Sequence[str] | None = None) -> int:
    """POST the alert as JSON to every webhook; returns how many accepted it. Errors are
    logged (with the URL's host only: webhook URLs often embed a token) and swallowed."""
    body = json.dumps(payload(alert)).encode()
    delivered = 0
    for url in settings.WEBHOOK_URLS if urls is None else urls:
        parts = urlsplit(url)
        where = f"{parts.scheme}://{parts.hostname}"
        if parts.scheme not in ("http", "https"):
            log.warning("webhook %s skipped: only http and https are supported", where)
            continue
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.WEBHOOK_TIMEOUT):  # noqa: S310
                delivered += 1
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or getattr(exc, "code", None) or type(exc)
            log.warning("alert %s: webhook %s failed: %s", alert.pk, where, reason)
    return delivered
