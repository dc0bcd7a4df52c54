"""History storage benchmark: the three ways to keep a year of per-check results, measured on
the same simulated fleet in PostgreSQL (docs/history.md reads these figures).

    DATABASE_URL=postgres://USER:PASS@127.0.0.1:5432/ANY .venv/bin/python bench/history.py
        [--hosts 100] [--weeks 12] [--checks 300] [--churn 0.02]

Weekly audits of every host go through the real store path (audits.store.store_outcome, with
the reports' aggregates), each week `churn` of a host's checks change status (with their
evidence). Then, on the same rows:
  - full results (today's scheme) purged by DELETE (audits.retention): bytes per result, the
    year extrapolated to 10,000 hosts x 300 checks x 52 weeks, delete rate;
  - keep-changes-only: the rows that differ from the host's previous audit, its size, and the
    cost of reconstructing one full audit from it versus reading it;
  - monthly partitions: the same rows in a table partitioned by month, its size, and the time
    to drop the oldest month versus deleting it.
Works in a throwaway database (bulwark_bench_<pid>) dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import configure, policy_yaml  # noqa: E402

YEAR_RESULTS = 10_000 * 300 * 52


def outcome(statuses: list[str]) -> Any:
    """An AuditOutcome of the bench policy with these statuses; evidence follows the status."""
    from bulwark.policies.services import enabled_definitions
    from workers.audit import AuditOutcome, HostInfo
    from workers.engine.categories import category_of
    from workers.engine.evaluate import (
        CheckEvaluation,
        CheckStatus,
        PolicyEvaluation,
        PolicyStatus,
        RuleEvidence,
    )
    from workers.engine.scoring import summarize, summarize_by_category

    (policy,) = enabled_definitions()
    checks = []
    for index, (check, status) in enumerate(zip(policy.checks, statuses, strict=True)):
        value = CheckStatus(status)
        line = f"setting{index} {'yes' if value is CheckStatus.PASSED else 'no'}"
        evidence = RuleEvidence(check.rules[0].raw, status, f"/etc/bench/{index}.conf", line)
        reason = "file missing" if value is CheckStatus.NOT_APPLICABLE else None
        checks.append(
            CheckEvaluation(policy.id, check, value, reason, category_of(check), (evidence,))
        )
    host = HostInfo("linux", "debian", "12", "bench", "6.1.0", "x86_64", "Debian GNU/Linux 12")
    return AuditOutcome(
        host=host,
        policies=(PolicyEvaluation(policy, PolicyStatus.APPLICABLE, None, tuple(checks)),),
        summary=summarize(checks),
        categories=tuple(summarize_by_category(checks)),
        executions=1,
        stages=2,
        seconds=0.5,
    )


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
                assert store.store_outcome(claim, outcome(statuses))
                spent += time.perf_counter() - started
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


def measure(args: argparse.Namespace, rate: float) -> None:
    execute("ANALYZE")
    rows = scalar("SELECT count(*) FROM audits_result")
    full = scalar("SELECT pg_total_relation_size('audits_result')")
    kept = sum(
        scalar(f"SELECT pg_total_relation_size('{t}')")
        for t in ("audits_audit", "audits_categorysummary", "audits_scoresample")
    )
    audits = scalar("SELECT count(*) FROM audits_audit")
    per_row = full / rows
    print(f"stored {rows:,} results of {audits:,} audits through store_outcome: "
          f"{rate:,.0f} results/s")  # fmt: skip
    print(f"full results: {mib(full)} with indexes = {per_row:.0f} bytes per result; a year "
          f"(10,000 x 300 x 52) = {per_row * YEAR_RESULTS / 2**30:,.1f} GiB "
          f"[goal <= 10 GB]; per audit kept forever (audit, categories, sample): "
          f"{kept / audits:,.0f} bytes")  # fmt: skip

    # Keep-changes-only: a result is stored when its status or evidence differs from the host's
    # previous audit (and always in the host's first audit).
    execute(
        "CREATE TABLE bench_changes AS SELECT r.id, r.audit_id, r.policy_check_id, r.status,"
        " r.reason, r.evidence, a.host_id, a.finished_at FROM ("
        "  SELECT r.*, a.host_id, lag(r.status) OVER w AS prev_status,"
        "   lag(r.evidence::text) OVER w AS prev_evidence"
        "  FROM audits_result r JOIN audits_audit a ON a.id = r.audit_id"
        "  WINDOW w AS (PARTITION BY a.host_id, r.policy_check_id ORDER BY a.finished_at)"
        " ) r JOIN audits_audit a ON a.id = r.audit_id"
        " WHERE r.prev_status IS NULL OR r.prev_status <> r.status"
        " OR r.prev_evidence <> r.evidence::text"
    )
    execute("CREATE INDEX ON bench_changes (host_id, policy_check_id, finished_at DESC)")
    execute("ANALYZE bench_changes")
    changed = scalar("SELECT count(*) FROM bench_changes")
    size = scalar("SELECT pg_total_relation_size('bench_changes')")
    # A year: every host's first audit in full, then only the changes of 51 weekly audits.
    first_audits = args.hosts * args.checks
    changing = (changed - first_audits) / (rows - first_audits)
    year_rows = YEAR_RESULTS / 52 * (1 + 51 * changing)
    year = year_rows * size / changed / 2**30
    print(f"keep-changes-only: {changed:,} rows ({changed / rows:.1%} of full) = {mib(size)}; "
          f"{changing:.1%} of a later audit's results change; a year at this churn = "
          f"{year_rows / 1e6:,.1f} M rows = {year:,.1f} GiB")  # fmt: skip
    sample = scalar("SELECT array_agg(id ORDER BY random()) FROM"
                    " (SELECT id FROM audits_audit ORDER BY random() LIMIT 40) x")  # fmt: skip
    pairs = [
        [scalar("SELECT host_id FROM audits_audit WHERE id = %s", [a]),
         scalar("SELECT finished_at FROM audits_audit WHERE id = %s", [a])]
        for a in sample
    ]  # fmt: skip
    read = timed("SELECT * FROM audits_result WHERE audit_id = %s", [[a] for a in sample])
    rebuilt = timed(
        "SELECT DISTINCT ON (policy_check_id) * FROM bench_changes"
        " WHERE host_id = %s AND finished_at <= %s ORDER BY policy_check_id, finished_at DESC",
        pairs,
    )
    print(f"one audit's results: read in full p50 {read[0]:.1f} ms p95 {read[1]:.1f} ms; "
          f"rebuilt from changes p50 {rebuilt[0]:.1f} ms p95 {rebuilt[1]:.1f} ms")  # fmt: skip

    # Monthly partitions of the same rows.
    first, last = (
        scalar("SELECT min(finished_at) FROM audits_audit"),
        scalar("SELECT max(finished_at) FROM audits_audit"),
    )
    execute(
        "CREATE TABLE bench_part (id bigint, audit_id bigint, policy_check_id bigint,"
        " status varchar(16), reason text, evidence jsonb, month date NOT NULL)"
        " PARTITION BY RANGE (month)"
    )
    month = first.date().replace(day=1)
    months = []
    while month <= last.date():
        following = (month + timedelta(days=32)).replace(day=1)
        name = f"bench_part_{month:%Y%m}"
        execute(f"CREATE TABLE {name} PARTITION OF bench_part FOR VALUES FROM"
                f" ('{month}') TO ('{following}')")  # fmt: skip
        months.append((name, month, following))
        month = following
    execute(
        "INSERT INTO bench_part SELECT r.id, r.audit_id, r.policy_check_id, r.status, r.reason,"
        " r.evidence, date_trunc('month', a.finished_at)::date FROM audits_result r"
        " JOIN audits_audit a ON a.id = r.audit_id"
    )
    execute("CREATE INDEX ON bench_part (audit_id)")
    execute("CREATE UNIQUE INDEX ON bench_part (audit_id, policy_check_id, month)")
    size = sum(scalar(f"SELECT pg_total_relation_size('{n}')") for n, _, _ in months)
    oldest, start, end = months[0]
    in_oldest = scalar(f"SELECT count(*) FROM {oldest}")  # noqa: S608
    dropped = execute(f"DROP TABLE {oldest}")
    deleted_ids = "SELECT id FROM audits_audit WHERE finished_at >= %s AND finished_at < %s"
    delete = f"DELETE FROM audits_result WHERE audit_id IN ({deleted_ids})"  # noqa: S608
    deleting = execute(delete, [start, end])
    print(f"monthly partitions: {len(months)} partitions = {mib(size)}; the oldest month "
          f"({in_oldest:,} results): dropped in {dropped * 1000:.1f} ms, deleted in "
          f"{deleting * 1000:,.0f} ms ({in_oldest / deleting:,.0f} results/s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--churn", type=float, default=0.02, help="share of checks changing")
    args = parser.parse_args()
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
