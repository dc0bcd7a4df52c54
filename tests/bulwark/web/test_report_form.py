"""The reports form: host and category picked from lists (only hosts you may see), a status
filter for a host's checks, mistakes shown as form errors on the page, "not applicable"
optional in the category report."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from bulwark.inventory.models import Host
from tests.bulwark.reports.fleet import ACCOUNTS, PASSWORD, Fleet


def alice() -> Client:
    client = Client()
    assert client.login(username="alice", password=PASSWORD)
    return client


def test_hosts_and_categories_are_lists_of_what_you_may_see(fleet: Fleet) -> None:
    body = alice().get("/reports/").content.decode()
    web = fleet.hosts["web-1"]
    assert f'<option value="{web.pk}">web-1 (web)</option>' in body
    assert "vault-1" not in body  # bob's group
    assert f'<option value="{ACCOUNTS}">{ACCOUNTS}</option>' in body
    assert '<select name="status"' in body


def test_a_host_checks_report_goes_with_the_host_and_status(fleet: Fleet) -> None:
    web = fleet.hosts["web-1"]
    query = f"/reports/?type=host-checks&format=json&host={web.pk}&status=failed"
    response = alice().get(query)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/api/reports/host-checks.json"
    assert parse_qs(location.query) == {"host": [str(web.pk)], "status": ["failed"]}
    report = alice().get(response["Location"]).json()
    assert report["rows"] and {row[3] for row in report["rows"]} == {"failed"}


def test_mistakes_are_form_errors_on_the_page(fleet: Fleet) -> None:
    client = alice()
    vault = fleet.hosts["vault-1"]
    cases = {
        "type=host-checks&format=pdf": "the checks of a host report needs a host",
        "type=category&format=pdf": "the category report needs a category",
        "type=category&format=pdf&category=Acount+Managment": "Select a valid choice",
        f"type=host-checks&format=pdf&host={vault.pk}": "Select a valid choice",
        "type=scoring&format=pdf&date_after=2026-05-02&date_before=2026-05-01": (
            "must not be before"
        ),
        f"type=host-checks&format=pdf&host={fleet.hosts['web-1'].pk}"
        f"&group={fleet.groups['db'].pk}": "web-1 is not in the group db",
    }
    for query, message in cases.items():
        response = client.get(f"/reports/?{query}")
        assert response.status_code == 200, query  # the form again, not a download
        assert message in response.content.decode(), query


def test_not_applicable_is_optional_in_the_category_report(fleet: Fleet) -> None:
    client = alice()
    base = f"/reports/?type=category&format=json&category={ACCOUNTS}"
    without = client.get(base)  # the checkbox unticked: left out
    assert "na=0" in without["Location"]
    statuses = [row[0] for row in client.get(without["Location"]).json()["rows"]]
    assert statuses == ["passed", "failed"]
    kept = client.get(base + "&not_applicable=on")
    assert "na=" not in kept["Location"]
    statuses = [row[0] for row in client.get(kept["Location"]).json()["rows"]]
    assert statuses == ["passed", "failed", "not applicable"]


def test_the_api_names_an_unknown_category(fleet: Fleet) -> None:
    response = alice().get("/api/reports/category.json?category=Acount+Managment")
    assert response.status_code == 400
    assert "no such category 'Acount Managment'" in response.content.decode()


def test_a_large_fleet_types_the_host_by_name(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond host_picker.LIST_LIMIT visible hosts the form takes the host's name instead of
    listing them all; the report gets the usual host=<id>, and only hosts alice sees."""
    from bulwark.web import host_picker

    monkeypatch.setattr(host_picker, "LIST_LIMIT", 3)  # alice sees 4 hosts
    client = alice()
    body = client.get("/reports/").content.decode()
    assert '<select name="host"' not in body and "web-1" not in body
    web = fleet.hosts["web-1"]
    response = client.get("/reports/?type=host-checks&format=json&host=web-1")
    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query) == {"host": [str(web.pk)]}
    for name, message in (("vault-1", "host: no such host"), ("nowhere", "host: no such host")):
        response = client.get(f"/reports/?type=host-checks&format=json&host={name}")
        assert response.status_code == 200 and message in response.content.decode(), name
    # A name shared by two of alice's hosts: the group decides, or she is asked for it.
    Host.objects.create(name="web-1", address="10.0.0.9", group=fleet.groups["db"])
    response = client.get("/reports/?type=host-checks&format=json&host=web-1")
    assert "choose their group first" in response.content.decode()
    group = fleet.groups["web"].pk
    response = client.get(f"/reports/?type=host-checks&format=json&host=web-1&group={group}")
    assert response.status_code == 302
    assert parse_qs(urlsplit(response["Location"]).query)["host"] == [str(web.pk)]
