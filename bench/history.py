"""History benchmark: a year of weekly audits stored as reverse deltas (audits/history.py),
in PostgreSQL (docs/history.md reads these figures).

    DATABASE_URL=postgres://USER:PASS@127.0.0.1:5432/ANY .venv/bin/python bench/history.py
        [--hosts 100] [--weeks 12] [--checks 300] [--churn 0.02]

Weekly audits of every host go through the real store path (audits.store.store_outcome, with
the reports' aggregates and the reduction of the previous audit), each week `churn` of a
host's checks change status (with their evidence). Then: rows and bytes stored, the year
extrapolated to 10,000 hosts x 300 checks x 52 weeks, the time to rebuild one audit, and the
p50/p95 of every report over the whole range and of the pages (dashboard, host, old audit).
Full size: --hosts 10000 --weeks 52 (days on this machine; a dedicated server for that).
Works in a throwaway database (bulwark_bench_<pid>) dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import statistics
import sys
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


def store_history(args: argparse.Namespace, start: datetime) -> float:
    """Store every weekly audit of every host; return the results stored per second."""
    from bulwark.audits import services, store
    from bulwark.audits.models import Audit
    from bulwark.inventory.models import Group, Host

    rng = random.Random(17)
    group = Group.objects.create(name="history")
    hosts = [
        Host.objects.create(name=f"h{n:04d}", address="localhost", transport="local", group=group)
        for n in range(args.hosts)
    ]
    choices = ["passed"] * 6 + ["failed"] * 3 + ["not_applicable"]
    state = {h.pk: [rng.choice(choices) for _ in range(args.checks)] for h in hosts}
    real_timezone, spent = store.timezone, 0.0
    try:
        for week in range(args.weeks):
            moment = start + timedelta(weeks=week)
            store.timezone = SimpleNamespace(now=lambda moment=moment: moment)  # type: ignore[assignment]
            for host in hosts:
                statuses = state[host.pk]
                for index in rng.sample(range(args.checks), int(args.checks * args.churn)):
                    statuses[index] = rng.choice([s for s in choices if s != statuses[index]])
                audit = Audit.objects.create(host=host)
                claim = services.claim(audit.pk)
                assert claim is not None
                started = time.perf_counter()
                assert store.store_outcome(claim, bench_outcome(statuses))
                spent += time.perf_counter() - started
            done = (week + 1) * args.hosts * args.checks
            print(f"week {week + 1}/{args.weeks}: {done / spent:,.0f} results/s so far",
                  flush=True)  # fmt: skip
    finally:
        store.timezone = real_timezone  # type: ignore[assignment]
    return args.hosts * args.weeks * args.checks / spent


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


def timed_get(client: Any, urls: list[str]) -> tuple[float, float]:
    """p50 and p95 in ms of GETs through Django's full stack (middleware, views, templates)."""
    client.get(urls[0])  # warm-up: first-use imports and caches are not what is measured
    times = []
    for url in urls:
        started = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(times) * 1000, statistics.quantiles(times, n=20)[-1] * 1000


def measure(args: argparse.Namespace, rate: float) -> None:
    """The reverse-delta scheme as stored: size, rebuild time, every report and page p95."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from bulwark.audits import history
    from bulwark.audits.models import Audit, CategorySummary
    from bulwark.reports.documents import BUILDERS

    execute("ANALYZE")
    rows = scalar("SELECT count(*) FROM audits_result")
    # Each store inserts a full audit and deletes most of the previous one: without autovacuum
    # (off on some CI servers) the freed space is never reused. As stored, then compacted (what
    # autovacuum keeps it near: the space of about one week's deleted rows is reused).
    bloated = scalar("SELECT pg_total_relation_size('audits_result')")
    print(f"results table as stored (autovacuum {scalar('SHOW autovacuum')}): {mib(bloated)}")
    execute("VACUUM FULL audits_result")
    size = scalar("SELECT pg_total_relation_size('audits_result')")
    kept = sum(
        scalar(f"SELECT pg_total_relation_size('{t}')")
        for t in ("audits_audit", "audits_categorysummary", "audits_scoresample")
    )
    audits = scalar("SELECT count(*) FROM audits_audit")
    logical = audits * args.checks
    per_row = size / rows
    # A year: each host's latest in full, every other audit its differences (measured share).
    reduced_rows = scalar("SELECT count(*) FROM audits_result r JOIN audits_audit a"
                          " ON a.id = r.audit_id WHERE a.results_reduced")  # fmt: skip
    reduced_audits = scalar("SELECT count(*) FROM audits_audit WHERE results_reduced")
    per_reduced = reduced_rows / max(reduced_audits, 1)
    year_rows = 10_000 * (args.checks + 51 * per_reduced)
    year = year_rows * per_row + 10_000 * 52 * kept / audits
    print(f"stored {audits:,} audits = {logical:,} results through store_outcome: "
          f"{rate:,.0f} results/s ({rate / args.checks:,.1f} audits/s)")  # fmt: skip
    print(f"reverse deltas: {rows:,} rows ({rows / logical:.1%} of the results) = {mib(size)} "
          f"with indexes ({per_row:.0f} B/row); a reduced audit holds {per_reduced:.1f} rows; "
          f"audits, categories, samples {mib(kept)} ({kept / audits:,.0f} B/audit)")  # fmt: skip
    database = scalar("SELECT pg_database_size(current_database())")
    print(f"database size (pg_database_size): {mib(database)}")
    print(f"a year extrapolated (10,000 hosts x {args.checks} checks x 52): "
          f"{year_rows / 1e6:,.1f} M rows; {year / 2**30:,.2f} GiB with audits"
          " [goal <= 10 GB]")  # fmt: skip
    sample = list(Audit.objects.order_by("?").values_list("pk", flat=True)[:60])
    times = []
    for audit_id in sample:
        started = time.perf_counter()
        assert len(list(history.results_of(audit_id))) == args.checks
        times.append(time.perf_counter() - started)
    print(f"one audit's results rebuilt (history.results_of): p50 "
          f"{statistics.median(times) * 1000:.1f} ms p95 "
          f"{statistics.quantiles(times, n=20)[-1] * 1000:.1f} ms")  # fmt: skip
    root = get_user_model().objects.create_superuser("bench-root")
    client = Client()
    client.force_login(root)
    first = Audit.objects.order_by("finished_at").first()
    last = Audit.objects.order_by("-finished_at").first()
    assert first is not None and last is not None
    category = CategorySummary.objects.values_list("category", flat=True).first()
    span = (
        f"date_after={first.finished_at:%Y-%m-%d}&"
        f"date_before={last.finished_at + timedelta(days=1):%Y-%m-%d}&"
        + urlencode({"category": category})
    )
    hosts = list(Audit.objects.values_list("host_id", flat=True).distinct()[:20])
    for kind in sorted(BUILDERS):
        urls = [f"/api/reports/{kind}.json?{span}&host={h}" for h in hosts[:10]]
        p50, p95 = timed_get(client, urls)
        print(f"report {kind} over the whole range: p50 {p50:.0f} ms p95 {p95:.0f} ms")
    pages = {
        "dashboard": ["/"] * 5,
        "host page": [f"/hosts/{h}/" for h in hosts[:10]],
        "old audit page": [f"/audits/{a}/" for a in sample[:20]],
        "old audit via API": [f"/api/results/?audit={a}&limit=500" for a in sample[:20]],
    }
    for name, urls in pages.items():
        p50, p95 = timed_get(client, urls)
        print(f"page {name}: p50 {p50:.0f} ms p95 {p95:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--churn", type=float, default=0.02, help="share of checks changing")
    args = parser.parse_args()
    # The pages are read through Django's test client; a throwaway key signs its session.
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    configure()
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    from bulwark.policies.services import import_policy_texts

    connections["default"].settings_dict["TEST"]["NAME"] = f"bulwark_bench_{os.getpid()}"
    state = setup_databases(verbosity=0, interactive=False)
    try:
        import_policy_texts([("bench_policy.yml", policy_yaml(args.checks))])
        start = datetime.fromisoformat("2026-01-05T03:00:00+00:00")
        rate = store_history(args, start)
        measure(args, rate)
    finally:
        connections["default"].close()
        teardown_databases(state, verbosity=0)


if __name__ == "__main__":
    main()
