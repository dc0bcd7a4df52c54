"""/metrics: the four hardening values per host, audit time, group averages; bearer tokens;
a user's token sees only that user's groups."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from tests.bulwark.reports.fleet import Fleet


def scrape(token: str | None) -> tuple[int, str]:
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    response = Client().get("/metrics", **headers)
    return response.status_code, response.content.decode()


def samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
    }


def user_token(name: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("metrics_token", name, stdout=out)
    return out.getvalue().strip()


def test_no_token_or_a_wrong_one_is_refused(fleet: Fleet, settings: object) -> None:
    settings.METRICS_TOKEN = "the-right-token"  # type: ignore[attr-defined]
    assert scrape(None)[0] == 401
    assert scrape("a-wrong-token")[0] == 401
    settings.METRICS_TOKEN = ""  # type: ignore[attr-defined]
    assert scrape("")[0] == 401


def test_the_global_token_sees_every_host_with_the_seed_values(
    fleet: Fleet, settings: object
) -> None:
    settings.METRICS_TOKEN = "the-right-token"  # type: ignore[attr-defined]
    status, body = scrape("the-right-token")
    assert status == 200
    values = samples(body)
    web = (("group", "web"), ("host", "web-1"))
    assert values[("bulwark_host_checks", (*web, ("status", "passed")))] == 10
    assert values[("bulwark_host_checks", (*web, ("status", "failed")))] == 2
    assert (
        values[
            (
                "bulwark_host_checks",
                (("group", "web"), ("host", "web-1"), ("status", "not_applicable")),
            )
        ]
        == 192
    )
    assert values[("bulwark_host_score_percent", web)] == 83.33
    stamp = fleet.hosts["web-1"].last_audit_at.timestamp()  # type: ignore[union-attr]
    assert values[("bulwark_host_last_audit_timestamp_seconds", web)] == pytest.approx(stamp)
    age = values[("bulwark_host_last_audit_age_seconds", web)]
    assert age == pytest.approx(time.time() - stamp, abs=60)  # the seconds since that audit
    assert values[("bulwark_group_score_average_percent", (("group", "db"),))] == 63.1
    assert values[("bulwark_group_hosts", (("group", "web"),))] == 3
    assert ("bulwark_host_score_percent", (("group", "vault"), ("host", "vault-1"))) in values


def test_a_user_token_sees_only_that_users_groups(fleet: Fleet) -> None:
    status, body = scrape(user_token("alice"))
    assert status == 200
    assert "web-1" in body and "db-1" in body
    assert "vault" not in body
    status, body = scrape(user_token("bob"))
    assert "vault-1" in body and "web-1" not in body and 'group="db"' not in body


def test_a_token_of_a_disabled_user_stops_working(fleet: Fleet) -> None:
    token = user_token("alice")
    fleet.users["alice"].is_active = False
    fleet.users["alice"].save()
    assert scrape(token)[0] == 401


def test_label_values_are_escaped(fleet: Fleet, settings: object) -> None:
    settings.METRICS_TOKEN = "t"  # type: ignore[attr-defined]
    host = fleet.hosts["web-1"]
    host.name = 'we"b\n-1'
    host.save()
    values = samples(scrape("t")[1])
    assert values[("bulwark_host_score_percent", (("group", "web"), ("host", 'we"b\n-1')))] == 83.33
