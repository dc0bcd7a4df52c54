"""Which steps a remediation has: the failed checks of one host that carry a fix, in policy
order, and the failed ones that do not (listed in the script so nothing is silently left out).

Only `failed` results count: passed, not applicable and any other status (the platform's
`excepted`, say) never get a step.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workers.engine.definitions import CheckDefinition, PolicyDefinition
from workers.engine.fixes import FixDefinition

_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")


def one_line(text: str) -> str:
    """Text safe inside a script comment or a quoted name: no line breaks, no control bytes."""
    return _BREAKS.sub(" ", text).strip()


class ResultsError(ValueError):
    """The results file cannot be used; the message says why."""


@dataclass(frozen=True)
class Step:
    policy_id: str
    check: CheckDefinition

    @property
    def fix(self) -> FixDefinition | None:
        return self.check.fix

    @property
    def label(self) -> str:
        """`bwk-sshd-0017 (CIS 5.1.7): Ensure ...` - how each step is commented. One line:
        it is written into comments, where a line break would start a command."""
        cis = ", ".join(self.check.compliance.get("cis", ()))
        text = f"{self.check.id}" + (f" (CIS {cis})" if cis else "") + f": {self.check.title}"
        return one_line(text)

    @property
    def heading(self) -> str:
        return one_line(f"{self.policy_id} {self.label}")

    @property
    def manual(self) -> str:
        """Why there is no automatic fix, on one line."""
        return one_line(self.fix.manual) if self.fix is not None and self.fix.manual else ""


@dataclass(frozen=True)
class Plan:
    host: str
    steps: tuple[Step, ...]  # failed checks with an automatic fix, installs first, in order
    without_fix: tuple[Step, ...]  # failed checks without one (manual or none written)


def failed_ids(document: Mapping[str, Any], host: str | None) -> tuple[str, set[tuple[str, str]]]:
    """(host name, {(policy, check id)}) of the failed results in a CLI results document: the
    one-host shape of `audit --format json`, or the inventory shape (pick the host)."""
    if "hosts" in document:
        audited = [h for h in document["hosts"] if h.get("result")]
        if host is not None:
            audited = [h for h in audited if h.get("name") == host]
        if len(audited) != 1:
            names = ", ".join(str(h.get("name")) for h in document["hosts"] if h.get("result"))
            raise ResultsError(
                f"name one audited host with --host (audited: {names or 'none'})"
                if host is None
                else f"no audited host {host!r} in the results (audited: {names or 'none'})"
            )
        name, result = str(audited[0]["name"]), audited[0]["result"]
    elif "results" in document:
        result = document
        name = host or str(document.get("host", {}).get("hostname") or "host")
    else:
        raise ResultsError("not a Bulwark results document (no 'results' nor 'hosts')")
    failed = set()
    for row in result.get("results", []):
        if row.get("status") == "failed":
            failed.add((str(row.get("policy")), str(row.get("check_id"))))
    return name, failed


def read_results(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{path}: cannot read the results: {exc}") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: not a Bulwark results document")
    return data


def make_plan(
    host: str, failed: Iterable[tuple[str, str]], policies: Sequence[PolicyDefinition]
) -> Plan:
    wanted = set(failed)
    steps: list[Step] = []
    without: list[Step] = []
    for policy in policies:
        for check in policy.checks:
            if (policy.id, check.id) not in wanted:
                continue
            step = Step(policy.id, check)
            (steps if check.fix is not None and check.fix.automatic else without).append(step)
    # Package installs first: a package brings its own configuration files (rsyslog.conf with
    # its $FileCreateMode, say), which the configuration steps must see to settle them.
    steps.sort(key=lambda step: not (step.fix and step.fix.install_packages))
    return Plan(one_line(host) or "host", tuple(steps), tuple(without))
