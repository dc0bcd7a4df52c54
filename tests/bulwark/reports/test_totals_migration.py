"""reports 0006 fills the check totals from the counters already stored: every (group,
check) summed over its days."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.bulwark.migrating import migrate, migrate_to_latest

BEFORE = [("reports", "0005_check_counts_fillfactor")]
AFTER = [("reports", "0006_check_totals")]


@pytest.mark.slow  # migrates the database back and forth
@pytest.mark.django_db(transaction=True)
def test_the_totals_start_as_the_counters_summed_over_their_days() -> None:
    apps = migrate(BEFORE)
    try:
        Group = apps.get_model("inventory", "Group")
        Policy, Check = apps.get_model("policies", "Policy"), apps.get_model("policies", "Check")
        LCC = apps.get_model("reports", "LatestCheckCount")
        web, db = Group.objects.create(name="web"), Group.objects.create(name="db")
        policy = Policy.objects.create(
            policy_id="p", name="p", path="p", origin="bundled", dialect="w5", source="", sha256="0"
        )
        one, two = (
            Check.objects.create(policy=policy, check_id=c, title=c, category="A", condition="all")
            for c in ("c1", "c2")
        )
        today = dt.date(2026, 12, 3)
        for group, day, check, counts in [
            (web, today, one, (3, 1, 0, 1)),
            (web, today - dt.timedelta(days=2), one, (2, 2, 1, 0)),
            (web, today, two, (0, 4, 0, 0)),
            (db, today - dt.timedelta(days=9), one, (1, 0, 0, 0)),
        ]:
            p, f, n, e = counts
            LCC.objects.create(
                group=group, day=day, policy_check=check, category="A",
                passed=p, failed=f, not_applicable=n, excepted=e,
            )  # fmt: skip

        apps = migrate(AFTER)

        totals = {
            (t.group_id, t.policy_check_id): (t.passed, t.failed, t.not_applicable, t.excepted)
            for t in apps.get_model("reports", "LatestCheckTotal").objects.all()
        }
        assert totals == {
            (web.pk, one.pk): (5, 3, 1, 1),
            (web.pk, two.pk): (0, 4, 0, 0),
            (db.pk, one.pk): (1, 0, 0, 0),
        }
    finally:
        migrate_to_latest()
