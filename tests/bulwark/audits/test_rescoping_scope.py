"""Changing assignments re-scores stored audits at once, with no connection to the host:
narrowing removes the dropped checks from the latest audit and from everything counted from
it (host, categories, history, report aggregates, /metrics); widening cannot be derived from
stored results, so the host is marked "needs re-audit" until an audit that started after the
change is stored."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.test import Client
from rest_framework.test import APIClient

from bulwark.audits import assignment_services, services
from bulwark.audits.models import (
    Assignment,
    Audit,
    AuditStatus,
    CategorySummary,
    PolicyVerdict,
    Result,
    ScoreSample,
)
from bulwark.core.models import SecurityEvent
from bulwark.inventory.models import Host, Membership, Role
from bulwark.policies.models import Check, Policy
from bulwark.reports.models import (
    DailyGroupSummary,
    DailyHostSummary,
    LatestCheckCount,
    LatestCheckTotal,
)
from tests.bulwark.audits.test_exceptions import connections  # noqa: F401 - a fixture
from workers.engine.scoring import score

# Each test audits this machine (tens of seconds under load).
pytestmark = [pytest.mark.django_db, pytest.mark.slow]


@pytest.fixture
def audited(
    catalogue: None,
    local_host: Host,
    connections: list[str],  # noqa: F811
) -> Iterator[Audit]:
    """This machine audited with the defaults Debian 12 and OpenSSH, every level (two
    policies keep the audit short; the rest of the catalogue adds nothing here)."""
    for policy_id in ("bulwark_debian12", "bulwark_openssh"):
        Assignment.objects.create(policy=Policy.objects.get(policy_id=policy_id), levels=[1, 2])
    audit = Audit.objects.create(host=local_host)
    services.run_audit(audit.pk)
    audit.refresh_from_db()
    assert audit.status == AuditStatus.DONE, audit.error_reason
    yield audit


def _admin_client(host: Host) -> tuple[APIClient, Any]:
    user = get_user_model().objects.create_user("group-admin", password="x-pass-Word")
    Membership.objects.create(user=user, group=host.group, role=Role.ADMIN)
    client = APIClient()
    client.force_authenticate(user)
    return client, user


def _assert_everything_counts_only(audit: Audit, host: Host) -> None:
    """The audit's counts are its stored rows; the host, its categories, history, the daily
    and per-check aggregates all say the same."""
    audit.refresh_from_db()
    host.refresh_from_db()
    rows = Counter(Result.objects.filter(audit=audit).values_list("status", flat=True))
    counts = (audit.passed, audit.failed, audit.not_applicable, audit.excepted)
    assert counts == (rows["passed"], rows["failed"], rows["not_applicable"], rows["excepted"])
    assert audit.score == score(audit.passed, audit.failed)
    assert audit.raw_score == score(audit.passed, audit.failed + audit.excepted)
    assert (
        host.latest_passed,
        host.latest_failed,
        host.latest_not_applicable,
        host.latest_excepted,
        host.latest_score,
        host.latest_raw_score,
    ) == (*counts, audit.score, audit.raw_score)
    categories = CategorySummary.objects.filter(audit=audit)
    by_category: Counter[tuple[str, str]] = Counter(
        Result.objects.filter(audit=audit).values_list("policy_check__category", "status")
    )
    for summary in categories:
        assert (summary.passed, summary.failed, summary.not_applicable, summary.excepted) == (
            by_category[(summary.category, "passed")],
            by_category[(summary.category, "failed")],
            by_category[(summary.category, "not_applicable")],
            by_category[(summary.category, "excepted")],
        ), summary.category
        assert summary.score == score(summary.passed, summary.failed)
    assert {c for c, _ in by_category} == set(categories.values_list("category", flat=True))
    day = DailyHostSummary.objects.get(audit=audit)
    assert (day.passed, day.failed, day.not_applicable, day.excepted) == counts
    assert (day.score, day.raw_score) == (audit.score, audit.raw_score)
    group_day = DailyGroupSummary.objects.get(group=host.group, day=day.day)
    assert (group_day.passed, group_day.failed, group_day.excepted) == counts[:2] + counts[3:]
    assert group_day.score_sum == pytest.approx(audit.score or 0.0)
    assert group_day.raw_score_sum == pytest.approx(audit.raw_score or 0.0)
    counters = {
        c.policy_check_id: (c.passed, c.failed, c.not_applicable, c.excepted)
        for c in LatestCheckCount.objects.filter(group=host.group)
    }
    per_check: dict[int, list[int]] = {}
    order = ("passed", "failed", "not_applicable", "excepted")
    for check_pk, status in Result.objects.filter(audit=audit).values_list(
        "policy_check_id", "status"
    ):
        per_check.setdefault(check_pk, [0, 0, 0, 0])[order.index(status)] += 1
    assert counters == {pk: tuple(v) for pk, v in per_check.items()}
    totals = {
        t.policy_check_id: (t.passed, t.failed, t.not_applicable, t.excepted)
        for t in LatestCheckTotal.objects.filter(group=host.group)
        if t.passed or t.failed or t.not_applicable or t.excepted
    }
    assert totals == counters  # the host is its group's only one, audited on one day


def test_narrowing_to_level_1_rescores_at_once_everywhere_without_connecting(
    settings: Any,
    audited: Audit,
    local_host: Host,
    connections: list[str],  # noqa: F811
) -> None:
    debian = Policy.objects.get(policy_id="bulwark_debian12")
    level_2 = set(Check.objects.filter(policy=debian, level=2).values_list("pk", flat=True))
    stored = set(Result.objects.filter(audit=audited).values_list("policy_check_id", flat=True))
    assert stored & level_2, "the audit evaluated no level 2 check: nothing to narrow"
    assert Result.objects.filter(audit=audited).exclude(policy_check__policy=debian).exists()
    client, admin = _admin_client(local_host)

    made = client.post(
        "/api/assignments/",
        {"policy": debian.pk, "group": local_host.group_id, "levels": [1]},
        format="json",
    )

    assert made.status_code == 201, made.content
    assert connections == ["this-machine"]  # the audit's own, and no other
    kept = Result.objects.filter(audit=audited)
    assert set(kept.values_list("policy_check__level", flat=True)) == {1}
    assert set(kept.values_list("policy_check__policy__policy_id", flat=True)) == {
        "bulwark_debian12"
    }
    assert set(
        PolicyVerdict.objects.filter(audit=audited).values_list("policy__policy_id", flat=True)
    ) == {"bulwark_debian12"}
    _assert_everything_counts_only(audited, local_host)
    point = ScoreSample.objects.filter(audit=audited).exclude(rescored="").get()
    assert "assignment created" in point.rescored and "bulwark_debian12" in point.rescored
    assert point.score == audited.score and point.raw_score == audited.raw_score
    local_host.refresh_from_db()
    assert local_host.scope_widened_at is None  # narrowing needs no new audit
    event = SecurityEvent.objects.get(kind="assignment.created")
    assert event.actor == admin and event.detail["levels"] == [1]

    # /metrics counts only what is in scope.
    settings.METRICS_TOKEN = "a-scrape-token"
    metrics = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer a-scrape-token")
    metrics = metrics.content.decode()
    assert (
        f'bulwark_host_checks{{group="servers",host="this-machine",status="passed"}} '
        f"{float(audited.passed)}" in metrics
    )
    # And the API's host and audit say the same.
    host_json = client.get(f"/api/hosts/{local_host.pk}/").json()
    assert (host_json["latest_score"], host_json["latest_passed"]) == (
        audited.score,
        audited.passed,
    )


def test_widening_marks_the_host_for_a_re_audit_and_the_next_audit_clears_it(
    audited: Audit,
    local_host: Host,
    connections: list[str],  # noqa: F811
) -> None:
    debian = Policy.objects.get(policy_id="bulwark_debian12")
    client, _ = _admin_client(local_host)
    made = client.post(
        "/api/assignments/",
        {"policy": debian.pk, "group": local_host.group_id, "levels": [1]},
        format="json",
    )
    assert made.status_code == 201, made.content
    narrowed = Audit.objects.get(pk=audited.pk)

    widened = client.patch(
        f"/api/assignments/{made.json()['id']}/", {"levels": [1, 2]}, format="json"
    )

    assert widened.status_code == 200, widened.content
    assert connections == ["this-machine"]
    # Level 2 verdicts cannot be made up: the stored audit stays as it is ...
    again = Audit.objects.get(pk=audited.pk)
    assert (again.passed, again.failed, again.score) == (
        narrowed.passed,
        narrowed.failed,
        narrowed.score,
    )
    # ... and the host says it needs a re-audit, and why.
    host = client.get(f"/api/hosts/{local_host.pk}/").json()
    assert host["scope_widened_at"] is not None
    assert "assignment changed" in host["scope_widened_reason"]
    assert "level 1+2" in host["scope_widened_reason"]
    assert SecurityEvent.objects.get(kind="assignment.changed").detail["was"]["levels"] == [1]

    fresh = Audit.objects.create(host=local_host)
    services.run_audit(fresh.pk)
    fresh.refresh_from_db()
    assert fresh.status == AuditStatus.DONE
    local_host.refresh_from_db()
    assert local_host.scope_widened_at is None and local_host.scope_widened_reason == ""
    assert Result.objects.filter(audit=fresh, policy_check__level=2).exists()
    _assert_everything_counts_only(fresh, local_host)


def test_defaults_are_superusers_and_deleting_one_rescores_the_groups_using_it(
    audited: Audit,
    local_host: Host,
    connections: list[str],  # noqa: F811
) -> None:
    openssh = Assignment.objects.get(policy__policy_id="bulwark_openssh")
    client, admin = _admin_client(local_host)
    # Defaults are superusers': the group admin's attempts change nothing.
    assert client.delete(f"/api/assignments/{openssh.pk}/").status_code == 403
    with pytest.raises(PermissionDenied):
        assignment_services.delete(admin, openssh)
    assert Result.objects.filter(audit=audited, policy_check__policy=openssh.policy).exists()
    root = get_user_model().objects.create_superuser("root", password="x-pass-Word")

    assignment_services.delete(root, openssh)

    assert connections == ["this-machine"]
    kept = Result.objects.filter(audit=audited)
    assert set(kept.values_list("policy_check__policy__policy_id", flat=True)) == {
        "bulwark_debian12"
    }
    _assert_everything_counts_only(audited, local_host)
    point = ScoreSample.objects.filter(audit=audited).exclude(rescored="").get()
    assert point.rescored.startswith("assignment deleted: bulwark_openssh on default")
    event = SecurityEvent.objects.get(kind="assignment.deleted")
    assert event.actor == root and event.detail["policy"] == "bulwark_openssh"
    # A group with its own assignment no longer follows the defaults.
    mine = client.post(
        "/api/assignments/",
        {"policy": openssh.policy_id, "group": local_host.group_id, "levels": [1]},
        format="json",
    )
    assert mine.status_code == 201, mine.content
    assert not Result.objects.filter(audit=audited).exists()  # Debian 12 is not assigned
    local_host.refresh_from_db()
    assert local_host.scope_widened_at is not None  # OpenSSH level 1: no stored verdicts
    _assert_everything_counts_only(audited, local_host)
    assert connections == ["this-machine"]
