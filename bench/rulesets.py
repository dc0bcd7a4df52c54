"""Ruleset benchmark: wall time of a local audit of this machine with all our Linux policies at
once, and with each policy alone.

    sudo .venv/bin/python bench/rulesets.py [--repeat N]

Prints, per audit, the best and median wall time of N runs (the `run()` call: collection and
evaluation, policy loading excluded), the collector executions, and the checks evaluated and
applicable [goal: all policies < 30 s, in 1 collector execution]. Run as root, like the agent:
as another user the root-only files are unreadable and the collector does less work.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from workers.audit import run  # noqa: E402
from workers.engine.definitions import PolicyDefinition  # noqa: E402
from workers.engine.evaluate import PolicyStatus  # noqa: E402
from workers.engine.policy import load_policy  # noqa: E402
from workers.transports.local import LocalTransport  # noqa: E402

GOAL_SECONDS = 30.0


def load(path: Path) -> PolicyDefinition:
    result = load_policy(path)
    if result.policy is None:
        raise SystemExit(f"cannot load {path}: {[str(e) for e in result.errors[:3]]}")
    return result.policy


def measure(label: str, policies: list[PolicyDefinition], repeat: int) -> float:
    """Print one line for this audit; return its median wall time."""
    timings = []
    for _ in range(repeat):
        with LocalTransport() as transport:
            started = time.perf_counter()
            outcome = run(transport, policies)
            timings.append(time.perf_counter() - started)
    applicable = sum(len(p.checks) for p in outcome.policies if p.status is PolicyStatus.APPLICABLE)
    median = statistics.median(timings)
    print(
        f"  {label:<22} best {min(timings):6.2f} s  median {median:6.2f} s"
        f"  executions {transport.executions}  checks {len(outcome.results):4d}"
        f" ({applicable} applicable)"
    )
    return median


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("warning: not root; the audit reads less than the agent would", file=sys.stderr)
    paths = sorted((ROOT / "rulesets" / "linux").glob("*.yml"))
    policies = [load(path) for path in paths]
    print(f"Local audit of this machine, {args.repeat} run(s) each:")
    together = measure("all Linux policies", policies, args.repeat)
    for path, policy in zip(paths, policies, strict=True):
        measure(path.stem, [policy], args.repeat)
    verdict = "within" if together < GOAL_SECONDS else "OVER"
    print(f"All policies together: {together:.2f} s, {verdict} the {GOAL_SECONDS:.0f} s goal")


if __name__ == "__main__":
    main()
