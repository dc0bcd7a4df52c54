"""Accepted risk is never hidden: once an exception raises a host's score, the worst-hosts,
scoring, evolution and failed-checks reports (JSON, CSV, PDF), the dashboard, its widgets and
/metrics show the raw score and the excepted counts beside it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from bulwark.audits import risk_services
from bulwark.audits.models import Result
from bulwark.audits.risks import RiskException
from bulwark.reports import queries
from bulwark.reports.parameters import Filters
from bulwark.web.models import Widget
from tests.bulwark.reports.fleet import Fleet
from tests.bulwark.reports.test_documents import client_for, get, pdf_text

pytestmark = pytest.mark.django_db

SCORE, RAW = 90.91, 83.33  # web-1: 10 passed, 2 failed, one failure excepted


@pytest.fixture
def excepted(fleet: Fleet) -> Result:
    """One of web-1's two failures accepted by an exception on web-1."""
    failed = Result.objects.filter(audit=fleet.audits["web-1"], status="failed").select_related(
        "policy_check__policy"
    )
    target = failed.order_by("pk").first()
    assert target is not None
    risk_services.create(
        fleet.users["root"],
        RiskException(
            policy_id=target.policy_check.policy.policy_id,
            check_id=target.policy_check.check_id,
            host=fleet.hosts["web-1"],
            justification="the appliance needs it",
            owner="ops",
            reference="SEC-9",
            expires_at=timezone.localdate() + dt.timedelta(days=30),
        ),
    )
    target.refresh_from_db()
    assert target.status == Result.Status.EXCEPTED
    return target


def _row(data: dict[str, Any], first: str) -> dict[str, Any]:
    row = next(r for r in data["rows"] if r[0] == first)
    return dict(zip(data["columns"], row, strict=True))


@pytest.mark.parametrize("kind", ["worst-hosts", "scoring"])
def test_host_reports_show_the_raw_score_and_excepted(
    fleet: Fleet, excepted: Result, kind: str
) -> None:
    client = client_for(fleet, "alice")
    web = _row(get(client, kind, "json", "").json(), "web-1")
    assert (web["score"], web["raw score"], web["failed"], web["excepted"]) == (SCORE, RAW, 1, 1)
    summary = get(client, kind, "json", "").json()["summary"]
    assert summary["excepted"] == 1
    header = get(client, kind, "csv", "").content.decode().splitlines()
    assert "raw score" in header[0] and "excepted" in header[0]
    assert any(line.startswith("web-1,") and f"{SCORE},{RAW}," in line for line in header)
    text = pdf_text(get(client, kind, "pdf", "").content)
    assert "raw score" in text and f"{SCORE:.2f}" in text and f"{RAW:.2f}" in text


def test_scoring_of_a_past_range_reads_the_raw_score_from_the_history(
    fleet: Fleet, excepted: Result
) -> None:
    today = timezone.localdate()
    f = Filters(start_day=today - dt.timedelta(days=1), end_day=today)
    web = next(
        h for h in queries.scoring_from_history(fleet.users["alice"], f) if h.name == "web-1"
    )
    assert (web.score, web.raw_score, web.excepted) == (SCORE, RAW, 1)


def test_evolution_shows_the_days_excepted_and_raw_score(fleet: Fleet, excepted: Result) -> None:
    client = client_for(fleet, "alice")
    data = get(client, "evolution", "json", "").json()
    today = _row(data, timezone.localdate().isoformat())
    assert today["excepted"] > 0
    assert today["raw score"] is not None and today["raw score"] < today["score"]
    # The day's raw score is the average of its hosts' raw scores (the score moved, it did not).
    f = Filters(start_day=timezone.localdate(), end_day=timezone.localdate())
    hosts = queries.scoring_from_history(fleet.users["alice"], f)
    raws = [h.raw_score for h in hosts if h.raw_score is not None]
    assert today["raw score"] == round(sum(raws) / len(raws), 2)
    text = pdf_text(get(client, "evolution", "pdf", "").content)
    assert "raw score" in text and "excepted" in text


def test_failed_checks_show_the_hosts_excepted(fleet: Fleet, excepted: Result) -> None:
    client = client_for(fleet, "alice")
    data = get(client, "failed-checks", "json", "limit=500").json()
    row = _row(data, excepted.policy_check.check_id)
    assert row["hosts excepted"] == 1
    assert "hosts excepted" in get(client, "failed-checks", "csv", "limit=500").content.decode()
    assert "hosts excepted" in pdf_text(get(client, "failed-checks", "pdf", "limit=5").content)


def test_the_dashboard_its_widgets_and_metrics_show_raw_scores(
    settings: Any, fleet: Fleet, excepted: Result
) -> None:
    for data_type in ("worst_hosts", "failed_checks", "scoring", "evolution"):
        Widget.objects.create(
            user=fleet.users["alice"], title=f"w-{data_type}", data_type=data_type
        )
    body = client_for(fleet, "alice").get("/").content.decode()
    today = timezone.localdate()
    overview = queries.overview(
        fleet.users["alice"], Filters(start_day=today - dt.timedelta(days=29), end_day=today)
    )
    assert overview.excepted == 1 and overview.raw_average_score is not None
    assert overview.average_score is not None
    assert overview.raw_average_score < overview.average_score
    assert f'id="average-raw-score">{overview.raw_average_score:.2f}' in body
    assert 'id="excepted-checks">1<' in body
    assert "<th>raw score</th>" in body and "<th>hosts excepted</th>" in body  # widgets
    assert f"<td>{RAW}</td>" in body  # the worst-hosts widget's row of web-1
    settings.METRICS_TOKEN = "scrape-token"
    metrics = (
        client_for(fleet, "alice")
        .get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token")
        .content.decode()
    )
    assert f'bulwark_host_raw_score_percent{{group="web",host="web-1"}} {RAW}' in metrics
    assert f'bulwark_host_score_percent{{group="web",host="web-1"}} {SCORE}' in metrics
    assert 'bulwark_group_raw_score_average_percent{group="web"}' in metrics
