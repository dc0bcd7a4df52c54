"""History benchmark: a year of weekly audits stored as reverse deltas (audits/history.py),
in PostgreSQL (docs/history.md reads these figures).

    DATABASE_URL=postgres://USER:PASS@127.0.0.1:5432/ANY .venv/bin/python bench/history.py
        [--hosts 100] [--weeks 12] [--checks 300] [--churn 0.02] [--processes 2] [--days 7]
        [--keep | --reuse DATABASE | --resume DATABASE]

Weekly audits of every host go through the real store path (audits.store.store_outcome, with
the reports' aggregates and the reduction of the previous audit), `--processes` storing at a
time, each week `churn` of a host's checks change status (with their evidence), the hosts'
audits falling on `--days` days of the week in turn (the report counters hold a row per group,
check and day of a latest audit: hosts audited on 7 days are 7 times the rows of one day).
Progress is printed after each week, with the rate so far and the time left. Then: rows and bytes
stored, the year extrapolated to 10,000 hosts x 300 checks x 52 weeks, the time to rebuild
one audit, and the p50/p95 of every report over the whole range and of the pages
(dashboard, host, old audit).
Full size: --hosts 10000 --weeks 52 --keep (hours: the time a week takes and the estimate
for the whole year are printed as it goes); if it is stopped, `--resume DATABASE` with the
same --hosts/--weeks stores only what is missing (host by host, week by week).
Works in a throwaway database (bulwark_bench_<pid>), dropped at the end unless kept.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import secrets
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import configure, policy_yaml  # noqa: E402
from bench.outcomes import bench_outcome  # noqa: E402

YEAR_RESULTS = 10_000 * 300 * 52
CHOICES = ["passed"] * 6 + ["failed"] * 3 + ["not_applicable"]


def statuses_at(host_index: int, week: int, checks: int, churn: float) -> list[str]:
    """A host's check statuses in a week: deterministic (the same in any process), each week
    `churn` of them changing status from the week before."""
    rng = random.Random(host_index)
    statuses = [rng.choice(CHOICES) for _ in range(checks)]
    for past in range(week + 1):
        rng = random.Random(host_index * 1000 + past)
        for index in rng.sample(range(checks), int(checks * churn)):
            statuses[index] = rng.choice([s for s in CHOICES if s != statuses[index]])
    return statuses


def store_week(task: tuple[int, datetime, list[int], int, float, int]) -> tuple[float, int]:
    """Store one week's audit of each of these hosts (in a worker process) that does not have
    it yet (a resumed run skips what an interrupted one stored), each host on its day of the
    week (`days` days from `moment`); returns the seconds spent in store_outcome and the
    audits stored."""
    from bulwark.audits import services, store
    from bulwark.audits.models import Audit

    week, moment, host_ids, checks, churn, days = task
    real_timezone, spent, stored = store.timezone, 0.0, 0
    now = [moment]
    store.timezone = SimpleNamespace(now=lambda: now[0])  # type: ignore[assignment]
    done = set(
        Audit.objects.filter(host_id__in=host_ids, stored_seq__gt=week).values_list(
            "host_id", flat=True
        )
    )
    try:
        for host_id in host_ids:
            if host_id in done:
                continue
            now[0] = moment + timedelta(days=host_id % days)
            outcome = bench_outcome(statuses_at(host_id, week, checks, churn))
            audit = Audit.objects.create(host_id=host_id)
            claim = services.claim(audit.pk)
            assert claim is not None
            started = time.perf_counter()
            assert store.store_outcome(claim, outcome)
            spent += time.perf_counter() - started
            stored += 1
    finally:
        store.timezone = real_timezone  # type: ignore[assignment]
    return spent, stored


def bench_hosts(args: argparse.Namespace) -> dict[int, list[int]]:
    """The hosts by group: created (50 a group, and at least a group per process), or those
    of a resumed database. Unfinished audits of an interrupted run (created, never stored)
    are deleted."""
    from bulwark.audits.models import Audit
    from bulwark.inventory.models import Group, Host

    Audit.objects.filter(stored_seq__isnull=True).delete()
    if not Host.objects.exists():
        count = min(args.hosts, max(1, args.processes, args.hosts // 50))
        groups = [Group.objects.create(name=f"history{n}") for n in range(count)]
        for n in range(args.hosts):
            group = groups[n % len(groups)]
            Host.objects.create(
                name=f"h{n:05d}", address="localhost", transport="local", group=group
            )
    by_group: dict[int, list[int]] = {}
    for pk, group_id in Host.objects.order_by("pk").values_list("pk", "group_id"):
        by_group.setdefault(group_id, []).append(pk)
    return by_group


# The small tables every store updates (a row of each per host, group, or group, day and
# check): autovacuum visits such tables about once a minute (its naptime) on a server that runs
# it. Without that the report counters' table grew to 8 times its size in a week of 10,000
# stores (2.5 M updates) and the dashboard read it all.
HOT_TABLES = [
    "reports_latestcheckcount",
    "reports_latestchecktotal",
    "reports_dailygroupsummary",
    "reports_countedaudit",
    "inventory_host",
]


# The growing tables, analyzed as often: autovacuum's analyze runs once a tenth of a table's
# rows changed (a minute or two of storing here). With the statistics of a smaller table the
# reduction's DELETE took 1.7 ms per check (a bitmap AND of three indexes instead of the
# unique index): 500 ms a store at 10,000 hosts.
GROWING_TABLES = ["audits_result", "audits_audit", "audits_categorysummary"]


class Autovacuum(threading.Thread):
    """VACUUM the hot tables and ANALYZE the growing ones every `every` seconds while stores
    run, as autovacuum would on a server where it is on (it is off on some, such as the one
    these benchmarks ran on)."""

    def __init__(self, every: float = 60.0) -> None:
        super().__init__(daemon=True)
        self.every = every
        self.stopped = threading.Event()

    def run(self) -> None:
        from django.db import connection

        try:
            while not self.stopped.wait(self.every):
                for table in HOT_TABLES:
                    execute(f"VACUUM {table}")
                for table in GROWING_TABLES:
                    execute(f"ANALYZE {table}")
        finally:
            connection.close()


def store_history(args: argparse.Namespace, start: datetime) -> tuple[float, float] | None:
    """Store every weekly audit of every host, `--processes` at a time (as workers store
    concurrently), the hot tables vacuumed and the growing ones analyzed every minute
    meanwhile and everything after each week, as autovacuum would (it is off on some
    servers: without it the space of the rows each reduction deletes is never reused). A
    process stores one group's hosts at a time: stores of one group add to the same report counters
    (a row per group, day and check), whose row locks would make processes wait for each
    other's commits. Returns results stored per second of wall time and per second of store
    time (both over the audits this run stored; None if it stored none)."""
    from django.db import connections

    by_group = bench_hosts(args)
    hosts = sum(len(h) for h in by_group.values())
    connections.close_all()  # each process opens its own
    tasks_of_week = [hosts_of for _, hosts_of in sorted(by_group.items())]
    wall, spent, stored = 0.0, 0.0, 0
    autovacuum = Autovacuum()
    with multiprocessing.get_context("fork").Pool(args.processes) as pool:
        autovacuum.start()  # after the fork: the processes do not share its connection
        for week in range(args.weeks):
            moment = start + timedelta(weeks=week)
            started = time.perf_counter()
            tasks = [
                (week, moment, chunk, args.checks, args.churn, args.days) for chunk in tasks_of_week
            ]
            answers = pool.map(store_week, tasks)
            if not sum(n for _, n in answers):
                continue  # stored by an interrupted run
            spent += sum(t for t, _ in answers)
            stored += sum(n for _, n in answers)
            wall += time.perf_counter() - started
            execute("VACUUM ANALYZE")  # the results and the report counters churn most
            rate = stored / wall
            left = (args.weeks - week - 1) * hosts / rate
            print(f"week {week + 1}/{args.weeks}: {rate:,.1f} audits/s"
                  f" ({rate * args.checks:,.0f} results/s) so far; about {left / 60:,.0f} min"
                  " left", flush=True)  # fmt: skip
    autovacuum.stopped.set()
    autovacuum.join()
    if not stored:
        return None
    full = 10_000 * 52 / (stored / wall)
    print(f"at this rate, the full year (10,000 hosts x 52 = 520,000 stores) would take"
          f" {full / 3600:,.1f} h with {args.processes} processes", flush=True)  # fmt: skip
    return stored * args.checks / wall, stored * args.checks / spent * args.processes


def scalar(sql: str, params: list[Any] | None = None) -> Any:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


def execute(sql: str, params: list[Any] | None = None) -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
    return time.perf_counter() - started


def timed(sql: str, params_list: list[list[Any]]) -> tuple[float, float]:
    times = [execute(sql, params) for params in params_list]
    return statistics.median(times) * 1000, statistics.quantiles(times, n=20)[-1] * 1000


def mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


def timed_get(client: Any, urls: list[str]) -> tuple[float, float, float]:
    """p50 and p95 in ms of GETs through Django's full stack (middleware, views, templates),
    and the p95 of this process's CPU time per GET (Django's own work, without the database
    server's: on a loaded machine the wall time is mostly waiting for a core)."""
    client.get(urls[0])  # warm-up: first-use imports and caches are not what is measured
    times, cpu = [], []
    for url in urls:
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        assert response.status_code == 200, (url, response.status_code)
    p95 = statistics.quantiles(times, n=20)[-1] * 1000
    return statistics.median(times) * 1000, p95, statistics.quantiles(cpu, n=20)[-1] * 1000


def measure(args: argparse.Namespace, rates: tuple[float, float] | None) -> None:
    """The reverse-delta scheme as stored: size, rebuild time, every report and page p95."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bulwark.audits import history
    from bulwark.audits.models import Audit, CategorySummary
    from bulwark.inventory.models import Host
    from bulwark.reports.documents import BUILDERS

    # What autovacuum does on a server that runs it (this one may not): the space of deleted
    # rows made reusable and the planner's statistics current, before anything is measured.
    execute("VACUUM ANALYZE")
    hosts_stored = scalar("SELECT count(DISTINCT host_id) FROM audits_audit")
    audits = scalar("SELECT count(*) FROM audits_audit")
    weeks = scalar("SELECT max(stored_seq) FROM audits_audit")
    rows = scalar("SELECT count(*) FROM audits_result")
    size = scalar("SELECT pg_total_relation_size('audits_result')")
    kept = sum(
        scalar(f"SELECT pg_total_relation_size('{t}')")
        for t in ("audits_audit", "audits_categorysummary", "audits_scoresample")
    )
    logical = audits * args.checks
    per_row = size / rows
    reduced_rows = scalar("SELECT count(*) FROM audits_result r JOIN audits_audit a"
                          " ON a.id = r.audit_id WHERE a.results_reduced")  # fmt: skip
    reduced_audits = scalar("SELECT count(*) FROM audits_audit WHERE results_reduced")
    per_reduced = reduced_rows / max(reduced_audits, 1)
    database = scalar("SELECT pg_database_size(current_database())")
    print(f"stored (after VACUUM ANALYZE): {hosts_stored:,} hosts x {weeks} weeks ="
          f" {audits:,} audits = {logical:,} results through store_outcome")  # fmt: skip
    if rates:
        print(f"store throughput with {args.processes} processes: {rates[0]:,.0f} results/s"
              f" ({rates[0] / args.checks:,.1f} audits/s) wall clock; {rates[1]:,.0f}"
              " results/s per process-second in store_outcome")  # fmt: skip
    print(f"reverse deltas: {rows:,} rows ({rows / logical:.1%} of the results) = {mib(size)} "
          f"with indexes ({per_row:.0f} B/row); a reduced audit holds {per_reduced:.1f} rows; "
          f"audits, categories, samples {mib(kept)} ({kept / audits:,.0f} B/audit)")  # fmt: skip
    print(f"database size (pg_database_size, all tables and indexes): {mib(database)}")
    # A year of 10,000 hosts: each host's latest in full, 51 reduced audits (measured share),
    # at the measured bytes per result row and per audit.
    year_rows = 10_000 * (args.checks + 51 * per_reduced)
    year = year_rows * per_row + 10_000 * 52 * kept / audits
    # B-tree pages ordered by audit keep a reduced audit's few rows on the page that held its
    # 300 (VACUUM frees only empty pages): what a periodic REINDEX or VACUUM FULL gives back.
    execute("VACUUM FULL audits_result")
    compact = scalar("SELECT pg_total_relation_size('audits_result')")
    compact_year = 10_000 * (args.checks + 51 * per_reduced) * compact / rows
    compact_year += 10_000 * 52 * kept / audits
    print(f"results table after VACUUM FULL (indexes rebuilt): {mib(compact)}"
          f" ({compact / rows:.0f} B/row); a year: {compact_year / 2**30:,.2f} GiB")  # fmt: skip
    print(f"a year at 10,000 hosts x {args.checks} checks x 52, from these per-row and"
          f" per-audit sizes: {year_rows / 1e6:,.1f} M rows; {year / 2**30:,.2f} GiB"
          " [goal <= 10 GB]")  # fmt: skip
    # Audits from all over the year: most reduced (older), some latest.
    sample = list(Audit.objects.order_by("?").values_list("pk", flat=True)[:60])
    times = []
    for audit_id in sample:
        started = time.perf_counter()
        assert len(list(history.results_of(audit_id))) == args.checks
        times.append(time.perf_counter() - started)
    print(f"one audit's results rebuilt (history.results_of): p50 "
          f"{statistics.median(times) * 1000:.1f} ms p95 "
          f"{statistics.quantiles(times, n=20)[-1] * 1000:.1f} ms")  # fmt: skip
    User = get_user_model()
    root = User.objects.filter(username="bench-root").first()
    root = root or User.objects.create_superuser("bench-root")  # kept by a --reuse
    client = Client()
    client.force_login(root)
    first = Audit.objects.order_by("finished_at").first()
    last = Audit.objects.order_by("-finished_at").first()
    assert first is not None and last is not None
    category = CategorySummary.objects.values_list("category", flat=True).first()
    year = (
        f"date_after={first.finished_at:%Y-%m-%d}&"
        f"date_before={last.finished_at + timedelta(days=1):%Y-%m-%d}"
    )
    span = f"{year}&{urlencode({'category': category})}"
    hosts = list(Audit.objects.values_list("host_id", flat=True).distinct()[:20])
    groups = list(Host.objects.filter(pk__in=hosts).values_list("group_id", flat=True))
    for kind in sorted(BUILDERS):
        urls = [f"/api/reports/{kind}.json?{span}&host={h}" for h in hosts[:10]]
        p50, p95, cpu = timed_get(client, urls)
        print(f"report {kind} over the whole range: p50 {p50:.0f} ms p95 {p95:.0f} ms"
              f" (CPU p95 {cpu:.0f} ms)")  # fmt: skip
    # Older audits from all over the year (reduced, rebuilt from their chain), and latest
    # ones (kept in full, the plain read).
    old = list(
        Audit.objects.filter(results_reduced=True).order_by("?").values_list("pk", flat=True)[:20]
    )
    latest = list(Audit.objects.filter(latest=True).order_by("?").values_list("pk", flat=True)[:20])
    pages = {
        # Over the stored year (the default, the last 30 days, may hold none of it).
        "dashboard": [f"/?{year}"] * 5,
        "dashboard of a category": [f"/?{span}"] * 5,
        "dashboard of a group": [f"/?{year}&group={g}" for g in groups[:5]],
        "host page": [f"/hosts/{h}/" for h in hosts[:10]],
        "old audit page": [f"/audits/{a}/" for a in old],
        "latest audit page": [f"/audits/{a}/" for a in latest],
        "old audit via API": [f"/api/results/?audit={a}&limit=500" for a in old],
        "latest audit via API": [f"/api/results/?audit={a}&limit=500" for a in latest],
        "a host's results via API": [f"/api/results/?host={h}&limit=500" for h in hosts[:10]],
    }
    # Every other page a person opens, at the fleet's size: lists of every host, group and
    # row of the operator's pages (first and a late page), and the forms that pick a host.
    named = Host.objects.order_by("?").values_list("name", flat=True)[:5]
    late = max(1, Host.objects.count() // 50 - 1)
    pages.update(
        {
            "host list": [f"/hosts/?{year}"] * 5,
            "host list, every host, a late page": [f"/hosts/?all=on&page={late}"] * 5,
            "reports page": [f"/reports/?{year}"] * 5,
            "alerts": ["/alerts/"] * 5,
            "exceptions": ["/exceptions/"] * 5,
            "zones": ["/zones/"] * 5,
            "groups": ["/manage/groups/"] * 5,
            "policies and assignments": ["/manage/policies/"] * 5,
            "manage hosts": ["/manage/hosts/"] * 5,
            "manage hosts, a late page": [f"/manage/hosts/?page={late}"] * 5,
            "manage hosts by name": [f"/manage/hosts/?{urlencode({'q': n})}" for n in named],
            "manage schedules": ["/manage/schedules/"] * 5,
            "new schedule form": ["/manage/schedules/new/"] * 5,
            "new assignment form": ["/manage/assignments/new/"] * 5,
        }
    )
    for name, urls in pages.items():
        p50, p95, cpu = timed_get(client, urls)
        print(f"page {name}: p50 {p50:.0f} ms p95 {p95:.0f} ms (CPU p95 {cpu:.0f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--churn", type=float, default=0.02, help="share of checks changing")
    parser.add_argument("--processes", type=int, default=2, help="hosts stored at a time")
    parser.add_argument(
        "--days",
        type=int,
        default=7,
        choices=range(1, 8),
        metavar="1-7",
        help="the days of each week the hosts' audits fall on (1: all on one day, as the "
        "figures before 2026-12 were stored; 7: a host a day in turn, the most counter rows)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument("--reuse", metavar="DATABASE", help="measure a kept database again")
    parser.add_argument(
        "--resume",
        metavar="DATABASE",
        help="store what a kept (or interrupted --keep) run has not stored yet, then measure",
    )
    args = parser.parse_args()
    # The pages are read through Django's test client; a throwaway key signs its session.
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    configure()
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    from bulwark.policies.services import import_policy_texts

    name = args.reuse or args.resume or f"bulwark_bench_{os.getpid()}"
    connections["default"].settings_dict["TEST"]["NAME"] = name
    keep = args.keep or bool(args.reuse or args.resume)
    # keepdb: a kept database is migrated to this code (new indexes), not recreated.
    state = setup_databases(verbosity=0, interactive=False, keepdb=bool(args.reuse or args.resume))
    try:
        rates = None
        if not args.reuse:
            if not args.resume:
                import_policy_texts([("bench_policy.yml", policy_yaml(args.checks))])
            start = datetime.fromisoformat("2026-01-05T03:00:00+00:00")
            rates = store_history(args, start)
        measure(args, rates)
    finally:
        connections["default"].close()
        teardown_databases(state, verbosity=0, keepdb=keep)
        if keep:
            print(f"database kept: {name} (--reuse {name} to measure it again)")


if __name__ == "__main__":
    main()
