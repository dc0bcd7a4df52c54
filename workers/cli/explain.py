"""`explain POLICY CHECK_ID`: what a check looks at, its rules in words, the facts it collects."""

from __future__ import annotations

import argparse
import sys
import textwrap

from workers.cli.policies import load_policies
from workers.engine.categories import category_of
from workers.engine.definitions import (
    CheckDefinition,
    Condition,
    MintermKind,
    PatternDefinition,
    PolicyDefinition,
    RuleDefinition,
    RuleType,
)
from workers.engine.facts import (
    CommandRequest,
    DirectoryRequest,
    FactRequest,
    Facts,
    FileRequest,
    ProcessListRequest,
    RegistryRequest,
)
from workers.engine.plan import rule_requests
from workers.engine.windows import USERS_ROOT, every_user_path

CONDITIONS = {
    Condition.ALL: "passes when every rule below holds",
    Condition.ANY: "passes when at least one rule below holds",
    Condition.NONE: "passes when none of the rules below holds",
}


def pattern_words(pattern: PatternDefinition) -> str:
    # Quoted as written (no repr): a reader compares these with the policy file.
    parts = []
    for term in pattern.minterms:
        if term.kind is MintermKind.REGEX:
            verb = "does not match" if term.negated else "matches"
            parts.append(f"{verb} the regex '{term.text}'")
        elif term.kind is MintermKind.NUMERIC:
            has = "has no" if term.negated else "has a"
            parts.append(
                f"{has} number captured by '{term.text}' that compares {term.compare_text}"
            )
        else:
            verb = "is not" if term.negated else "is"
            parts.append(f"{verb} exactly '{term.text}'")
    return "a line that " + " and ".join(parts)


def rule_words(rule: RuleDefinition) -> str:
    where = ", ".join(rule.locations)
    has = f" has {pattern_words(rule.pattern)}" if rule.pattern else ""
    if rule.type is RuleType.FILE:
        text = f"file {where}" + (has or " exists")
    elif rule.type is RuleType.DIRECTORY:
        named = f" a file whose name matches '{rule.filename}'" if rule.filename else " entries"
        text = f"directory {where} holds{named}" + (f" that{has}" if has else "")
    elif rule.type is RuleType.COMMAND:
        text = f"the output of command `{where}`" + (has or " is produced")
    elif rule.type is RuleType.PROCESS:
        text = f"a running process matches '{where}'"
    else:
        value = f" value '{rule.filename}'" if rule.filename else ""
        text = f"registry key {where}{value}" + (has.replace(" has", " holds") or " exists")
        if every_user_path(where) is not None:
            text += " in every signed-in user's hive (docs/policy-format.md §4.5)"
    return ("NOT: " if rule.negated else "") + text


def fact_words(request: FactRequest) -> str:
    if isinstance(request, FileRequest):
        return f"{'read' if request.content else 'stat'} {request.path}"
    if isinstance(request, DirectoryRequest):
        return f"list the files under {request.path}"
    if isinstance(request, CommandRequest):
        return "run " + (request.line or " ".join(request.argv))
    if isinstance(request, ProcessListRequest):
        return "list the running processes"
    if request == USERS_ROOT:
        return "list the users' hives loaded under HKEY_USERS, then read the key in each"
    if isinstance(request, RegistryRequest):
        return f"read registry key {request.key}"
    return repr(request)


def is_windows(policy: PolicyDefinition) -> bool:
    """A policy for Windows hosts: it reads the registry somewhere (checks or requirements)."""
    rules = [rule for check in policy.checks for rule in check.rules]
    rules += list(policy.requirements.rules) if policy.requirements else []
    return any(rule.type is RuleType.REGISTRY for rule in rules)


def explain_text(policy: PolicyDefinition, check: CheckDefinition) -> str:
    lines = [f"Check {check.id}: {check.title}", f"Policy: {policy.id} ({policy.path})"]
    lines.append(
        f"Category: {category_of(check)}" + (f", CIS level {check.level}" if check.level else "")
    )
    for label, text in (
        ("What it looks at", check.description),
        ("Why", check.rationale),
        ("Remediation", check.remediation),
    ):
        if text.strip():
            lines += [f"{label}:", textwrap.indent(text.strip(), "  ")]
    if check.compliance:
        lines.append("Compliance:")
        lines += [
            f"  {key}: {', '.join(values)}" for key, values in sorted(check.compliance.items())
        ]
    lines.append(f"Rules: the check {CONDITIONS[check.condition]}.")
    lines += [f"  {n}. {rule_words(rule)}" for n, rule in enumerate(check.rules, start=1)]
    windows = is_windows(policy)
    requests: dict[FactRequest, None] = {}
    for rule in check.rules:
        requests.update(dict.fromkeys(rule_requests(rule, policy.dialect, Facts(windows=windows))))
    lines.append("Facts collected (first stage; files a directory walk selects are read next):")
    lines += [f"  - {fact_words(request)}" for request in requests]
    return "\n".join(lines) + "\n"


def explain(args: argparse.Namespace) -> int:
    policies = load_policies([args.policy])
    for policy in policies:
        for check in policy.checks:
            if check.id == args.check_id:
                print(explain_text(policy, check), end="")
                return 0
    names = ", ".join(p.id for p in policies)
    print(f"no check {args.check_id!r} in {args.policy} (policies: {names})", file=sys.stderr)
    return 1
