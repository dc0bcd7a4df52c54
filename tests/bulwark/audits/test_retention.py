"""History that scales: results older than RESULTS_RETENTION_DAYS are purged, every audit keeps
its counts, score, categories and score sample, each host's latest audit keeps its results, and
every report gives the same answers before and after."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from bulwark.audits import history, store
from bulwark.audits.models import Audit, CategorySummary, Result, ScoreSample
from bulwark.audits.retention import purge_results
from bulwark.inventory.models import Group, Host
from bulwark.reports.documents import BUILDERS
from tests.bulwark.audits.outcomes import audit_with, make_outcome
from tests.bulwark.world import tiny_catalogue


def _audit_at(monkeypatch: pytest.MonkeyPatch, host: Host, when: datetime, **fails: Any) -> Audit:
    """An audit stored through the real store path as if it finished at `when`."""
    monkeypatch.setattr(store, "timezone", SimpleNamespace(now=lambda: when))
    try:
        return audit_with(host, make_outcome(**fails))
    finally:
        monkeypatch.undo()


def _results(audit: Audit) -> dict[str, str]:
    return dict(history.results_of(audit).values_list("policy_check__check_id", "status"))


def _reports(client: Client, host: Host, since: datetime) -> dict[str, Any]:
    answers = {}
    for kind in sorted(BUILDERS):
        params = {"from": f"{since:%Y-%m-%d}", "to": f"{timezone.localdate():%Y-%m-%d}",
                  "host": host.pk, "category": "Account Management"}  # fmt: skip
        response = client.get(f"/api/reports/{kind}.json", params)
        assert response.status_code == 200, (kind, response.content[:300])
        body = json.loads(response.content)
        body.pop("generated_at", None)
        answers[kind] = body
    return answers


@pytest.mark.django_db
def test_old_results_go_everything_else_stays_and_reports_answer_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tiny_catalogue()
    group = Group.objects.create(name="g")
    busy = Host.objects.create(name="busy", address="localhost", transport="local", group=group)
    quiet = Host.objects.create(name="quiet", address="localhost", transport="local", group=group)
    now = timezone.now()
    oldest = _audit_at(monkeypatch, busy, now - timedelta(days=500), failed=["9001"])
    old = _audit_at(monkeypatch, busy, now - timedelta(days=450), failed=["9002"])
    recent = _audit_at(monkeypatch, busy, now - timedelta(days=10))
    alone = _audit_at(monkeypatch, quiet, now - timedelta(days=500), failed=["9003"])
    root = get_user_model().objects.create_superuser("root", password="x")
    client = Client()
    client.force_login(root)
    before = {h.name: _reports(client, h, now - timedelta(days=600)) for h in (busy, quiet)}
    # Stored as reverse deltas on PostgreSQL (docs/history.md): the reports answer the same as
    # with every audit stored in full, and each audit's results rebuild to what it stored.
    # SQLite keeps every audit in full, so there the purge removes three rows per audit.
    compacts = history.compacts()
    reduced = {a.pk: _results(a) for a in (oldest, old)}
    assert Audit.objects.filter(results_reduced=True).count() == (2 if compacts else 0)
    for audit in (oldest, old):
        history.materialize(audit.pk)
    assert {a.pk: _results(a) for a in (oldest, old)} == reduced
    assert Result.objects.filter(audit__in=[oldest, old]).count() == 6  # three checks each
    full = {h.name: _reports(client, h, now - timedelta(days=600)) for h in (busy, quiet)}
    assert full == before
    assert history.reduce_pending() == (2 if compacts else 0)
    counts = list(Audit.objects.order_by("pk").values_list("passed", "failed", "score"))
    categories = CategorySummary.objects.count()

    purged = purge_results(now=now)

    # Reduced, the two old audits held 3 rows: 9001 and 9002 differ between the oldest and
    # the old one, 9002 between the old one and the recent one.
    assert (purged.audits, purged.results) == (2, 3 if compacts else 6)
    assert not Result.objects.filter(audit__in=[oldest, old]).exists()
    assert Result.objects.filter(audit=recent).count() == 3
    assert Result.objects.filter(audit=alone).count() == 3  # old, but quiet's latest
    assert list(Audit.objects.order_by("pk").values_list("passed", "failed", "score")) == counts
    assert CategorySummary.objects.count() == categories
    assert ScoreSample.objects.count() == 4
    oldest.refresh_from_db()
    assert oldest.results_purged_at == now and alone.results_purged_at is None
    after = {h.name: _reports(client, h, now - timedelta(days=600)) for h in (busy, quiet)}
    assert after == before
    audit = client.get(f"/api/audits/{old.pk}/").json()
    assert audit["failed"] == 1 and audit["categories"] and audit["results_purged_at"]
    assert purge_results(now=now).results == 0  # nothing left to do


@pytest.mark.django_db
def test_zero_days_keeps_everything_and_the_command_refuses_a_bad_value(settings: Any) -> None:
    tiny_catalogue()
    group = Group.objects.create(name="g")
    host = Host.objects.create(name="h", address="localhost", transport="local", group=group)
    first = audit_with(host, make_outcome())
    audit_with(host, make_outcome())
    Audit.objects.filter(pk=first.pk).update(finished_at=timezone.now() - timedelta(days=9999))
    settings.RESULTS_RETENTION_DAYS = 0
    assert purge_results().results == 0
    with pytest.raises(CommandError, match="--days must be at least 1, got 0"):
        call_command("purge_results", "--days", "0")
    call_command("purge_results", "--days", "30")
    assert not Result.objects.filter(audit=first).exists()
