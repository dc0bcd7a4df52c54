"""`check-policy` and `catalogue`, and loading the policies an audit runs."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from workers.catalogue import render as render_catalogue
from workers.engine.definitions import PolicyDefinition, PolicyProblem
from workers.engine.policy import find_cross_policy_duplicates, load_policy


def policy_files(paths: Sequence[str]) -> Iterator[Path]:
    """Files as given; folders expanded to the *.yml / *.yaml files below them, sorted."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.suffix in (".yml", ".yaml"))
        else:
            yield path


def _problem(problem: PolicyProblem) -> dict[str, Any]:
    return {
        "line": problem.line,
        "check_id": problem.check_id,
        "code": problem.code,
        "message": problem.message,
        "text": str(problem),
    }


def check_policy(args: argparse.Namespace) -> int:
    reports = []
    loaded: list[PolicyDefinition] = []
    for path in policy_files(args.paths):
        result = load_policy(path)
        if result.policy is not None:
            loaded.append(result.policy)
        reports.append((path, result))
    duplicates = find_cross_policy_duplicates(loaded)
    invalid = any(result.policy is None for _, result in reports)
    if args.json:
        files = [
            {
                "path": str(path),
                "valid": result.policy is not None,
                "checks": len(result.policy.checks) if result.policy else 0,
                "errors": [_problem(p) for p in result.errors],
                "warnings": [_problem(p) for p in result.warnings],
            }
            for path, result in reports
        ]
        print(json.dumps({"files": files, "warnings": [_problem(p) for p in duplicates]}, indent=2))
    else:
        for path, result in reports:
            if result.policy is None:
                print(f"INVALID {path}: {len(result.errors)} error(s)")
            else:
                print(
                    f"ok      {path}: {len(result.policy.checks)} checks, "
                    f"{len(result.warnings)} warning(s)"
                )
            for problem in result.errors:
                print(f"  error: {problem}")
            for problem in result.warnings:
                print(f"  warning: {problem}")
        for problem in duplicates:
            print(f"warning: {problem}")
    if not reports:
        print("no policy files found", file=sys.stderr)
        return 2
    return 1 if invalid else 0


def load_policies(paths: Sequence[str]) -> list[PolicyDefinition]:
    """Every policy under `paths`; exits 1 naming each problem when one is invalid."""
    policies = []
    failed = False
    for path in policy_files(paths):
        result = load_policy(path)
        for problem in result.errors:
            print(f"error: {problem}", file=sys.stderr)
        if result.policy is None:
            failed = True
        else:
            policies.append(result.policy)
    if failed:
        raise SystemExit(1)
    if not policies:
        print("no policy files found", file=sys.stderr)
        raise SystemExit(2)
    return policies


def catalogue(args: argparse.Namespace) -> int:
    policies = load_policies(args.paths)
    root = args.paths[0].rstrip("/") + "/" if len(args.paths) == 1 else ""
    print(render_catalogue(sorted(policies, key=lambda p: p.path), root), end="")
    return 0
