"""Ingest benchmark: results stored per second for 400-check audits, and the host list API at
10,000 hosts, on PostgreSQL.

    DATABASE_URL=postgres://USER:PASS@127.0.0.1:5432/NAME .venv/bin/python bench/ingest.py
        [--audits 60] [--checks 400] [--hosts 10000] [--requests 60]

The role of DATABASE_URL must be allowed to create databases: the benchmark works in a
throwaway database (bulwark_bench_<pid>) that it migrates and drops at the end.

Prints (goal in brackets):
  - results stored per second through audits.store.store_outcome (one transaction per audit:
    results by COPY, category summary, score sample, host update, alerts) [>= 20,000/s]: alone,
    with the reports app's aggregates (its `audit_stored` receiver), and from several threads
    at once as a worker's pool stores;
  - GET /api/hosts/ (a page of 50) at N hosts, p50 and p95, as a superuser and as a member of
    half the groups (the scoped query), and the last page (?offset=N-50).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.database import configure, throwaway_database  # noqa: E402, F401 - history.py imports configure
from bench.outcomes import bench_outcome  # noqa: E402


def policy_yaml(checks: int) -> str:
    """A W4 policy of `checks` checks spread over CIS Controls categories."""
    lines = [
        "policy:",
        "  id: bench_policy",
        "  file: bench_policy.yml",
        '  name: "Benchmark policy"',
        '  description: "Synthetic checks."',
        "checks:",
    ]
    for number in range(1, checks + 1):
        lines += [
            f"  - id: {100000 + number}",
            f'    title: "Ensure synthetic setting {number} is configured"',
            "    compliance:",
            f'      - cis_csc_v8: ["{number % 18 + 1}.1"]',
            "    condition: all",
            "    rules:",
            f"      - 'f:/etc/bench/{number}.conf -> r:^setting{number}\\s+yes'",
        ]
    return "\n".join(lines) + "\n"


def outcome(failed_every: int) -> object:
    """An AuditOutcome of the bench policy: every `failed_every`-th check failed, a tenth not
    applicable, each with a line of evidence."""
    from bulwark.policies.services import enabled_definitions

    (policy,) = enabled_definitions()
    statuses = [
        "not_applicable" if index % 10 == 9 else "failed" if index % failed_every == 0 else "passed"
        for index in range(len(policy.checks))
    ]
    return bench_outcome(statuses)


@contextmanager
def receivers_of_audit_stored(enabled: bool) -> Iterator[None]:
    """With `enabled` False, store_outcome runs without the `audit_stored` receivers (the
    reports app's aggregates), to tell their cost apart."""
    from bulwark.audits.store import audit_stored

    saved = list(audit_stored.receivers)
    if not enabled:
        audit_stored.receivers.clear()
        audit_stored.sender_receivers_cache.clear()
    try:
        yield
    finally:
        audit_stored.receivers[:] = saved
        audit_stored.sender_receivers_cache.clear()


def prepare_ingest(checks: int) -> list[object]:
    from bulwark.policies.services import import_policy_texts

    import_policy_texts([("bench_policy.yml", policy_yaml(checks))])
    return [outcome(failed_every) for failed_every in (3, 4)]  # alternate: alerts happen


def store_audits(
    label: str, audits: int, checks: int, threads: int, outcomes: list[object]
) -> None:
    """Store `audits` audits from `threads` threads (a worker's pool), each on hosts of its
    own; print the rate."""
    from django.db import connection

    from bulwark.audits import services
    from bulwark.audits.models import Audit
    from bulwark.audits.store import store_outcome
    from bulwark.inventory.models import Group, Host

    group = Group.objects.create(name=f"ingest-{label}")
    hosts = [
        Host.objects.create(
            name=f"ingest-{label}-{n}", address="localhost", transport="local", group=group
        )
        for n in range(8 * threads)
    ]
    per_thread = audits // threads

    def work(offset: int) -> list[float]:
        times = []
        try:
            for number in range(per_thread):
                host = hosts[offset + threads * (number % 8)]
                audit = Audit.objects.create(host=host)
                claim = services.claim(audit.pk)
                assert claim is not None
                started = time.perf_counter()
                assert store_outcome(claim, outcomes[number % 2])  # type: ignore[arg-type]
                times.append(time.perf_counter() - started)
        finally:
            connection.close()
        return times

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        times = [t for result in pool.map(work, range(threads)) for t in result]
    wall = time.perf_counter() - started
    done = per_thread * threads
    rate = checks * done / wall if threads > 1 else checks * len(times) / sum(times)
    print(
        f"ingest ({label}): {done} audits of {checks} checks: {rate:,.0f} results stored/s "
        f"(store_outcome per audit p50 {statistics.median(times) * 1000:.1f} ms, "
        f"p95 {statistics.quantiles(times, n=20)[-1] * 1000:.1f} ms)  [goal >= 20,000/s]"
    )


def bench_ingest(audits: int, checks: int, threads: int) -> None:
    from bulwark.audits.models import Result

    outcomes = prepare_ingest(checks)
    with receivers_of_audit_stored(False):
        store_audits("audits app alone", audits, checks, 1, outcomes)
        store_audits(f"audits app alone, {threads} threads", audits, checks, threads, outcomes)
    store_audits("+ reports aggregates", audits, checks, 1, outcomes)
    store_audits(f"+ reports aggregates, {threads} threads", audits, checks, threads, outcomes)
    expected = (audits + audits // threads * threads) * 2 * checks
    assert Result.objects.count() == expected, Result.objects.count()


def bench_host_list(hosts: int, requests: int) -> None:
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from bulwark.inventory.models import Group, Host, Membership, Role

    groups = Group.objects.bulk_create(Group(name=f"fleet-{n:03d}") for n in range(100))
    rows = [
        Host(
            name=f"host-{n:05d}",
            address=f"host-{n:05d}.example.com",
            transport="local",
            group=groups[n % len(groups)],
            latest_score=float(n % 101),
            latest_passed=n % 300,
            latest_failed=n % 100,
            os_family="linux",
            os_name="Debian GNU/Linux 12",
        )
        for n in range(hosts)
    ]
    Host.objects.bulk_create(rows, batch_size=2000)
    users = get_user_model().objects
    root = users.create_superuser("bench-root")
    member = users.create_user("bench-member")
    Membership.objects.bulk_create(
        Membership(user=member, group=group, role=Role.VIEWER) for group in groups[::2]
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    total = Host.objects.count()
    for label, user, params in (
        ("superuser, first page", root, {}),
        ("member of 50 groups, first page", member, {}),
        ("superuser, last page", root, {"offset": total - 50}),
        ("member, name filter", member, {"name": "host-099"}),
    ):
        client = APIClient(SERVER_NAME="localhost")
        client.force_authenticate(user)
        times = []
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get("/api/hosts/", params)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content[:300]
        times = times[3:]
        p95 = statistics.quantiles(times, n=20)[-1]
        p50 = statistics.median(times)
        print(
            f"host list API at {total:,} hosts ({label}): p50 {p50 * 1000:.1f} ms, "
            f"p95 {p95 * 1000:.1f} ms over {len(times)} requests"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audits", type=int, default=60)
    parser.add_argument("--checks", type=int, default=400)
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--threads", type=int, default=4, help="concurrent storers")
    args = parser.parse_args()
    with throwaway_database():
        bench_ingest(args.audits, args.checks, args.threads)
        bench_host_list(args.hosts, args.requests)


if __name__ == "__main__":
    main()
