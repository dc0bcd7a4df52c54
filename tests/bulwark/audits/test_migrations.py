"""The data migration of stored audits: per-check "not applicable" rows of a policy whose
requirements failed become one policy-level verdict, and every count follows."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.bulwark.migrating import migrate, migrate_to_latest

BEFORE = [
    ("audits", "0006_assignments_and_policy_verdicts"),
    ("reports", "0001_initial"),
    ("inventory", "0007_readable_labels_and_defaults"),
]
AFTER = [
    ("audits", "0007_collapse_not_applicable_policies"),
    ("reports", "0002_recount_not_applicable"),
]
LEGACY = "Policy requirements not met"


@pytest.mark.slow  # migrates the database back and forth
@pytest.mark.django_db(transaction=True)
def test_old_audits_lose_per_check_rows_of_inapplicable_policies_and_counts_agree() -> None:
    apps = migrate(BEFORE)
    try:
        models = {
            name: apps.get_model(*name.split("."))
            for name in (
                "inventory.Group",
                "inventory.Host",
                "policies.Policy",
                "policies.Check",
                "audits.Audit",
                "audits.Result",
                "audits.CategorySummary",
                "audits.ScoreSample",
                "reports.DailyHostSummary",
                "reports.DailyGroupSummary",
                "reports.LatestCheckCount",
                "reports.CountedAudit",
            )
        }
        group = models["inventory.Group"].objects.create(name="g")
        host = models["inventory.Host"].objects.create(
            name="h",
            address="10.77.0.9",
            group=group,
            latest_passed=1,
            latest_failed=1,
            latest_not_applicable=3,
        )
        Policy, Check = models["policies.Policy"], models["policies.Check"]
        mine = Policy.objects.create(
            policy_id="mine",
            name="m",
            path="m",
            origin="bundled",
            dialect="w5",
            source="",
            sha256="0",
        )
        foreign = Policy.objects.create(
            policy_id="foreign",
            name="f",
            path="f",
            origin="bundled",
            dialect="w5",
            source="",
            sha256="1",
        )
        checks = [
            Check.objects.create(
                policy=mine, check_id="m1", title="t", category="A", condition="all"
            ),
            Check.objects.create(
                policy=mine, check_id="m2", title="t", category="A", condition="all"
            ),
            Check.objects.create(
                policy=mine, check_id="m3", title="t", category="B", condition="all"
            ),
            Check.objects.create(
                policy=foreign, check_id="f1", title="t", category="A", condition="all"
            ),
            Check.objects.create(
                policy=foreign, check_id="f2", title="t", category="B", condition="all"
            ),
        ]
        now = timezone.now()
        audit = models["audits.Audit"].objects.create(
            host=host,
            status="done",
            finished_at=now,
            passed=1,
            failed=1,
            not_applicable=3,
            score=50.0,
            latest=True,
        )
        Result = models["audits.Result"]
        for check, status, reason in [
            (checks[0], "passed", ""),
            (checks[1], "failed", ""),
            (checks[2], "not_applicable", "not run: command timed out"),
            (checks[3], "not_applicable", LEGACY),
            (checks[4], "not_applicable", LEGACY),
        ]:
            Result.objects.create(audit=audit, policy_check=check, status=status, reason=reason)
        Summary = models["audits.CategorySummary"]
        Summary.objects.create(audit=audit, category="A", passed=1, failed=1, not_applicable=1)
        Summary.objects.create(audit=audit, category="B", not_applicable=2)
        models["audits.ScoreSample"].objects.create(
            host=host, audit=audit, time=now, passed=1, failed=1, not_applicable=3, score=50.0
        )
        day = timezone.localdate(now)
        models["reports.DailyHostSummary"].objects.create(
            host=host,
            day=day,
            group=group,
            audit=audit,
            passed=1,
            failed=1,
            not_applicable=3,
            score=50.0,
        )
        models["reports.DailyGroupSummary"].objects.create(
            group=group,
            day=day,
            hosts=1,
            passed=1,
            failed=1,
            not_applicable=3,
            scored_hosts=1,
            score_sum=50.0,
        )
        models["reports.CountedAudit"].objects.create(host=host, audit=audit, group=group, day=day)
        LCC = models["reports.LatestCheckCount"]
        for check, p, f, n in [
            (checks[0], 1, 0, 0),
            (checks[1], 0, 1, 0),
            (checks[2], 0, 0, 1),
            (checks[3], 0, 0, 1),
            (checks[4], 0, 0, 1),
        ]:
            LCC.objects.create(
                group=group,
                day=day,
                policy_check=check,
                category=check.category,
                passed=p,
                failed=f,
                not_applicable=n,
            )

        apps = migrate(AFTER)

        Audit = apps.get_model("audits", "Audit")
        audit = Audit.objects.get(pk=audit.pk)
        assert (audit.passed, audit.failed, audit.not_applicable, audit.score) == (1, 1, 1, 50.0)
        results = apps.get_model("audits", "Result").objects.filter(audit=audit)
        assert sorted(results.values_list("policy_check__check_id", flat=True)) == [
            "m1",
            "m2",
            "m3",
        ]
        [verdict] = apps.get_model("audits", "PolicyVerdict").objects.filter(audit=audit)
        assert verdict.policy_id == foreign.pk and verdict.status == "not_applicable"
        assert verdict.reason.startswith("requirements not met")
        summaries = dict(
            apps.get_model("audits", "CategorySummary")
            .objects.filter(audit=audit)
            .values_list("category", "not_applicable")
        )
        assert summaries == {"A": 0, "B": 1}
        sample = apps.get_model("audits", "ScoreSample").objects.get(audit=audit)
        assert sample.not_applicable == 1
        assert (
            apps.get_model("inventory", "Host").objects.get(pk=host.pk).latest_not_applicable == 1
        )
        assert (
            apps.get_model("reports", "DailyHostSummary")
            .objects.get(host_id=host.pk)
            .not_applicable
            == 1
        )
        assert (
            apps.get_model("reports", "DailyGroupSummary")
            .objects.get(group_id=group.pk)
            .not_applicable
            == 1
        )
        counters = dict(
            apps.get_model("reports", "LatestCheckCount").objects.values_list(
                "policy_check__check_id", "not_applicable"
            )
        )
        assert counters == {"m1": 0, "m2": 0, "m3": 1}
    finally:
        migrate_to_latest()
