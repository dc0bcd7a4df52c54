"""The aggregates follow every stored audit, group move and deletion, and equal what a scan
of the latest results would give."""

from __future__ import annotations

from collections import Counter

import pytest
from django.db.models import Sum

from bulwark.audits.models import Audit, Result
from bulwark.inventory.models import Group, Host
from bulwark.reports.models import (
    CountedAudit,
    DailyGroupSummary,
    DailyHostSummary,
    LatestCheckCount,
    LatestCheckTotal,
)
from tests.bulwark.audits.outcomes import audit_with, check_ids, make_outcome
from tests.bulwark.conftest import using_postgres
from tests.bulwark.reports.fleet import ACCOUNTS, Fleet, record, statuses
from tests.require import require


def counters() -> Counter[tuple[int, int, str]]:
    """(group, check, status) -> hosts, from the counters; the totals (LatestCheckTotal, the
    counters without their days) must say the same."""
    out: Counter[tuple[int, int, str]] = Counter()
    for row in LatestCheckCount.objects.all():
        for status in ("passed", "failed", "not_applicable", "excepted"):
            if getattr(row, status):
                out[(row.group_id, row.policy_check_id, status)] += getattr(row, status)
    assert totals() == out, "the check totals disagree with the counters"
    return Counter({key: n for key, n in out.items() if key[2] != "excepted"})


def totals() -> Counter[tuple[int, int, str]]:
    out: Counter[tuple[int, int, str]] = Counter()
    for row in LatestCheckTotal.objects.all():
        for status in ("passed", "failed", "not_applicable", "excepted"):
            if getattr(row, status):
                out[(row.group_id, row.policy_check_id, status)] += getattr(row, status)
    return out


def scanned() -> Counter[tuple[int, int, str]]:
    """The same, by scanning every result of every latest audit."""
    rows = Result.objects.filter(audit__latest=True).values_list(
        "audit__host__group_id", "policy_check_id", "status"
    )
    return Counter(rows)


def test_the_store_path_keeps_the_counters(catalogue: None, local_host: Host) -> None:
    ids = check_ids()
    first = audit_with(local_host, make_outcome(failed=ids[:3]))
    second = audit_with(local_host, make_outcome(failed=ids[1:5], not_applicable=ids[5:7]))
    assert counters() == scanned()
    assert CountedAudit.objects.get(host=local_host).audit_id == second.pk
    day = DailyHostSummary.objects.get(host=local_host)  # both audits today: one row, the last
    assert (day.audit_id, day.failed, day.score) == (second.pk, 4, second.score)
    sums = DailyGroupSummary.objects.get(group=local_host.group)
    assert (sums.hosts, sums.failed, sums.not_applicable) == (1, 4, 2)
    assert first.pk != second.pk


def test_a_host_moving_group_moves_its_counts(fleet: Fleet) -> None:
    host = fleet.hosts["web-1"]
    host.group = fleet.groups["db"]
    host.save()
    assert counters() == scanned()
    web = LatestCheckCount.objects.filter(group=fleet.groups["web"], category=ACCOUNTS)
    assert web.aggregate(n=Sum("failed"))["n"] == 0


def test_deleting_a_host_takes_its_counts_out(fleet: Fleet) -> None:
    Host.objects.filter(pk=fleet.hosts["db-1"].pk).delete()
    assert counters() == scanned()
    assert not CountedAudit.objects.filter(host_id=fleet.hosts["db-1"].pk).exists()


def test_deleting_the_latest_audit_makes_the_previous_one_latest(fleet: Fleet) -> None:
    """An admin deletes a host's latest audit (a bad run, say): the host, the dashboards and
    the reports show the audit before it again, not the deleted one, not nothing."""
    host = fleet.hosts["db-1"]
    previous = Audit.objects.get(host=host, latest=True)
    wanted = Counter(Result.objects.filter(audit=previous).values_list("status", flat=True))
    extra = record(host, statuses(fleet.checks, {ACCOUNTS: (60, 0)}), previous.finished_at)
    host.refresh_from_db()
    assert host.latest_failed != previous.failed
    Audit.objects.filter(pk=extra.pk).delete()
    host.refresh_from_db()
    assert Audit.objects.get(host=host, latest=True).pk == previous.pk
    assert (host.latest_score, host.latest_passed, host.latest_failed) == (
        previous.score,
        previous.passed,
        previous.failed,
    )
    assert host.os_distribution == "debian" and host.last_audit_at == previous.finished_at
    assert Counter(Result.objects.filter(audit=previous).values_list("status", flat=True)) == wanted
    assert CountedAudit.objects.get(host=host).audit_id == previous.pk
    assert counters() == scanned()


def test_deleting_the_only_audit_leaves_the_host_unaudited(fleet: Fleet) -> None:
    host = fleet.hosts["web-1"]
    Audit.objects.filter(host=host).delete()
    assert not Audit.objects.filter(host=host).exists()
    assert not CountedAudit.objects.filter(host=host).exists()
    assert counters() == scanned()


def test_a_second_audit_the_same_day_replaces_the_day(fleet: Fleet) -> None:
    host = fleet.hosts["web-1"]
    before = DailyGroupSummary.objects.get(group=fleet.groups["web"], day=_today())
    record(host, statuses(fleet.checks, {ACCOUNTS: (12, 0)}), fleet.audits["web-1"].finished_at)
    after = DailyGroupSummary.objects.get(group=fleet.groups["web"], day=_today())
    assert after.hosts == before.hosts
    assert after.passed == before.passed + 2 and after.failed == before.failed - 2
    assert counters() == scanned()


def test_counters_stay_right_through_a_history(fleet: Fleet) -> None:
    """Several audits of several hosts, a move and a deletion: still equal to a scan."""
    db = fleet.groups["db"]
    extra = Group.objects.create(name="extra")
    for index in range(3):
        record(
            fleet.hosts["db-1"],
            statuses(fleet.checks, {ACCOUNTS: (index * 10, 60 - index * 10)}),
            fleet.audits["db-1"].finished_at,
        )
    moved = fleet.hosts["vault-1"]
    moved.group = extra
    moved.save()
    Host.objects.filter(pk=fleet.hosts["web-1"].pk).delete()
    assert counters() == scanned()
    assert LatestCheckCount.objects.filter(group=db).exists()


def _today():
    from django.utils import timezone

    return timezone.localdate()


@pytest.mark.django_db
def test_the_check_counters_leave_room_for_their_updates() -> None:
    """Every store updates ~600 counter rows that a group's hosts share: on PostgreSQL their
    table keeps half of each page free so those updates stay on their page (reports 0005)."""
    from django.db import connection

    require(using_postgres(), "fillfactor is a PostgreSQL storage parameter")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE relname = %s",
            [LatestCheckCount._meta.db_table],
        )
        assert "fillfactor=50" in (cursor.fetchone()[0] or [])
