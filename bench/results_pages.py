"""Results pagination benchmark: every page of a 100,000-result audit, on SQLite and PostgreSQL.

    .venv/bin/python bench/results_pages.py sqlite
    .venv/bin/python bench/results_pages.py postgres://USER:PASSWORD@127.0.0.1:5432/DBNAME

Makes a fresh database (SQLite: a temporary file; PostgreSQL: the named database, dropped and
created again through the same server, so name one of your own; dropped at the end), migrates
it, and stores one audit of --results results (one policy of as many checks) on a host of a
group, plus a member of that group. Then, through the full Django stack (test client:
middleware, scoping, serialisation), it walks every page by following the links:
/api/results/?audit=ID (cursor, 50 a page), /api/results/ (the whole list),
/api/results/?ordering=-id, and the audit page /audits/ID/ (keyset, 100 a page), and prints
p50/p95/max per list, the medians of the first and last tenth of the pages, and the p95 of
the CPU time this process spent per page (what a loaded machine inflates least).
Goal: p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 100.0


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    # A throwaway key (the settings refuse to start without one outside the embedded default).
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(40))
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("CREDENTIAL_KEYS", "bm90LWEtcmVhbC1rZXktYnV0LTMyLWJ5dGVzLWxvbmc=")
    os.environ["CELERY_BROKER_URL"] = ""
    os.environ["EMBEDDED_TASKS"] = "eager"
    # One reader walking 3,000 pages in a minute: the per-user throttle (its own concern,
    # tested in tests/) would answer 429 long before the walk ends.
    os.environ.setdefault("API_THROTTLE_USER", "1000000/minute")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bulwark.settings"
    sys.path.insert(0, str(ROOT))
    sys.path.append(str(ROOT / "platform"))
    import django

    django.setup()


def recreate_postgres(url: str, *, create: bool = True) -> None:
    """Drop (and create again) the database named in `url`, through the server's `postgres`."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise SystemExit(f"database name {name!r}: use lower-case letters, digits and _")
    dsn = (
        f"host={parts.hostname} port={parts.port or 5432} user={parts.username} "
        f"password={parts.password or ''} dbname=postgres"
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        if create:
            conn.execute(f"CREATE DATABASE {name}")


def fill(results: int) -> int:
    """One group, host, member, policy of `results` checks and one audit of as many results."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from bulwark.audits.models import Audit, AuditStatus, Result
    from bulwark.inventory.models import Group, Host, Membership, Role
    from bulwark.policies.models import Check, Policy

    group = Group.objects.create(name="bench")
    host = Host.objects.create(name="big-1", address="192.0.2.10", group=group)
    member = User.objects.create(username="member")
    Membership.objects.create(user=member, group=group, role=Role.VIEWER)
    User.objects.create(username="root", is_superuser=True, is_staff=True)
    # A real policy's YAML as its source: rows that drag it along show it in the figures.
    source = max((ROOT / "rulesets").rglob("*.yml"), key=lambda p: p.stat().st_size).read_text()
    policy = Policy.objects.create(
        policy_id="bench_big",
        name="Bench",
        path="bench",
        origin="import",
        dialect="linux",
        source=source,
    )
    Check.objects.bulk_create(
        (
            Check(
                policy=policy,
                check_id=f"B-{i:06d}",
                title=f"Bench check {i}",
                category="Account Management" if i % 3 else "Data Protection",
                condition="all",
            )
            for i in range(results)
        ),
        batch_size=5000,
    )
    now = timezone.now()
    audit = Audit.objects.create(
        host=host, status=AuditStatus.DONE, started_at=now, finished_at=now, latest=True
    )
    statuses = ["passed", "failed", "not_applicable"]
    check_ids = Check.objects.filter(policy=policy).order_by("pk").values_list("pk", flat=True)
    Result.objects.bulk_create(
        (
            Result(audit=audit, policy_check_id=pk, status=statuses[n % 3])
            for n, pk in enumerate(check_ids.iterator())
        ),
        batch_size=5000,
    )
    return int(audit.pk)


def analyse() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def walk(
    client: Any, first: str, next_of: Callable[[Any], str | None]
) -> tuple[list[float], list[float]]:
    """Milliseconds of every page of a list, following its links from `first`: wall clock,
    and this process's CPU time (on a loaded machine the wall clock mostly measures the wait
    for a CPU; the CPU time does not, though on PostgreSQL it leaves the server's work out)."""
    client.get(first)  # warm: connection, plan caches
    samples, cpu, url = [], [], first
    while url:
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        url = next_of(response)
    return samples, cpu


def percentile(samples: list[float], share: float = 0.95) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def api_next(response: Any) -> str | None:
    link = response.json()["next"]
    return urlsplit(link)._replace(scheme="", netloc="").geturl() if link else None


def page_next(path: str) -> Callable[[Any], str | None]:
    def follow(response: Any) -> str | None:
        found = re.search(rb'href="(\?[^"]*)" id="results-next"', response.content)
        return path + found.group(1).decode().replace("&amp;", "&") if found else None

    return follow


def lists(audit: int) -> Iterator[tuple[str, str, str, Callable[[Any], str | None]]]:
    # The audit page and the audit's API list first: the goal's two lists, printed first.
    page = f"/audits/{audit}/"
    yield "member", "audit page (100/page)", page, page_next(page)
    yield "member", "api results ?audit= (50/page)", f"/api/results/?audit={audit}", api_next
    yield "member", "audit page ?status=failed", page + "?status=failed", page_next(page)
    yield "member", "api results, whole list", "/api/results/", api_next
    yield "root", "api results, whole list", "/api/results/", api_next
    yield "member", "api results ?ordering=-id", "/api/results/?ordering=-id", api_next


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database", help="sqlite, or a postgres:// URL of a database to replace")
    parser.add_argument("--results", type=int, default=100_000)
    args = parser.parse_args()
    folder = None
    if args.database == "sqlite":
        folder = tempfile.TemporaryDirectory(prefix="bulwark-bench-")
        url = f"sqlite:///{folder.name}/bench.sqlite3"
    else:
        url = args.database
        recreate_postgres(url)
    setup_django(url)
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    call_command("migrate", verbosity=0, stdout=io.StringIO())
    started = time.perf_counter()
    audit = fill(args.results)
    analyse()
    print(
        f"{connection.vendor}: {args.results} results stored in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    print(f"load average before measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        f"\n{'user':<7} {'list':<32} {'pages':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}"
        f" {'first 10% p50':>14} {'last 10% p50':>13} {'cpu p95 ms':>10}"
    )
    worst = 0.0
    for username, label, first, next_of in lists(audit):
        client = Client()
        client.force_login(User.objects.get(username=username))
        samples, cpu = walk(client, first, next_of)
        ordered = sorted(samples)
        p95 = percentile(samples)
        worst = max(worst, p95)
        # Keyset pages cost the same at the end of the list as at its start: compare them.
        tenth = max(1, len(samples) // 10)
        first, last = statistics.median(samples[:tenth]), statistics.median(samples[-tenth:])
        print(
            f"{username:<7} {label:<32} {len(samples):>6} {statistics.median(samples):>7.1f} "
            f"{p95:>7.1f} {ordered[-1]:>7.1f} {first:>14.1f} {last:>13.1f} {percentile(cpu):>10.1f}"
            f"{'  > goal' if p95 > GOAL_MS else ''}",
            flush=True,
        )
    print(f"\nworst p95 {worst:.1f} ms (goal <= {GOAL_MS:.0f} ms)")
    print(f"load average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    connection.close()
    if folder is not None:
        folder.cleanup()
    else:
        recreate_postgres(url, create=False)  # leave nothing behind


if __name__ == "__main__":
    main()
