"""The dashboard (P10) filters by host and by category through the reports' filters
(parse_filters, as /api/reports/ reads them), scoped to the user's groups: each filter narrows
the panels it names, gives the figures the matching report gives, and a host of another group
is refused as if it did not exist."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.test import Client

from bulwark.inventory.models import Host
from tests.bulwark.reports.fleet import ACCOUNTS, HOSTILE, LOGS, SECURE, Fleet


def signed_in(fleet: Fleet, name: str) -> Client:
    client = Client()
    client.force_login(fleet.users[name])
    return client


def table(body: str, table_id: str) -> list[list[str]]:
    """The data rows of one of the dashboard's tables, each as its cells' text."""
    found = re.search(rf'<table[^>]*id="{table_id}".*?</table>', body, re.S)
    assert found is not None, table_id
    rows = re.findall(r"<tr>(.*?)</tr>", found.group(0), re.S)[1:]  # without the header
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in rows
    ]


def tile(body: str, tile_id: str) -> str:
    found = re.search(rf'id="{tile_id}">([^<]*)<', body)
    assert found is not None, tile_id
    return found.group(1)


def dashboard(client: Client, query: str) -> str:
    response = client.get(f"/?{query}")
    assert response.status_code == 200, (query, response.content[:300])
    return response.content.decode()


def report(client: Client, kind: str, query: str) -> dict:
    response = client.get(f"/api/reports/{kind}.json?{query}")
    assert response.status_code == 200, (kind, query, response.content[:300])
    return response.json()


def test_a_host_narrows_every_panel_to_that_host(fleet: Fleet) -> None:
    client = signed_in(fleet, "alice")
    everything = dashboard(client, "")
    assert tile(everything, "total-hosts") == "4"  # web-1, web-new, the hostile one, db-1
    db = fleet.hosts["db-1"]
    body = dashboard(client, f"host={db.pk}")
    assert tile(body, "total-hosts") == "1" and tile(body, "audited-hosts") == "1"
    # db-1's latest audit: Account Management 14/46, Secure Configuration 92/16.
    # (Audit Log Management: not applicable on db-1, listed as the fleet-wide table lists it.)
    assert [row[:3] for row in table(body, "category-summary")] == [
        [ACCOUNTS, "14", "46"],
        [SECURE, "92", "16"],
        [LOGS, "0", "0"],
    ]
    assert [row[0] for row in table(body, "hosts-by-failures")] == ["db-1"]
    assert [row[0] for row in table(body, "group-scores")] == ["db"]
    failing = table(body, "most-failed")
    assert len(failing) == 10 and {row[1] for row in failing} == {"1"}  # one host each
    # The same figures as the reports for the same query string.
    categories = report(client, "categories", f"host={db.pk}")
    assert [row[0] for row in categories["rows"]] == [ACCOUNTS, SECURE, LOGS]
    checks = report(client, "failed-checks", f"host={db.pk}")
    assert [row[1] for row in checks["rows"]] == [row[0] for row in failing]
    # Without the host, other hosts' figures are there: the filter did something.
    assert {row[0] for row in table(everything, "hosts-by-failures")} == {"db-1", "web-1", HOSTILE}
    assert LOGS in {row[0] for row in table(everything, "category-summary")}


def test_a_host_narrows_the_timeline_to_its_own_days(fleet: Fleet) -> None:
    client = signed_in(fleet, "alice")
    web = fleet.hosts["web-1"]
    evolution = report(client, "evolution", f"host={web.pk}")
    # web-1 was audited twice (7 days ago: 6 passed, 6 failed; today: 10 passed, 2 failed),
    # one host a day: its own figures, not the group's.
    assert [row[1:4] for row in evolution["rows"]] == [[1, 6, 6], [1, 10, 2]]
    fleet_wide = report(client, "evolution", "")
    assert len(fleet_wide["rows"]) == 3  # db-1 alone 14 days ago, web-1 7 days ago, today
    assert "<svg" in dashboard(client, f"host={web.pk}")


def test_a_category_narrows_the_categories_checks_and_hosts(fleet: Fleet) -> None:
    client = signed_in(fleet, "alice")
    body = dashboard(client, f"category={quote(ACCOUNTS)}")
    # alice sees web-1 (10/2), db-1 (14/46) and the hostile host (no Account Management check
    # applies): one category row, summed.
    assert [row[:3] for row in table(body, "category-summary")] == [[ACCOUNTS, "24", "48"]]
    # Hosts ranked by their failures in the category: the hostile host fails only Audit Log
    # checks, so it is not listed (it is without the category).
    by_failures = table(body, "hosts-by-failures")
    assert [(row[0], row[1]) for row in by_failures] == [("db-1", "46"), ("web-1", "2")]
    assert HOSTILE in {row[0] for row in table(dashboard(client, ""), "hosts-by-failures")}
    checks = {row[0] for row in table(body, "most-failed")}
    assert checks and all(title.startswith(ACCOUNTS) for title in checks)
    # The report with the same query string ranks the same checks.
    failed = report(client, "failed-checks", f"category={quote(ACCOUNTS)}")
    assert {row[1] for row in failed["rows"]} == checks


def test_host_and_category_together(fleet: Fleet) -> None:
    client = signed_in(fleet, "alice")
    db = fleet.hosts["db-1"]
    body = dashboard(client, f"host={db.pk}&category={quote(SECURE)}")
    assert [row[:3] for row in table(body, "category-summary")] == [[SECURE, "92", "16"]]
    assert [(row[0], row[1]) for row in table(body, "hosts-by-failures")] == [("db-1", "16")]
    assert all(row[0].startswith(SECURE) for row in table(body, "most-failed"))


def test_the_pickers_offer_only_what_the_user_sees(fleet: Fleet) -> None:
    body = dashboard(signed_in(fleet, "alice"), "")
    hosts = re.search(r'<select name="host".*?</select>', body, re.S)
    assert hosts is not None
    offered = set(re.findall(r'<option value="(\d+)"', hosts.group(0)))
    assert offered == {str(fleet.hosts[n].pk) for n in ("web-1", "web-new", HOSTILE, "db-1")}
    categories = re.search(r'<select name="category".*?</select>', body, re.S)
    assert categories is not None and f'value="{ACCOUNTS}"' in categories.group(0)
    # The chosen host stays selected.
    db = fleet.hosts["db-1"]
    assert f'<option value="{db.pk}" selected>' in dashboard(
        signed_in(fleet, "alice"), f"host={db.pk}"
    )


def test_a_host_of_another_group_is_refused_like_one_that_does_not_exist(fleet: Fleet) -> None:
    client = signed_in(fleet, "alice")
    vault = fleet.hosts["vault-1"]
    for query in (f"host={vault.pk}", "host=999999", f"host={vault.pk}&category={quote(LOGS)}"):
        response = client.get(f"/?{query}")
        assert response.status_code == 400, query
        text = response.content.decode()
        assert "host: no such host" in text and "vault" not in text, query
        api = client.get(f"/api/reports/categories.json?{query}")
        assert api.status_code == 400 and "host" in api.json()["detail"], query
    # Its own members see it.
    assert tile(dashboard(signed_in(fleet, "bob"), f"host={vault.pk}"), "total-hosts") == "1"


def test_a_large_fleet_types_the_host_and_a_group_lists_its_hosts(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond host_picker.LIST_LIMIT visible hosts the filter is a name to type (a list of
    10,000 options was most of the page's time); the name becomes the usual host=<id>, scoped
    like it."""
    from bulwark.web import host_picker

    monkeypatch.setattr(host_picker, "LIST_LIMIT", 3)  # alice sees 4 hosts
    client = signed_in(fleet, "alice")
    body = dashboard(client, "")
    assert '<select name="host"' not in body and 'name="host_name"' in body
    db = fleet.hosts["db-1"]
    response = client.get("/?host_name=db-1&category=x")
    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query) == {
        "host": [str(db.pk)],
        "category": ["x"],
    }
    # The chosen host's name stays in the field.
    assert 'name="host_name" id="range-host" value="db-1"' in dashboard(client, f"host={db.pk}")
    # A group of at most LIST_LIMIT hosts lists them.
    web = fleet.groups["web"]
    body = dashboard(client, f"group={web.pk}")
    hosts = re.search(r'<select name="host".*?</select>', body, re.S)
    assert hosts is not None
    offered = set(re.findall(r'<option value="(\d+)"', hosts.group(0)))
    assert offered == {str(fleet.hosts[n].pk) for n in ("web-1", "web-new", HOSTILE)}
    # A name alice does not see is refused as an unknown one, without naming anything else.
    for query in ("host_name=vault-1", "host_name=nowhere"):
        response = client.get(f"/?{query}")
        assert response.status_code == 400, query
        assert "host: no such host" in response.content.decode(), query
    # A name two visible hosts share asks for their group.
    Host.objects.create(name="db-1", address="10.0.0.9", group=web, transport="local")
    response = client.get("/?host_name=db-1")
    assert response.status_code == 400
    assert "choose their group first" in response.content.decode()
    db_group = fleet.groups["db"].pk
    response = client.get(f"/?host_name=db-1&group={db_group}")
    assert response.status_code == 302 and f"host={db.pk}" in response["Location"]
