"""One date vocabulary everywhere (docs/filters.md): `date_after` and `date_before` select the
same rows on a page and in its API list, the reports read them too, and the reports' older
names `from` and `to` are still accepted (deprecated in the OpenAPI schema)."""

from __future__ import annotations

import datetime as dt
import re

from django.test import Client
from django.utils import timezone

from tests.bulwark.reports.fleet import HOSTILE, Fleet
from tests.bulwark.web.test_same_filters import api_ids, page_host_ids, page_result_ids


def signed_in(fleet: Fleet, name: str) -> Client:
    client = Client()
    client.force_login(fleet.users[name])
    return client


def days(first: int, last: int) -> str:
    """date_after/date_before `first` and `last` days before today."""
    today = timezone.localdate()
    start, end = today - dt.timedelta(days=first), today - dt.timedelta(days=last)
    return f"date_after={start.isoformat()}&date_before={end.isoformat()}"


def test_hosts_page_and_api_read_the_same_days(fleet: Fleet) -> None:
    client = signed_in(fleet, "alice")
    today, last_week, long_ago = days(0, 0), days(8, 6), days(400, 300)
    for query in (today, last_week, long_ago, f"{today}&name=web"):
        on_page = page_host_ids(client, query)
        in_api = api_ids(client, f"/api/hosts/?{query}&ordering=name&limit=1000")
        assert on_page == in_api, query
    # The days select: today's latest audits, not the host never audited, nothing long ago.
    audited_today = {fleet.hosts[n].pk for n in ("web-1", "db-1", HOSTILE)}
    assert set(page_host_ids(client, today)) == audited_today
    assert fleet.hosts["web-new"].pk in page_host_ids(client, "")
    assert page_host_ids(client, long_ago) == []
    # The host list's own From and To fields send these names.
    form = client.get("/hosts/").content.decode()
    assert 'name="date_after"' in form and 'name="date_before"' in form
    assert 'name="from"' not in form and 'name="to"' not in form


def test_results_page_and_api_read_the_same_days(fleet: Fleet) -> None:
    client = signed_in(fleet, "alice")
    audit = fleet.audits["db-1"]
    for query, expected in ((days(1, 0), 204), (days(30, 2), 0)):
        on_page = page_result_ids(client, audit.pk, query)
        in_api = api_ids(client, f"/api/results/?audit={audit.pk}&{query}&limit=1000")
        assert on_page == sorted(in_api) and len(on_page) == expected, query


def test_alerts_page_and_api_read_the_same_days(fleet: Fleet) -> None:
    from bulwark.audits.models import AlertEvent

    client = signed_in(fleet, "alice")
    host = fleet.hosts["web-1"]
    old = AlertEvent.objects.create(host=host, kind="state", severity="warning", message="old")
    AlertEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=20))
    new = AlertEvent.objects.create(host=host, kind="state", severity="warning", message="new")
    for query, expected in ((days(0, 0), {new.pk}), (days(25, 15), {old.pk})):
        page = client.get(f"/alerts/?{query}").content.decode()
        on_page = {int(pk) for pk in re.findall(r'id="ack-(\d+)"', page)}
        in_api = set(api_ids(client, f"/api/alerts/?{query}&limit=1000"))
        assert on_page == in_api == expected, query


def test_the_dashboard_and_the_reports_read_the_same_days(fleet: Fleet) -> None:
    client = signed_in(fleet, "alice")
    # web-1's audit 7 days ago alone: the day range 8..6 days back.
    week = days(8, 6)
    evolution = client.get(f"/api/reports/evolution.json?{week}").json()
    assert [row[1:4] for row in evolution["rows"]] == [[1, 6.0, 6.0]]
    assert evolution["filters"]["date_after"] == week.split("&")[0].split("=")[1]
    dashboard = client.get(f"/?{week}").content.decode()
    assert re.search(r'id="audited-hosts">0<', dashboard)  # latest audits are today's
    assert f'name="date_after" value="{week.split("&")[0].split("=")[1]}"' in dashboard
    # The report picker sends the same names to the report.
    start = week.split("&")[0].split("=")[1]
    picked = client.get(f"/reports/?type=evolution&format=json&date_after={start}")
    assert picked.status_code == 302 and f"date_after={start}" in picked["Location"]


def test_the_older_names_still_work_and_must_agree(fleet: Fleet) -> None:
    client = signed_in(fleet, "alice")
    today = timezone.localdate()
    start, end = (
        (today - dt.timedelta(days=8)).isoformat(),
        (today - dt.timedelta(days=6)).isoformat(),
    )
    new = client.get(f"/api/reports/evolution.json?date_after={start}&date_before={end}").json()
    old = client.get(f"/api/reports/evolution.json?from={start}&to={end}").json()
    assert new["rows"] == old["rows"] and new["filters"] == old["filters"]
    assert client.get(f"/?from={start}&to={end}").status_code == 200
    # Both names with different days: refused, naming both.
    clash = client.get(f"/api/reports/evolution.json?date_after={start}&from={end}")
    assert clash.status_code == 400
    assert "date_after" in clash.json()["detail"] and "from" in clash.json()["detail"]
    assert client.get(f"/?date_before={end}&to={start}").status_code == 400
    # The same day under both names is no clash.
    same = client.get(f"/api/reports/evolution.json?date_after={start}&from={start}")
    assert same.status_code == 200


def test_the_schema_names_the_days_and_marks_the_older_names_deprecated(fleet: Fleet) -> None:
    schema = signed_in(fleet, "alice").get("/api/schema/?format=json").json()
    (path,) = [p for p in schema["paths"] if p.startswith("/api/reports/")]
    parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
    assert not parameters["date_after"].get("deprecated")
    assert not parameters["date_before"].get("deprecated")
    assert parameters["from"]["deprecated"] is True and parameters["to"]["deprecated"] is True
    results = schema["paths"]["/api/results/"]["get"]["parameters"]
    assert {"date_after", "date_before"} <= {p["name"] for p in results}
    hosts = schema["paths"]["/api/hosts/"]["get"]["parameters"]
    assert {"date_after", "date_before"} <= {p["name"] for p in hosts}
