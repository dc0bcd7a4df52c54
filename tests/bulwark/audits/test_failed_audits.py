"""Failed audits are visible: the host shows the error and its time (page and list), one
alert per streak of failures, and /metrics counts hosts whose last audit failed."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from bulwark.audits import services
from bulwark.audits.models import AlertEvent, Audit
from bulwark.inventory.models import Host
from tests.bulwark.audits.outcomes import audit_with, make_outcome

pytestmark = pytest.mark.django_db


def _fail(host: Host, reason: str) -> Audit:
    audit = Audit.objects.create(host=host)
    claim = services.claim(audit.pk)
    assert claim is not None
    assert services.fail(claim, reason)
    audit.refresh_from_db()
    return audit


def _failed_alerts() -> int:
    return AlertEvent.objects.filter(kind=AlertEvent.Kind.AUDIT_FAILED).count()


def test_one_alert_per_streak_and_the_host_shows_the_error(
    catalogue: None, local_host: Host, settings: Any
) -> None:
    settings.METRICS_TOKEN = "metrics-token-for-tests"
    first = _fail(local_host, "connection refused by 10.77.0.9:22")
    _fail(local_host, "connection refused again")
    assert _failed_alerts() == 1
    local_host.refresh_from_db()
    assert local_host.last_audit_error == "connection refused again"
    assert local_host.last_audit_error_at is not None
    alert = AlertEvent.objects.get(kind=AlertEvent.Kind.AUDIT_FAILED)
    assert alert.audit_id == first.pk and "connection refused" in alert.message

    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", password="x-Pass-1")
    client = Client()
    client.force_login(root)
    page = client.get(f"/hosts/{local_host.pk}/").content.decode()
    assert "Last audit failed at" in page and "connection refused again" in page
    listing = client.get("/hosts/?all=on").content.decode()
    assert "audit-error" in listing and "never" not in listing.split("this-machine")[1][:400]
    metrics = client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-for-tests")
    assert 'bulwark_group_hosts_last_audit_failed{group="servers"} 1.0' in metrics.content.decode()

    audit_with(local_host, make_outcome())  # a success ends the streak
    local_host.refresh_from_db()
    assert local_host.last_audit_error == "" and local_host.last_audit_error_at is None
    metrics = client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-token-for-tests")
    assert "bulwark_group_hosts_last_audit_failed{" not in metrics.content.decode()
    _fail(local_host, "host key changed")
    assert _failed_alerts() == 2


def test_a_retry_is_not_a_failure(catalogue: None, local_host: Host) -> None:
    audit = Audit.objects.create(host=local_host)
    claim = services.claim(audit.pk)
    assert claim is not None
    assert services.release_for_retry(claim, "timed out") is not None
    assert _failed_alerts() == 0
    local_host.refresh_from_db()
    assert local_host.last_audit_error == ""
