"""The seven reports over /api/reports/: every PDF renders and carries the JSON's numbers, the
seed's figures, the filters; CSV matches; nobody sees another group's hosts."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from pypdf import PdfReader

from bulwark.reports.documents import BUILDERS
from tests.bulwark.reports.fleet import ACCOUNTS, HOSTILE, SECURE, Fleet

ARTIFACTS = Path(__file__).resolve().parents[3] / "artifacts" / "reports"


def client_for(fleet: Fleet, name: str) -> Client:
    client = Client()
    client.force_login(fleet.users[name])
    return client


def pdf_text(body: bytes) -> str:
    reader = PdfReader(io.BytesIO(body))
    return "\n".join(page.extract_text() for page in reader.pages)


def shown(value: Any) -> str:
    """How the PDF prints a value."""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def queries_for(fleet: Fleet) -> dict[str, str]:
    return {
        "worst-hosts": "",
        "failed-checks": "limit=5",
        "category": f"category={SECURE}&group={fleet.groups['db'].pk}",
        "categories": f"group={fleet.groups['db'].pk}",
        "host-checks": f"host={fleet.hosts['web-1'].pk}&status=failed",
        "scoring": "",
        "evolution": "",
    }


def get(client: Client, kind: str, fmt: str, query: str) -> Any:
    return client.get(f"/api/reports/{kind}.{fmt}?{query}")


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_every_report_renders_with_the_json_numbers(fleet: Fleet, kind: str) -> None:
    client = client_for(fleet, "alice")
    query = queries_for(fleet)[kind]
    data = get(client, kind, "json", query).json()
    assert data["rows"], f"{kind}: no rows for the seed fleet"
    response = get(client, kind, "pdf", query)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{kind}.pdf").write_bytes(response.content)  # for a person to look at
    text = pdf_text(response.content)
    assert data["title"] in text
    assert (
        "Generated" in text
        and data["filters"]["date_after"] in text
        and data["filters"]["date_before"] in text
    )
    assert data["filters"]["group"] in text
    # Cells wrap: compare without whitespace.
    flat = "".join(text.split())
    for row in data["rows"]:
        for value in row:
            if value not in (None, "") and len(str(value)) < 60:
                assert "".join(shown(value).split()) in flat, f"{kind}: {value!r} not in the PDF"
    rows = list(csv.reader(io.StringIO(get(client, kind, "csv", query).content.decode())))
    assert rows[0] == data["columns"]
    assert len(rows) == len(data["rows"]) + 1


def test_the_seed_figures_in_the_reports(fleet: Fleet) -> None:
    client = client_for(fleet, "alice")
    scoring = get(client, "scoring", "json", "").json()
    web = next(r for r in scoring["rows"] if r[0] == "web-1")
    assert web[3:] == [83.33, 83.33, 10, 2, 0, 192]  # score, raw score, ..., excepted, n/a
    assert "83.33" in pdf_text(get(client, "scoring", "pdf", "").content)
    db = fleet.groups["db"].pk
    categories = get(client, "categories", "json", f"group={db}").json()
    shares = {r[0]: r[4] for r in categories["rows"]}
    assert shares[ACCOUNTS] == 23 and shares[SECURE] == 85
    text = " ".join(pdf_text(get(client, "categories", "pdf", f"group={db}").content).split())
    assert f"{ACCOUNTS} 46 14 0 23" in text
    assert "Secure Configuration of Enterprise Assets and Software 16 92 0 85" in text
    pie = get(client, "category", "json", f"category={ACCOUNTS}&group={db}").json()
    assert pie["summary"]["score %"] == 23
    assert pie["rows"][:2] == [["passed", 14, 23], ["failed", 46, 77]]


def test_hostile_names_are_text_in_pdf_and_csv(fleet: Fleet) -> None:
    client = client_for(fleet, "alice")
    assert HOSTILE in pdf_text(get(client, "worst-hosts", "pdf", "").content).replace("\n", "")
    evil = fleet.hosts[HOSTILE]
    evil.name = "=cmd|' /C calc'!A0"
    evil.save()
    body = get(client, "worst-hosts", "csv", "").content.decode()
    assert "'=cmd" in body


@pytest.mark.parametrize("kind", sorted(BUILDERS))
@pytest.mark.parametrize("fmt", ["json", "pdf", "csv"])
def test_isolation_in_every_report(fleet: Fleet, kind: str, fmt: str) -> None:
    client = client_for(fleet, "alice")
    query = queries_for(fleet)[kind].replace(f"group={fleet.groups['db'].pk}", "")
    body = get(client, kind, fmt, query).content
    text = pdf_text(body) if fmt == "pdf" else body.decode()
    assert "vault-1" not in text


def test_a_foreign_group_or_host_is_refused_like_a_missing_one(fleet: Fleet) -> None:
    client = client_for(fleet, "alice")
    vault, host = fleet.groups["vault"].pk, fleet.hosts["vault-1"].pk
    assert get(client, "scoring", "json", f"group={vault}").status_code == 400
    assert get(client, "scoring", "json", "group=99999").json() == {
        "detail": "group: no such group"
    }
    assert get(client, "host-checks", "pdf", f"host={host}").status_code == 400
    assert get(client, "category", "json", "").status_code == 400  # needs a category
    assert get(client, "nonsense", "json", "").status_code == 404
    assert Client().get("/api/reports/scoring.json").status_code == 401


def test_bob_sees_only_the_vault(fleet: Fleet) -> None:
    data = get(client_for(fleet, "bob"), "scoring", "json", "").json()
    assert [r[0] for r in data["rows"]] == ["vault-1"]


def test_an_api_token_works_and_stays_scoped(fleet: Fleet) -> None:
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=fleet.users["alice"])
    response = Client().get("/api/reports/scoring.json", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200
    assert "vault-1" not in response.content.decode() and "web-1" in response.content.decode()
    wrong = Client().get("/api/reports/scoring.json", HTTP_AUTHORIZATION="Token nope")
    assert wrong.status_code == 401


def test_the_scoring_report_comes_in_pages_of_hosts(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full fleet is listed in pages of SCORING_PAGE hosts, the same in every format; the
    summary counts every host."""
    from bulwark.reports import documents

    client = client_for(fleet, "root")
    whole = get(client, "scoring", "json", "").json()
    assert len(whole["rows"]) >= 3 and "page" not in whole["summary"]
    monkeypatch.setattr(documents, "SCORING_PAGE", 2)
    pages = -(-len(whole["rows"]) // 2)
    rows = []
    for page in range(1, pages + 1):
        data = get(client, "scoring", "json", f"page={page}").json()
        assert data["summary"]["hosts"] == whole["summary"]["hosts"]
        assert data["summary"]["average score"] == whole["summary"]["average score"]
        assert (data["summary"]["page"], data["summary"]["pages"]) == (page, pages)
        assert f"(page {page} of {pages})" in data["title"]
        table = list(csv.reader(io.StringIO(get(client, "scoring", "csv", f"page={page}").text)))
        assert len(table) >= len(data["rows"]) + 1
        rows += data["rows"]
    assert rows == whole["rows"]
    last = get(client, "scoring", "pdf", f"page={pages}")
    assert whole["rows"][-1][0] in pdf_text(last.content)
    assert get(client, "scoring", "json", f"page={pages + 1}").status_code == 400


def test_reports_are_api_views_in_the_openapi_schema(fleet: Fleet) -> None:
    client = client_for(fleet, "alice")
    schema = client.get("/api/schema/?format=json").json()
    (path,) = [p for p in schema["paths"] if p.startswith("/api/reports/")]
    operation = schema["paths"][path]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"kind", "fmt", "group", "from", "to", "days", "limit", "host", "status"} <= names
    kinds = next(p for p in operation["parameters"] if p["name"] == "kind")["schema"]["enum"]
    assert sorted(kinds) == sorted(BUILDERS)
    # The suffix decides the format: an Accept header for something else is not a 406.
    pdf = client.get("/api/reports/scoring.pdf", HTTP_ACCEPT="text/html")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    # Writes are not reports.
    assert client.post("/api/reports/scoring.json").status_code == 405


def test_excepted_checks_are_shown_apart_in_the_host_checks_report(fleet: Fleet) -> None:
    import datetime as dt

    from django.utils import timezone

    from bulwark.audits import risk_services
    from bulwark.audits.models import Result
    from bulwark.audits.risks import RiskException

    host = fleet.hosts["web-1"]
    failed = Result.objects.filter(audit__host=host, audit__latest=True, status="failed")
    target = failed.select_related("policy_check__policy").first()
    assert target is not None
    risk_services.create(
        fleet.users["alice"],
        RiskException(
            policy_id=target.policy_check.policy.policy_id,
            check_id=target.policy_check.check_id,
            host=host,
            justification="accepted",
            owner="ops",
            expires_at=timezone.localdate() + dt.timedelta(days=10),
        ),
    )
    client = client_for(fleet, "alice")
    report = get(client, "host-checks", "json", f"host={host.pk}").json()
    assert report["summary"]["excepted"] == 1 and report["summary"]["failed"] == 1
    excepted = get(client, "host-checks", "json", f"host={host.pk}&status=excepted").json()
    assert [r[0] for r in excepted["rows"]] == [target.policy_check.check_id]
    assert "excepted" in pdf_text(get(client, "host-checks", "pdf", f"host={host.pk}").content)
