"""Dashboard benchmark: every report query and page at fleet scale on PostgreSQL.

    .venv/bin/python bench/dashboard.py [--hosts 10000] [--checks 300] [--weeks 52]
        [--groups 20] [--result-weeks 1] [--repeat 20] [--keep]

Creates its own database (bulwark_bench_dashboard) on 127.0.0.1:5432 as postgres (trust auth),
migrates it, fills it server-side (COPY for the inventory and catalogue, INSERT ... SELECT over
generate_series for audits and results), then prints p50/p95 of every report query, page,
report download and /metrics, for a superuser and for a user who sees 2 of the groups.
Goal: p95 <= 200 ms. The database is dropped at the end unless --keep.

Every audit (hosts x weeks) gets its counts, score sample and daily aggregates; results (and
category summaries) are written for the last --result-weeks weeks of audits: reports read only
the latest audit's results, so older ones cost disk and load time but no query reads them.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Its own database, dropped at the end; BULWARK_BENCH_DB names another (two benches at once).
DBNAME = os.environ.get("BULWARK_BENCH_DB", "bulwark_bench_dashboard")
ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
CATEGORIES = [
    "Inventory and Control of Enterprise Assets",
    "Inventory and Control of Software Assets",
    "Data Protection",
    "Secure Configuration of Enterprise Assets and Software",
    "Account Management",
    "Access Control Management",
    "Continuous Vulnerability Management",
    "Audit Log Management",
    "Email and Web Browser Protections",
    "Malware Defenses",
    "Data Recovery",
    "Network Infrastructure Management",
    "Network Monitoring and Defense",
    "Security Awareness and Skills Training",
    "Service Provider Management",
    "Application Software Security",
    "Incident Response Management",
    "Penetration Testing",
]
# The status of check i (0-based) on host h at week w: deterministic, host quality varies.
STATUS_SQL = """
CREATE FUNCTION bench_status(h bigint, i int, w int) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN i % 10 = 9 THEN 'not_applicable'
    WHEN ((h * 7919 + i * 104729 + w * 31) % 100) < 10 + (h % 50) - least(w, 20) / 2
      THEN 'failed'
    ELSE 'passed' END
$$;
"""


def admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql)


def setup_django() -> None:
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{DBNAME}"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("CREDENTIAL_KEYS", "bm90LWEtcmVhbC1rZXktYnV0LTMyLWJ5dGVzLWxvbmc=")
    # The pages are read through Django's test client; a throwaway key signs its session.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ["DJANGO_SETTINGS_MODULE"] = "bulwark.settings"
    sys.path.insert(0, str(ROOT))
    sys.path.append(str(ROOT / "platform"))
    import django

    django.setup()


def step(label: str, action: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = action()
    print(f"  {label}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def _defaults(model: Any, given: Any) -> dict[str, Any]:
    """Every concrete field of `model` not in `given` (attribute names): its default, `now`
    for auto_now fields; a field without a default that the benchmark does not give is named
    (so a column added to a model later needs no change here, or says what it needs)."""
    from django.utils import timezone

    now = timezone.now()
    defaults: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        if field.attname in given or field.primary_key:
            continue
        value = field.get_default()
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = now
        if value is None and not field.null:
            raise SystemExit(f"bench/dashboard.py: give {model._meta.db_table}.{field.column}")
        defaults[field.attname] = value
    return defaults


def _quoted(fields: list[Any]) -> str:
    return ", ".join(f'"{f.column}"' for f in fields)  # "references" is an SQL keyword


def copy_models(cursor: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    """COPY rows into `model`'s table. The columns come from the model: a row names the values
    the benchmark cares about (by attribute name, `group_id`, and the id), every other column
    gets the field's default (`_defaults`)."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key or f.attname in rows[0]]
    defaults = _defaults(model, rows[0])
    with cursor.copy(f"COPY {model._meta.db_table} ({_quoted(fields)}) FROM STDIN") as copy:
        for row in rows:
            values = {**defaults, **row}
            copy.write_row([f.get_db_prep_save(values[f.attname], connection) for f in fields])


def insert_select(cursor: Any, model: Any, values: dict[str, str], source: str) -> None:
    """INSERT INTO `model`'s table ... SELECT, the columns from the model: `values` maps the
    attribute names the benchmark computes to SQL expressions over `source` (the FROM ...
    clause); every other column gets the field's default, as a parameter."""
    from django.db import connection

    names = {f.attname for f in model._meta.concrete_fields}
    if unknown := sorted(set(values) - names):
        raise SystemExit(f"bench/dashboard.py: {model._meta.db_table} has no {', '.join(unknown)}")
    defaults = _defaults(model, values)
    fields = [
        f for f in model._meta.concrete_fields if f.attname in values or f.attname in defaults
    ]
    expressions, params = [], []
    for field in fields:
        if field.attname in values:
            expressions.append(values[field.attname].replace("%", "%%"))
        else:
            expressions.append("%s")
            params.append(field.get_db_prep_save(defaults[field.attname], connection))
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({_quoted(fields)}) "
        f"SELECT {', '.join(expressions)} {source.replace('%', '%%')}",
        params,
    )


def fill(args: argparse.Namespace) -> None:
    from django.contrib.auth.models import User
    from django.db import connection

    from bulwark.audits.models import Audit, CategorySummary, Result, ScoreSample
    from bulwark.inventory.models import Group, Host, Membership, Role
    from bulwark.policies.models import Check, Policy
    from bulwark.reports.models import (
        CountedAudit,
        DailyGroupSummary,
        DailyHostSummary,
        LatestCheckCount,
    )

    hosts, checks, weeks, groups = args.hosts, args.checks, args.weeks, args.groups
    result_weeks = min(args.result_weeks, weeks)
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # psycopg's own cursor: COPY
        cursor.execute(STATUS_SQL)

        def inventory() -> None:
            copy_models(
                cursor, Group, [{"id": g + 1, "name": f"group-{g:03d}"} for g in range(groups)]
            )
            policy = {
                "id": 1,
                "policy_id": "bench",
                "name": "Bench",
                "path": "bench",
                "origin": "bundled",
                "dialect": "w4",
                "sha256": "0" * 64,
                "check_count": checks,
            }
            copy_models(cursor, Policy, [policy])
            copy_models(
                cursor,
                Check,
                [
                    {
                        "id": i + 1,
                        "policy_id": 1,
                        "check_id": f"B-{i:04d}",
                        "title": f"Bench check {i:04d}",
                        "description": f"Checks thing {i}.",
                        "rationale": "Because.",
                        "remediation": "Fix it.",
                        "compliance": {"cis_csc_v8": ["4.1"]},
                        "category": CATEGORIES[i % len(CATEGORIES)],
                        "condition": "all",
                        "line": i,
                    }
                    for i in range(checks)
                ],
            )
            copy_models(
                cursor,
                Host,
                [
                    {
                        "id": h + 1,
                        "name": f"host-{h:05d}.example.net",
                        "address": f"10.{h // 65536}.{h // 256 % 256}.{h % 256}",
                        "group_id": h % groups + 1,
                        "os_family": "linux",
                        "os_distribution": "debian",
                        "os_version": "12",
                        "os_name": "Debian GNU/Linux 12",
                        "kernel": "6.1.0",
                        "architecture": "x86_64",
                        "reported_hostname": f"host-{h:05d}",
                    }
                    for h in range(hosts)
                ],
            )
            for table in ("inventory_group", "policies_policy", "policies_check", "inventory_host"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"
                )

        step(f"inventory: {groups} groups, {hosts} hosts, {checks} checks (COPY)", inventory)
        # One audit per host per week, each host on its own weekday and hour; the last is latest.
        # Only numbers from argparse are interpolated into the SQL below.

        kept = weeks - result_weeks  # the first week whose audits keep their results

        def audits() -> None:
            cursor.execute(f"""
            CREATE TEMP TABLE plan AS
            SELECT h.id AS host_id, h.group_id, w AS week,
                   date_trunc('day', now()) - make_interval(days => ({weeks} - 1 - w) * 7
                     + (h.id % 7)::int) + make_interval(secs => (h.id * 37) % 80000) AS at
            FROM inventory_host h, generate_series(0, {weeks} - 1) w
            """)  # noqa: S608
            insert_select(
                cursor,
                Audit,
                {
                    "host_id": "p.host_id",
                    "status": "'done'",
                    "trigger": "'schedule'",
                    "created_at": "p.at",
                    "started_at": "p.at",
                    "finished_at": "p.at",
                    "enqueued_at": "p.at",
                    "attempts": "1",
                    "passed": "c.passed",
                    "failed": "c.failed",
                    "not_applicable": "c.na",
                    "score": "round(c.passed * 100.0 / nullif(c.passed + c.failed, 0), 2)",
                    "raw_score": "round(c.passed * 100.0 / nullif(c.passed + c.failed, 0), 2)",
                    "seconds": "1.5",
                    "latest": f"p.week = {weeks} - 1",
                    # As the store numbers them (audits/history.py); older audits' results are
                    # past retention, as the purge leaves them.
                    "stored_seq": f"CASE WHEN p.week >= {kept} THEN p.week + 1 END",
                    "results_purged_at": f"CASE WHEN p.week < {kept} THEN p.at END",
                },
                f"""FROM plan p, LATERAL (
                  SELECT count(*) FILTER (WHERE s = 'passed') AS passed,
                         count(*) FILTER (WHERE s = 'failed') AS failed,
                         count(*) FILTER (WHERE s = 'not_applicable') AS na
                  FROM (SELECT bench_status(p.host_id, i, p.week) AS s
                        FROM generate_series(0, {checks} - 1) i) x) c
                ORDER BY p.at""",  # noqa: S608
            )
            cursor.execute("""
            CREATE TEMP TABLE planned AS
            SELECT a.id AS audit_id, p.* FROM plan p JOIN audits_audit a
              ON a.host_id = p.host_id AND a.finished_at = p.at;
            CREATE INDEX ON planned (week);
            """)

        step(f"audits: {hosts * weeks} rows", audits)

        def results() -> None:
            insert_select(
                cursor,
                Result,
                {
                    "audit_id": "p.audit_id",
                    "policy_check_id": "i + 1",
                    "status": "bench_status(p.host_id, i, p.week)",
                },
                f"""FROM planned p, generate_series(0, {checks} - 1) i
                WHERE p.week >= {weeks} - {result_weeks}""",
            )
            insert_select(
                cursor,
                CategorySummary,
                {
                    "audit_id": "r.audit_id",
                    "category": "c.category",
                    "passed": "count(*) FILTER (WHERE r.status = 'passed')",
                    "failed": "count(*) FILTER (WHERE r.status = 'failed')",
                    "not_applicable": "count(*) FILTER (WHERE r.status = 'not_applicable')",
                    "score": """round(count(*) FILTER (WHERE r.status = 'passed') * 100.0
                      / nullif(count(*) FILTER (WHERE r.status IN ('passed', 'failed')), 0), 2)""",
                },
                """FROM audits_result r JOIN policies_check c ON c.id = r.policy_check_id
                GROUP BY r.audit_id, c.category""",
            )

        step(f"results: last {result_weeks} week(s), {hosts * result_weeks * checks} rows", results)

        def samples() -> None:
            insert_select(
                cursor,
                ScoreSample,
                {
                    "host_id": "host_id",
                    "audit_id": "id",
                    "time": "finished_at",
                    "failed": "failed",
                    "not_applicable": "not_applicable",
                    "passed": "passed",
                    "score": "score",
                },
                "FROM audits_audit",
            )
            cursor.execute("""
            UPDATE inventory_host h SET last_audit_at = a.finished_at, latest_score = a.score,
              latest_passed = a.passed, latest_failed = a.failed,
              latest_not_applicable = a.not_applicable,
              state = CASE WHEN a.score < 50 THEN 'critical' WHEN a.score < 80 THEN 'warning'
                           ELSE 'ok' END
            FROM audits_audit a WHERE a.host_id = h.id AND a.latest
            """)

        step("score samples, host latest fields", samples)

        def aggregates() -> None:
            day = "(a.finished_at AT TIME ZONE 'UTC')::date"
            insert_select(
                cursor,
                DailyHostSummary,
                {
                    "host_id": "a.host_id",
                    "day": day,
                    "group_id": "h.group_id",
                    "audit_id": "a.id",
                    "passed": "a.passed",
                    "failed": "a.failed",
                    "not_applicable": "a.not_applicable",
                    "score": "a.score",
                    "raw_score": "a.score",
                },
                "FROM audits_audit a JOIN inventory_host h ON h.id = a.host_id",
            )
            insert_select(
                cursor,
                DailyGroupSummary,
                {
                    "group_id": "group_id",
                    "day": "day",
                    "hosts": "count(*)",
                    "passed": "sum(passed)",
                    "failed": "sum(failed)",
                    "not_applicable": "sum(not_applicable)",
                    "scored_hosts": "count(score)",
                    "score_sum": "coalesce(sum(score), 0)",
                    "raw_scored_hosts": "count(raw_score)",
                    "raw_score_sum": "coalesce(sum(raw_score), 0)",
                },
                "FROM reports_dailyhostsummary GROUP BY group_id, day",
            )
            insert_select(
                cursor,
                LatestCheckCount,
                {
                    "group_id": "h.group_id",
                    "day": day,
                    "policy_check_id": "r.policy_check_id",
                    "category": "c.category",
                    "passed": "count(*) FILTER (WHERE r.status = 'passed')",
                    "failed": "count(*) FILTER (WHERE r.status = 'failed')",
                    "not_applicable": "count(*) FILTER (WHERE r.status = 'not_applicable')",
                },
                """FROM audits_audit a JOIN inventory_host h ON h.id = a.host_id
                  JOIN audits_result r ON r.audit_id = a.id
                  JOIN policies_check c ON c.id = r.policy_check_id
                WHERE a.latest GROUP BY 1, 2, 3, 4""",
            )
            insert_select(
                cursor,
                CountedAudit,
                {"host_id": "a.host_id", "audit_id": "a.id", "group_id": "h.group_id", "day": day},
                "FROM audits_audit a JOIN inventory_host h ON h.id = a.host_id WHERE a.latest",
            )

        step("daily aggregates", aggregates)
    connection.commit() if not connection.get_autocommit() else None
    root = User.objects.create_superuser("root", password="bench-password")  # noqa: S106
    viewer = User.objects.create_user("viewer", password="bench-password")  # noqa: S106
    for group_id in (1, 2):
        Membership.objects.create(user=viewer, group_id=group_id, role=Role.OPERATOR)
    del root
    admin_cursor = connection.cursor()
    step("VACUUM ANALYZE", lambda: admin_cursor.execute("VACUUM ANALYZE"))


def timings(action: Callable[[], Any], repeat: int) -> tuple[float, float]:
    action()  # warm: plan caches, connection
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95


def measure(args: argparse.Namespace) -> list[tuple[str, str, float, float]]:
    from django.contrib.auth.models import User

    rows = []
    for username in ("root", "viewer"):
        rows += measure_user(User.objects.get(username=username), args.repeat)
    return rows


def measure_user(user: Any, repeat: int) -> list[tuple[str, str, float, float]]:
    """Every report query, then every page, report download and /metrics, as `user`."""
    from django.test import Client

    from bulwark.audits.models import Audit, Result
    from bulwark.reports import documents, queries
    from bulwark.reports.metrics import HardeningCollector
    from bulwark.reports.parameters import default_filters

    f = default_filters()
    host = queries.visible_hosts(user, f).order_by("id").values_list("id", flat=True)[0]
    audit = Audit.objects.filter(host_id=host, latest=True).values_list("id", flat=True)[0]
    result = Result.objects.filter(audit_id=audit).values_list("id", flat=True)[0]
    fh, fc, year = f.but(host_id=host), f.but(category=CATEGORIES[3]), default_filters(365)
    calls: dict[str, Callable[[], Any]] = {
        "worst_hosts (P12)": lambda: queries.worst_hosts(user, f),
        "most_failed_checks (P13)": lambda: queries.most_failed_checks(user, f),
        "category_results (P14)": lambda: queries.category_results(user, fc),
        "categories (P15)": lambda: queries.categories(user, f),
        "host_checks (P16)": lambda: queries.host_checks(user, fh),
        "scoring (P17, range to today)": lambda: queries.scoring(user, f),
        "scoring_from_history (P17, past)": lambda: queries.scoring_from_history(user, f),
        "evolution (P18, 30 days)": lambda: queries.evolution(user, f),
        "evolution (P18, 365 days)": lambda: queries.evolution(user, year),
        "overview (P10)": lambda: queries.overview(user, f),
        "host_list page 1 (P11)": lambda: list(
            queries.host_list(user, f, include_never_audited=True)[:50]
        ),
        "metrics collector": lambda: list(HardeningCollector(user).collect()),
    }
    name = user.get_username()
    rows = [(name, "query " + label, *timings(call, repeat)) for label, call in calls.items()]
    client = Client()
    client.force_login(user)
    pages = {
        "/ (dashboard)": "/",
        "/hosts/?all=on (P11)": "/hosts/?all=on",
        "/hosts/?score_min=20&score_max=60": "/hosts/?score_min=20&score_max=60",
        "/hosts/<id>/ (P8)": f"/hosts/{host}/",
        "/audits/<id>/ (P9)": f"/audits/{audit}/",
        "/audits/<id>/?status=failed": f"/audits/{audit}/?status=failed",
        "/audits/<id>/results/<id>/": f"/audits/{audit}/results/{result}/",
    }
    extra = {"category": f"category={CATEGORIES[3]}", "host-checks": f"host={host}"}
    for kind in documents.BUILDERS:
        for fmt in ("json", "pdf"):
            pages[f"{kind}.{fmt}"] = f"/api/reports/{kind}.{fmt}?{extra.get(kind, '')}"
    for label, url in pages.items():

        def get(url: str = url) -> None:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        rows.append((name, "GET " + label, *timings(get, repeat)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--result-weeks", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database")
    args = parser.parse_args()
    if not args.reuse:
        admin(f"DROP DATABASE IF EXISTS {DBNAME}")
        admin(f"CREATE DATABASE {DBNAME}")
    setup_django()
    from django.core.management import call_command

    try:
        if not args.reuse:
            print(f"filling {DBNAME}:", flush=True)
            step("migrate", lambda: call_command("migrate", verbosity=0, stdout=io.StringIO()))
            started = time.perf_counter()
            fill(args)
            print(f"  filled in {time.perf_counter() - started:.0f} s", flush=True)
        rows = measure(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin(f"DROP DATABASE IF EXISTS {DBNAME}")
    print(f"\n{'user':<7} {'what':<48} {'p50 ms':>8} {'p95 ms':>8}")
    for user, name, p50, p95 in rows:
        flag = "" if p95 <= 200 else "  > 200"
        print(f"{user:<7} {name:<48} {p50:8.1f} {p95:8.1f}{flag}")


if __name__ == "__main__":
    main()
