"""Re-scoring benchmark: one fleet-wide exception re-scores every host's latest audit.

    .venv/bin/python bench/rescore.py [--hosts 10000] [--checks 300] [--weeks 4]
        [--groups 20] [--rounds 5] [--repeat 20] [--keep]

Fills its own PostgreSQL database (bulwark_bench_rescore, on 127.0.0.1:5432 as postgres, as
bench/dashboard.py does and with its generator), then for each round creates a fleet-wide
exception on a different check and revokes it: each is one re-scoring of every host's latest
audit from stored results (results flipped, audit, category, host and report-aggregate counts,
a history point per moved audit). Prints p50/p95 of those, and of the pages read right after
(host, audit, host list). Goals: re-scoring p95 <= 5 s; pages p95 < 200 ms. Only --weeks
changes the history's depth, not the re-scoring's work (latest audits only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dashboard

dashboard.DBNAME = "bulwark_bench_rescore"


def p50_p95(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[
        min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10000)
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure a kept database")
    args = parser.parse_args()
    args.result_weeks = 1
    if not args.reuse:
        dashboard.admin(f"DROP DATABASE IF EXISTS {dashboard.DBNAME}")
        dashboard.admin(f"CREATE DATABASE {dashboard.DBNAME}")
    dashboard.setup_django()
    from django.core.management import call_command
    from django.db import connections

    try:
        if not args.reuse:
            print(f"filling {dashboard.DBNAME}:", flush=True)
            dashboard.step(
                "migrate", lambda: call_command("migrate", verbosity=0, stdout=io.StringIO())
            )
            dashboard.fill(args)
        measure(args)
    finally:
        connections.close_all()
        if not args.keep:
            dashboard.admin(f"DROP DATABASE IF EXISTS {dashboard.DBNAME}")


def measure(args: argparse.Namespace) -> None:
    from django.contrib.auth.models import User
    from django.db.models import Count, F
    from django.test import Client
    from django.utils import timezone

    from bulwark.audits import risk_services
    from bulwark.audits.models import Audit, Result
    from bulwark.audits.risks import RiskException
    from bulwark.inventory.models import Host
    from bulwark.policies.models import Check

    # A kept database may hold exceptions of an earlier run: revoke them first.
    root = User.objects.get(username="root")
    for left in RiskException.objects.filter(status="active"):
        risk_services.revoke(root, left)
    Audit.objects.update(raw_score=F("score"))
    Host.objects.update(latest_raw_score=F("latest_score"))
    # The checks that fail on the most hosts: the heaviest exceptions to apply.
    latest = Result.objects.filter(audit__latest=True, status="failed")
    heavy = [
        row["policy_check"]
        for row in latest.values("policy_check")
        .annotate(n=Count("id"))
        .order_by("-n")[: args.rounds]
    ]
    create, revoke, moved = [], [], []
    for check_pk in heavy:
        check = Check.objects.select_related("policy").get(pk=check_pk)
        exception = RiskException(
            policy_id=check.policy.policy_id,
            check_id=check.check_id,
            justification="benchmark",
            owner="bench",
            expires_at=timezone.localdate() + dt.timedelta(days=30),
        )
        started = time.perf_counter()
        risk_services.create(root, exception)
        create.append(time.perf_counter() - started)
        moved.append(Result.objects.filter(exception=exception).count())
        started = time.perf_counter()
        risk_services.revoke(root, exception)
        revoke.append(time.perf_counter() - started)
    print(f"\nre-scoring the fleet ({args.hosts} hosts x {args.checks} checks, latest audits):")
    print(f"  results excepted per exception: {moved}")
    for label, samples in (("create (fleet-wide)", create), ("revoke (fleet-wide)", revoke)):
        p50, p95 = p50_p95(samples)
        print(f"  {label:<24} p50 {p50:6.2f} s   p95 {p95:6.2f} s   (n={len(samples)})")
    p50, p95 = p50_p95(create + revoke)
    print(f"  {'all re-scorings':<24} p50 {p50:6.2f} s   p95 {p95:6.2f} s   goal p95 <= 5 s")

    # One exception left in place, then the pages a person opens next.
    check = Check.objects.select_related("policy").get(pk=heavy[0])
    risk_services.create(
        root,
        RiskException(
            policy_id=check.policy.policy_id,
            check_id=check.check_id,
            justification="benchmark",
            owner="bench",
            expires_at=timezone.localdate() + dt.timedelta(days=30),
        ),
    )
    audit = Audit.objects.filter(latest=True, results__status="excepted").first()
    assert audit is not None
    result = Result.objects.filter(audit=audit, status="excepted").values_list("id", flat=True)[0]
    client = Client()
    client.force_login(root)
    pages = {
        "/hosts/<id>/": f"/hosts/{audit.host_id}/",
        "/audits/<id>/": f"/audits/{audit.pk}/",
        "/audits/<id>/results/<id>/": f"/audits/{audit.pk}/results/{result}/",
        "/hosts/?all=on": "/hosts/?all=on",
    }
    print("\npages after the re-scoring (superuser):")
    for label, url in pages.items():
        assert client.get(url).status_code == 200, url
        samples = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, url
        p50, p95 = p50_p95(samples)
        print(f"  GET {label:<28} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   goal p95 < 200 ms")


if __name__ == "__main__":
    main()
