"""`remediate --from RESULTS.json --format sh|ansible|powershell`: a script or playbook that
fixes the host's failed checks that carry a fix. It is printed (or written), never run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workers.cli.policies import load_policies
from workers.remediation import playbook, powershell, shell
from workers.remediation.plan import ResultsError, failed_ids, make_plan, read_results

RULESETS = Path(__file__).resolve().parents[2] / "rulesets"


def remediate(args: argparse.Namespace) -> int:
    try:
        name, failed = failed_ids(read_results(args.results), args.host)
    except ResultsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    policies = load_policies(args.policy or [str(RULESETS)])
    plan = make_plan(name, failed, policies)
    if args.format == "sh":
        text = shell.render(plan, Path(args.output).name if args.output else "remediate.sh")
    elif args.format == "ansible":
        text = playbook.render(plan)
    else:
        text = powershell.render(plan)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    print(
        f"{name}: {len(failed)} failed check(s), {len(plan.steps)} with a fix, "
        f"{len(plan.without_fix)} without",
        file=sys.stderr,
    )
    return 0


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("remediate", help="a fix script for an audit's failed checks")
    parser.add_argument("--from", dest="results", required=True, help="audit --format json file")
    parser.add_argument("--format", choices=["sh", "ansible", "powershell"], default="sh")
    parser.add_argument("--policy", nargs="+", help="policy files or folders (default rulesets/)")
    parser.add_argument("--host", help="which host, for the results of an inventory")
    parser.add_argument("--output", help="write here instead of stdout")
    parser.set_defaults(handler=remediate)
