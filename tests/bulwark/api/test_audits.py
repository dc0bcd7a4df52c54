"""The audits API: "audit now" runs an audit (in-process here), and results, score, category
summary, history, schedules and alerts come back, with the P9 result filters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from bulwark.audits.models import AlertEvent, Audit, Schedule
from tests.bulwark.api.conftest import ids
from tests.bulwark.world import World


@pytest.mark.django_db(transaction=True)
def test_audit_now_runs_and_its_results_score_and_categories_come_back(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    api = client_for("a_operator")
    started = api.post(f"/api/hosts/{world.a.local.pk}/audit/", {"command_timeout": 30})
    assert started.status_code == 202, started.content
    (audit,) = started.json()
    # The embedded default runs the task in-process when the request commits.
    assert (audit["status"], audit["trigger"], audit["requested_by"]) == (
        "done",
        "api",
        "a_operator",
    )
    assert audit["command_timeout"] == 30
    # This machine has /etc/passwd and /etc/group and no /etc/never-there-9003.
    assert (audit["passed"], audit["failed"], audit["score"]) == (3, 0, 100.0)
    categories = {c["category"]: c for c in audit["categories"]}
    assert len(categories) == 3 and all(c["score"] == 100.0 for c in categories.values())
    results = api.get("/api/results/", {"audit": audit["id"]}).json()
    assert results["count"] == 3
    assert {r["check"]["check_id"] for r in results["results"]} == {"9001", "9002", "9003"}
    detail = api.get(f"/api/results/{results['results'][0]['id']}/").json()
    assert {"description", "rationale", "remediation", "compliance"} <= set(detail["check"])
    assert api.get(f"/api/audits/{audit['id']}/").json()["latest"] is True
    host = api.get(f"/api/hosts/{world.a.local.pk}/").json()
    assert (host["latest_score"], host["state"]) == (100.0, "ok")
    history = api.get("/api/score-samples/", {"host": world.a.local.pk}).json()
    assert history["count"] == 3  # two audits of the world, and this one


@pytest.mark.django_db
def test_results_filter_by_date_check_title_category_and_status(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    api = client_for("a_viewer")
    audit = world.a.audit.pk

    def found(**params: object) -> set[str]:
        rows = api.get("/api/results/", {"audit": audit, **params}).json()["results"]
        return {row["check"]["check_id"] for row in rows}

    assert found() == {"9001", "9002", "9003"}
    assert found(status="failed") == {"9001"}
    assert found(status=["passed", "not_applicable"]) == {"9002", "9003"}
    assert found(check_id="9002") == {"9002"}
    assert found(title="/etc/GROUP") == {"9002"}
    category = api.get("/api/checks/", {"check_id": "9001"}).json()["results"][0]["category"]
    assert found(category=category) == {"9001"}
    today = timezone.now().date()
    assert found(date_after=today.isoformat(), date_before=today.isoformat()) == {
        "9001",
        "9002",
        "9003",
    }
    assert found(date_before=(today - timedelta(days=1)).isoformat()) == set()
    assert api.get("/api/results/", {"status": "bogus"}).status_code == 400
    latest = api.get("/api/results/", {"latest": "true", "limit": 100}).json()["results"]
    assert {row["audit"] for row in latest} == {
        a.pk for a in Audit.objects.filter(latest=True, host__group=world.a.group)
    }


@pytest.mark.django_db
def test_schedules_are_managed_by_group_admins_with_their_beat_task(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    api = client_for("a_admin")
    created = api.post(
        "/api/schedules/", {"host": world.a.local.pk, "interval_days": 30}, format="json"
    )
    assert created.status_code == 201, created.content
    schedule = Schedule.objects.get(pk=created.json()["id"])
    assert schedule.periodic_task is not None and schedule.periodic_task.interval.every == 30
    url = f"/api/schedules/{schedule.pk}/"
    assert api.patch(url, {"enabled": False}, format="json").status_code == 200
    assert PeriodicTask.objects.get(pk=schedule.periodic_task_id).enabled is False
    both = api.post(
        "/api/schedules/", {"host": world.a.local.pk, "group": world.a.group.pk}, format="json"
    )
    assert both.status_code == 400 and "non_field_errors" in both.json()
    too_often = api.post(
        "/api/schedules/", {"group": world.a.group.pk, "interval_days": 0}, format="json"
    )
    assert too_often.status_code == 400 and "interval_days" in too_often.json()
    assert api.delete(url).status_code == 204
    assert not PeriodicTask.objects.filter(pk=schedule.periodic_task_id).exists()


@pytest.mark.django_db
def test_alerts_list_filter_and_acknowledge(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    api = client_for("a_operator")
    alerts = set(AlertEvent.objects.filter(host__group=world.a.group).values_list("pk", flat=True))
    assert world.a.alert.pk in alerts
    assert ids(api.get("/api/alerts/", {"acknowledged": "false"})) == alerts
    assert ids(api.get("/api/alerts/", {"host": world.a.local.pk})) == {world.a.alert.pk}
    first = api.post(f"/api/alerts/{world.a.alert.pk}/acknowledge/").json()["acknowledged_at"]
    again = api.post(f"/api/alerts/{world.a.alert.pk}/acknowledge/").json()["acknowledged_at"]
    assert first and first == again
    assert ids(api.get("/api/alerts/", {"acknowledged": "true"})) == {world.a.alert.pk}


@pytest.mark.django_db
def test_audits_filter_by_host_status_and_latest(
    world: World, client_for: Callable[[str], APIClient]
) -> None:
    api = client_for("a_viewer")
    assert ids(api.get("/api/audits/", {"host": world.a.local.pk, "latest": "true"})) == {
        world.a.audit.pk
    }
    assert len(ids(api.get("/api/audits/", {"status": "done"}))) == 3
    assert ids(api.get("/api/audits/", {"status": "error"})) == set()
    page = api.get("/api/audits/", {"limit": 1}).json()
    assert page["count"] == 3 and len(page["results"]) == 1 and page["next"]
