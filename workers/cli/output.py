"""What an audit prints or writes: the table, JSON, the standard exports, and the exit code."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workers import exports
from workers.audit import AuditOutcome
from workers.cli.fleet import HostRun, line_for
from workers.engine.scoring import summarize
from workers.exports.model import HostReport, Run
from workers.exports.oscal import PLAN_HREF, render_plan
from workers.exports.outcome import host_report

FORMATS = ("table", "json", "junit", "sarif", "oscal", "html", "csv")
SUFFIXES = {"table": ".txt", "json": ".json", **exports.SUFFIXES}
# Exit codes (docs/cli.md): 0 all hosts audited and gates passed.
EXIT_INVALID_INPUT = 1  # a policy or the inventory is invalid
EXIT_NOT_AUDITED = 3  # at least one host could not be audited
EXIT_GATE = 4  # --fail-under or --fail-on tripped


def outcome_as_dict(outcome: AuditOutcome) -> dict[str, Any]:
    return {
        "host": outcome.host.as_dict(),
        "policies": [
            {
                "id": p.policy.id,
                "name": p.policy.name,
                "status": p.status.value,
                "reason": p.reason,
                "summary": summarize(p.checks).as_dict(),
            }
            for p in outcome.policies
        ],
        "summary": outcome.summary.as_dict(),
        "categories": [c.as_dict() for c in outcome.categories],
        "results": [
            {
                "policy": r.policy_id,
                "check_id": r.check.id,
                "title": r.check.title,
                "status": r.status.value,
                "reason": r.reason,
                "category": r.category,
                "mitre_techniques": list(r.check.compliance.get("mitre_techniques", ())),
                "evidence": [e.as_dict() for e in r.evidence],
            }
            for r in outcome.results
        ],
        "collector": {
            "executions": outcome.executions,
            "stages": outcome.stages,
            "seconds": round(outcome.seconds, 3),
        },
    }


def fleet_as_dict(runs: Sequence[HostRun]) -> dict[str, Any]:
    return {
        "hosts": [
            {
                "name": r.target.name,
                "address": r.target.address,
                "connection": r.target.connection,
                "groups": list(r.target.groups),
                "status": r.status,
                "error": r.error or None,
                "started": r.started.isoformat(),
                "result": outcome_as_dict(r.outcome) if r.outcome else None,
            }
            for r in runs
        ],
        "summary": {
            "hosts": len(runs),
            "audited": sum(r.outcome is not None for r in runs),
            "not_audited": sum(r.outcome is None for r in runs),
        },
    }


def table_text(outcome: AuditOutcome) -> str:
    host = outcome.host
    lines = [f"Host: {host.hostname} ({host.pretty_name or host.family}, kernel {host.kernel})"]
    for policy in outcome.policies:
        note = f": {policy.reason}" if policy.reason else ""
        lines.append(f"Policy {policy.policy.id} [{policy.status.value}]{note}")
    marks = {"passed": "PASS", "failed": "FAIL", "not_applicable": "N/A "}
    for result in outcome.results:
        title = result.check.title[:70]
        lines.append(f"  {marks[result.status.value]}  {result.check.id:>14}  {title}")
        if result.reason:
            lines.append(f"{'':22}{result.reason[:100]}")
    lines.append("\nBy category:")
    for category in outcome.categories:
        shown = "-" if category.score is None else f"{category.score:.0f} %"
        lines.append(
            f"  ✓ {category.passed:>4}  ✗ {category.failed:>4}  {shown:>6}  {category.category}"
        )
    summary = outcome.summary
    shown = "n/a" if summary.score is None else f"{summary.score:.2f}"
    lines.append(
        f"\nPassed {summary.passed}, failed {summary.failed}, "
        f"not applicable {summary.not_applicable}; score {shown}"
        f"  ({outcome.stages} stage(s), {outcome.seconds:.2f} s)"
    )
    return "\n".join(lines) + "\n"


def fleet_table_text(runs: Sequence[HostRun]) -> str:
    lines = [line_for(r) for r in runs]
    audited = sum(r.outcome is not None for r in runs)
    lines.append(f"\n{len(runs)} host(s): {audited} audited, {len(runs) - audited} not audited")
    return "\n".join(lines) + "\n"


def export_run(runs: Sequence[HostRun], title: str) -> Run:
    hosts = []
    for r in runs:
        if r.outcome is None:
            hosts.append(
                HostReport(r.target.name, r.target.address, audited_at=r.started, error=r.error)
            )
        else:
            hosts.append(host_report(r.target.name, r.target.address, r.outcome, r.started))
    return Run(title=title, hosts=tuple(hosts))


def render(kind: str, runs: Sequence[HostRun], single: bool, title: str) -> bytes:
    if kind == "table":
        outcome = runs[0].outcome if single else None
        return (table_text(outcome) if outcome else fleet_table_text(runs)).encode("utf-8")
    if kind == "json":
        outcome = runs[0].outcome if single else None
        document = outcome_as_dict(outcome) if outcome else fleet_as_dict(runs)
        return json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"
    return exports.render(kind, export_run(runs, title))


def write_outputs(args: argparse.Namespace, runs: Sequence[HostRun], single: bool) -> None:
    """Print the one format asked for, or write each into --output-dir."""
    title = args.title or (
        "Bulwark audit of " + (runs[0].target.name if single else f"{len(runs)} hosts")
    )
    if not args.output_dir:
        sys.stdout.buffer.write(render(args.formats[0], runs, single, title))
        sys.stdout.flush()
        return
    folder = Path(args.output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    for kind in args.formats:
        path = folder / f"bulwark{SUFFIXES[kind]}"
        path.write_bytes(render(kind, runs, single, title))
        print(f"wrote {path}", file=sys.stderr)
        if kind == "oscal":
            plan = folder / PLAN_HREF
            plan.write_bytes(render_plan(export_run(runs, title)))
            print(f"wrote {plan}", file=sys.stderr)


def exit_code(args: argparse.Namespace, runs: Sequence[HostRun]) -> int:
    """3 when a host was not audited, else 4 when a gate tripped, else 0 (docs/cli.md)."""
    if any(r.outcome is None for r in runs):
        return EXIT_NOT_AUDITED
    for r in runs:
        assert r.outcome is not None
        summary = r.outcome.summary
        if "failed" in args.fail_on and summary.failed:
            return EXIT_GATE
        score = summary.score
        if args.fail_under is not None and score is not None and score < args.fail_under:
            return EXIT_GATE
    return 0
