"""Fault injection at fleet scale: what becomes of the audits when things fail.

    CI=true DATABASE_URL=postgres://... .venv/bin/python bench/faults.py [--hosts 20]

Needs root (SSH test hosts), PostgreSQL (DATABASE_URL's server, whose role may create
databases) and redis-server on PATH (a private instance is started on a free port). Runs the
rounds of tests/faults/ on one fleet, in order, and prints per fault: audits requested, done,
in error, lost (still queued or running at the bound), duplicated (more than one result set,
score sample or alert per kind) and the worst time from request to finish. Goal: 0 lost,
0 duplicated, every audit within AUDIT_REQUEUE_AFTER + lease + budget (the bound printed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lab.harness import TestHosts  # noqa: E402
from tests.faults import scenarios  # noqa: E402
from tests.faults.fleet import BOUND, HEADER, LEASE, MAX_SECONDS, REQUEUE_AFTER, Fleet  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20, help="SSH test hosts in the fleet")
    args = parser.parse_args()
    print(f"lease {LEASE} s, budget {MAX_SECONDS:g} s, re-drive after {REQUEUE_AFTER:g} s: "
          f"bound {BOUND:g} s (+ the outage where every worker was down)")  # fmt: skip
    print(HEADER)
    failures = 0
    with (
        tempfile.TemporaryDirectory(prefix="bulwark-faults-") as directory,
        TestHosts() as hosts,
        Fleet(Path(directory), hosts, args.hosts).running() as fleet,
    ):
        for round_ in scenarios.ROUNDS:
            report = round_(fleet)
            print(report.row(), flush=True)
            for reason in report.reasons:
                print(f"{'':<30}error: {reason[:110]}")
            failures += report.lost + report.duplicated
        report, runs, sent = scenarios.beats(fleet)
        print(report.row())
        print(f"{'':<30}beat sent the schedule {sent} times; it ran {len(runs)} periods")
        failures += report.lost + report.duplicated
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
