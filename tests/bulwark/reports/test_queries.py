"""The report queries: the seed's figures, the time range, group filters and isolation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from bulwark.reports import queries
from bulwark.reports.parameters import Filters, default_filters
from tests.bulwark.reports.fleet import ACCOUNTS, HOSTILE, LOGS, SECURE, Fleet


def test_worst_hosts_shows_the_seed_score_and_orders_worst_first(fleet: Fleet) -> None:
    root = fleet.users["root"]
    hosts = queries.worst_hosts(root, default_filters())
    assert [h.name for h in hosts] == ["vault-1", "db-1", "web-1", HOSTILE]
    web = next(h for h in hosts if h.name == "web-1")
    assert (web.passed, web.failed, web.not_applicable, web.score) == (10, 2, 192, 83.33)


def test_worst_hosts_limit_and_group_filter(fleet: Fleet) -> None:
    root = fleet.users["root"]
    f = default_filters()
    assert [h.name for h in queries.worst_hosts(root, f.but(limit=1))] == ["vault-1"]
    only_web = queries.worst_hosts(root, f.but(group_id=fleet.groups["web"].pk))
    assert {h.name for h in only_web} == {"web-1", HOSTILE}


def test_category_figures_of_the_seed(fleet: Fleet) -> None:
    f = default_filters().but(group_id=fleet.groups["db"].pk)
    found = {c.category: c for c in queries.categories(fleet.users["alice"], f)}
    assert (found[ACCOUNTS].passed, found[ACCOUNTS].failed) == (14, 46)
    assert round(found[ACCOUNTS].score or 0) == 23
    assert (found[SECURE].passed, found[SECURE].failed) == (92, 16)
    assert round(found[SECURE].score or 0) == 85
    # Ranked by failures: 46 before 16.
    assert [c.category for c in queries.categories(fleet.users["alice"], f)][:2] == [
        ACCOUNTS,
        SECURE,
    ]
    one = queries.category_results(fleet.users["alice"], f.but(category=SECURE))
    assert (one.passed, one.failed, one.not_applicable) == (92, 16, 0)


def test_most_failed_checks_count_hosts_across_groups(fleet: Fleet) -> None:
    f = default_filters()
    top = queries.most_failed_checks(fleet.users["root"], f.but(limit=3))
    # ACC-011/012 fail on web-1 and vault-1, ACC-015..060 on db-1 and vault-1: two hosts each,
    # ties by check.
    assert [c.hosts for c in top] == [2, 2, 2]
    assert queries.most_failed_checks(fleet.users["alice"], f.but(limit=1))[0].hosts == 1
    assert top[0].check_id == "ACC-011" and top[0].description.startswith("What ACC-011")
    in_logs = queries.most_failed_checks(fleet.users["root"], f.but(category=LOGS, limit=50))
    assert {c.category for c in in_logs} == {LOGS}


def test_host_checks_filter_by_category_and_status(fleet: Fleet) -> None:
    f = default_filters().but(host_id=fleet.hosts["web-1"].pk)
    alice = fleet.users["alice"]
    assert len(queries.host_checks(alice, f)) == 204
    failed = queries.host_checks(alice, f.but(status="failed"))
    assert [r.check_id for r in failed] == ["ACC-011", "ACC-012"]
    assert len(queries.host_checks(alice, f.but(category=SECURE, status="passed"))) == 0
    # Another group than the host's: nothing.
    assert queries.host_checks(alice, f.but(group_id=fleet.groups["db"].pk)) == []


def test_scoring_from_the_host_row_equals_the_daily_history(fleet: Fleet) -> None:
    root = fleet.users["root"]
    f = default_filters()
    assert queries.scoring(root, f) == queries.scoring_from_history(root, f)


def test_scoring_of_a_past_range_reads_the_history(fleet: Fleet) -> None:
    today = timezone.localdate()
    past = Filters(start_day=today - dt.timedelta(days=20), end_day=today - dt.timedelta(days=5))
    rows = {h.name: h.score for h in queries.scoring(fleet.users["root"], past)}
    # db-1 14 days ago: 54 passed, 114 failed; web-1 7 days ago: 6 passed, 6 failed.
    assert rows == {"db-1": 32.14, "web-1": 50.0}


def test_evolution_averages_per_day(fleet: Fleet) -> None:
    points = queries.evolution(fleet.users["root"], default_filters())
    today = [p for p in points if p.day == timezone.localdate()]
    assert len(points) == 3
    assert len(today) == 1 and today[0].hosts == 4
    # Today's audits: web-1 10/2, db-1 106/62, hostile 32/4, vault-1 1/95.
    assert today[0].passed == round((10 + 106 + 32 + 1) / 4, 2)
    assert today[0].failed == round((2 + 62 + 4 + 95) / 4, 2)


def test_overview_totals_and_averages(fleet: Fleet) -> None:
    data = queries.overview(fleet.users["alice"], default_filters())
    assert data.total_hosts == 4  # web-1, web-new, hostile, db-1: never vault-1
    assert data.audited_hosts == 3
    assert data.average_score == round((83.33 + 63.1 + 88.89) / 3, 2)
    assert {g.name: g.average for g in data.groups} == {
        "db": 63.1,
        "web": round((83.33 + 88.89) / 2, 2),
    }


def test_a_range_before_the_latest_audits_counts_no_latest_state(fleet: Fleet) -> None:
    today = timezone.localdate()
    old = Filters(start_day=today - dt.timedelta(days=60), end_day=today - dt.timedelta(days=31))
    assert queries.worst_hosts(fleet.users["root"], old) == []
    assert queries.categories(fleet.users["root"], old) == []


def test_isolation_every_query(fleet: Fleet) -> None:
    """alice never sees vault-1 or its numbers; carol (no group) sees nothing at all."""
    f = default_filters()
    for user, hidden in ((fleet.users["alice"], "vault-1"), (fleet.users["bob"], "web-1")):
        names = {h.name for h in queries.worst_hosts(user, f.but(limit=100))}
        names |= {h.name for h in queries.scoring(user, f)}
        names |= {h.name for h in queries.scoring_from_history(user, f)}
        names |= {h.name for h in queries.hosts_by_failures(user, f)}
        names |= {h.name for h in queries.host_list(user, f, include_never_audited=True)}
        assert hidden not in names
    vault = fleet.hosts["vault-1"]
    alice = fleet.users["alice"]
    assert queries.host_checks(alice, f.but(host_id=vault.pk)) == []
    assert queries.audit_results(alice, fleet.audits["vault-1"].pk) == []
    assert queries.audit_categories(alice, fleet.audits["vault-1"].pk) == []
    assert queries.score_history(alice, vault.pk, f) == []
    # vault-1 fails LOG-001..036; nobody alice sees fails a LOG check but the hostile host.
    logs = queries.most_failed_checks(alice, f.but(category=LOGS, limit=100))
    assert all(c.hosts == 1 for c in logs)
    carol = fleet.users["carol"]
    assert queries.overview(carol, f).total_hosts == 0
    assert queries.evolution(carol, f) == []
    assert queries.categories(carol, f) == []
    assert queries.most_failed_checks(carol, f) == []


def test_one_scan_of_the_counters_gives_categories_and_checks_in_a_fixed_order() -> None:
    """The dashboard's category summary and most failed checks come from one scan
    (queries._check_sums); their order is the code's, not the database's collation: ties on
    failures by code point, checks by id, and a check counted under two categories (its
    category renamed between audits) counted once."""
    from bulwark.reports.queries import _by_category, _rank_checks

    def row(check: int, category: str, failed: int, excepted: int = 0) -> dict[str, int | str]:
        return {"policy_check_id": check, "category": category, "p": 1, "fl": failed, "na": 0,
                "ex": excepted}  # fmt: skip

    sums = [row(1, "b", 2), row(2, "B", 2), row(3, "a", 2), row(4, "c", 5), row(4, "d", 1)]
    assert [c.category for c in _by_category(sums)] == ["c", "B", "a", "b", "d"]
    assert [c.failed for c in _by_category(sums)] == [5, 2, 2, 2, 1]
    sums += [row(5, "e", 0, excepted=3), row(6, "e", 0)]
    ranked = list(_rank_checks(sums, 10).items())  # check 6: nothing to show
    assert ranked == [(4, (6, 0)), (1, (2, 0)), (2, (2, 0)), (3, (2, 0)), (5, (0, 3))]
    assert list(_rank_checks(sums, 2)) == [4, 1]


def test_the_check_totals_less_the_days_outside_give_what_the_days_inside_give(
    fleet: Fleet,
) -> None:
    """A range holding most hosts' latest audits (the dashboard's, to today) sums
    LatestCheckTotal less the counter rows of the days outside it; one holding few (in the
    past) sums the counter rows of its days. Both give the same, whoever asks, for any range,
    group and category, with hosts last audited days ago."""
    from bulwark.inventory.models import Host
    from tests.bulwark.reports.fleet import record, statuses

    now = timezone.now()
    for name, group, days, plan in [
        ("web-stale", "web", 3, {ACCOUNTS: (20, 40), LOGS: (30, 6)}),
        ("db-stale", "db", 10, {SECURE: (100, 8)}),
        ("db-older", "db", 40, {ACCOUNTS: (1, 59)}),
    ]:
        host = Host.objects.create(
            name=name, address="192.0.2.40", group=fleet.groups[group], transport="local"
        )
        record(host, statuses(fleet.checks, plan), now - dt.timedelta(days=days))

    def counted(rows: list[dict[str, object]]) -> dict[object, tuple[object, ...]]:
        keep = [r for r in rows if r["p"] or r["fl"] or r["na"] or r["ex"]]
        return {
            r["policy_check_id"]: (r["category"], r["p"], r["fl"], r["na"], r["ex"]) for r in keep
        }

    today = timezone.localdate()
    compared = 0
    for user in ("root", "alice", "bob"):
        for days in (1, 5, 11, 30, 400):
            for group in (None, "web", "db"):
                for category in ("", ACCOUNTS, SECURE):
                    f = Filters(start_day=today - dt.timedelta(days=days - 1), end_day=today)
                    f = f.but(group_id=fleet.groups[group].pk if group else None, category=category)
                    who = fleet.users[user]
                    from_totals = counted(queries._sums_to_date(who, f))
                    by_day = list(
                        queries.check_counts(who, f)
                        .values("policy_check_id", "category")
                        .annotate(**queries._SUMS)
                    )
                    assert from_totals == counted(by_day), (user, days, group, category)
                    compared += bool(from_totals)
    assert compared > 40  # most of them count something
    # A range to today is read from the totals, one in the past from its days; the reports'
    # figures are those.
    f = Filters(start_day=today - dt.timedelta(days=4), end_day=today)
    assert queries._holds_most_latest_audits(f)
    assert not queries._holds_most_latest_audits(f.but(end_day=today - dt.timedelta(days=1)))
    web = fleet.groups["web"].pk
    accounts = queries.category_results(fleet.users["root"], f.but(group_id=web, category=ACCOUNTS))
    assert (accounts.passed, accounts.failed) == (10 + 20, 2 + 40)  # web-1 and web-stale
    older = f.but(start_day=today - dt.timedelta(days=4), end_day=today - dt.timedelta(days=1))
    assert (
        queries.category_results(
            fleet.users["root"], older.but(group_id=web, category=ACCOUNTS)
        ).failed
        == 40
    )


@pytest.mark.django_db(transaction=True)
def test_the_totals_and_the_days_outside_them_are_read_in_one_snapshot() -> None:
    """A host moving group between the two reads would be subtracted from a group whose totals
    were read without it: both reads are one transaction, REPEATABLE READ on PostgreSQL."""
    from django.db import connection

    assert not connection.in_atomic_block
    with queries._one_snapshot():
        assert connection.in_atomic_block
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW transaction_isolation")
                assert cursor.fetchone()[0] == "repeatable read"
    assert not connection.in_atomic_block
