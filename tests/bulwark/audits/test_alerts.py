"""Thresholds, host state, one alert per change, and webhooks after the commit."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import pytest

from bulwark.audits import alerts
from bulwark.audits.models import AlertEvent, AuditStatus, ScoreSample
from bulwark.inventory.models import Host, HostState
from tests.bulwark.audits.outcomes import audit_with, check_ids, make_outcome
from tests.serving import serve_in_thread


@pytest.mark.parametrize(
    ("score", "state"),
    [
        (None, HostState.UNKNOWN),
        (100.0, HostState.OK),
        (80.0, HostState.OK),
        (79.99, HostState.WARNING),
        (50.0, HostState.WARNING),
        (49.9, HostState.CRITICAL),
        (0.0, HostState.CRITICAL),
    ],
)
def test_the_score_against_the_thresholds_gives_the_state(
    score: float | None, state: HostState
) -> None:
    assert alerts.state_for(score, 80.0, 50.0) is state


@pytest.mark.django_db
def test_each_audit_stores_the_four_values_with_their_time(
    catalogue: None, local_host: Host
) -> None:
    ids = check_ids()
    audit = audit_with(local_host, make_outcome(failed=ids[:2], not_applicable=ids[2:4]))
    sample = ScoreSample.objects.get(audit=audit)
    assert (sample.failed, sample.not_applicable, sample.passed) == (2, 2, len(ids) - 4)
    assert sample.score == audit.score == round((len(ids) - 4) * 100 / (len(ids) - 2), 2)
    assert sample.time == audit.finished_at
    local_host.refresh_from_db()
    assert (local_host.latest_failed, local_host.latest_passed) == (2, len(ids) - 4)
    assert local_host.latest_score == audit.score
    assert local_host.os_name == "Debian GNU/Linux 12"


@pytest.mark.django_db
def test_one_alert_per_worse_state_not_one_per_audit(catalogue: None, local_host: Host) -> None:
    ids = check_ids()
    warn, crit = len(ids) * 3 // 10, len(ids) * 6 // 10  # ~70 % (warning), ~40 % (critical)
    audit_with(local_host, make_outcome())
    assert not AlertEvent.objects.exists()  # unknown -> ok is no alert
    audit_with(local_host, make_outcome(failed=ids[:warn]))
    audit_with(local_host, make_outcome(failed=ids[:warn]))  # still warning: no second alert
    local_host.refresh_from_db()
    assert local_host.state == HostState.WARNING
    (warning,) = AlertEvent.objects.all()
    assert (warning.kind, warning.severity) == (AlertEvent.Kind.STATE, "warning")
    assert (warning.previous_state, warning.state) == ("ok", "warning")
    assert warning.details["regressed_checks"] == sorted(ids[:warn])
    audit_with(local_host, make_outcome(failed=ids[:crit]))
    audit_with(local_host, make_outcome(failed=ids[:crit]))
    assert AlertEvent.objects.filter(severity="critical", kind="state").count() == 1
    audit_with(local_host, make_outcome(failed=ids[:warn]))  # better: no alert
    assert AlertEvent.objects.count() == 2


@pytest.mark.django_db
def test_a_check_flipping_to_failed_alerts_once_even_without_a_state_change(
    catalogue: None, local_host: Host
) -> None:
    ids = check_ids()
    audit_with(local_host, make_outcome())
    audit = audit_with(local_host, make_outcome(failed=ids[:2]))  # over 80 %: still ok
    (alert,) = AlertEvent.objects.all()
    assert (alert.kind, alert.audit_id, alert.state) == (AlertEvent.Kind.REGRESSION, audit.pk, "ok")
    assert alert.details["regressed_checks"] == sorted(ids[:2])
    assert "2 check(s) went from passed to failed" in alert.message
    audit_with(local_host, make_outcome(failed=ids[:2]))  # they stay failed: no new alert
    assert AlertEvent.objects.count() == 1


@pytest.mark.django_db
def test_group_thresholds_apply_to_its_hosts(catalogue: None, local_host: Host) -> None:
    local_host.group.warning_below, local_host.group.critical_below = 100.0, 100.0
    local_host.group.save()
    audit_with(local_host, make_outcome(failed=check_ids()[:1]))  # any failure: critical
    local_host.refresh_from_db()
    assert local_host.state == HostState.CRITICAL


@pytest.mark.django_db
def test_a_changed_host_key_alerts_once_per_presented_key(local_host: Host) -> None:
    assert alerts.host_key_changed(local_host, None, "changed", "SHA256:aaa") is not None
    assert alerts.host_key_changed(local_host, None, "changed", "SHA256:aaa") is None
    assert alerts.host_key_changed(local_host, None, "changed", "SHA256:bbb") is not None
    assert AlertEvent.objects.filter(kind=AlertEvent.Kind.HOST_KEY).count() == 2


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    received: list[dict[str, object]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = HTTPServer(("127.0.0.1", 0), handler)
    serve_in_thread(server)
    yield f"http://127.0.0.1:{server.server_port}/hook?token=abc", received
    server.shutdown()
    server.server_close()


@pytest.mark.django_db(transaction=True)
def test_alerts_are_posted_to_webhooks_after_the_commit_and_failures_only_logged(
    settings: object,
    catalogue: None,
    local_host: Host,
    webhook: tuple[str, list[dict[str, object]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    url, received = webhook
    settings.WEBHOOK_URLS = ["http://127.0.0.1:9/refused?token=s3cret", url]  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING):
        ids = check_ids()
        audit = audit_with(local_host, make_outcome(failed=ids[: len(ids) * 6 // 10]))
    assert audit.status == AuditStatus.DONE
    (posted,) = received
    alert = AlertEvent.objects.get()
    assert posted["id"] == alert.pk and posted["severity"] == "critical"
    assert posted["host"] == {"id": local_host.pk, "name": "this-machine", "address": "localhost"}
    assert "webhook http://127.0.0.1 failed" in caplog.text
    assert "s3cret" not in caplog.text  # webhook URLs carry tokens: only the host is logged
