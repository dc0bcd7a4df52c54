"""Our Debian 12 policy beside Wazuh's cis_debian12: the pairs of checks that cover one CIS
recommendation, where their verdicts disagree, and the table of rulesets/DIFFERENCES.md that
explains each disagreement.

    sudo .venv/bin/python -m tests.rulesets.differences   # prints the table for today's audits

The printed rows keep the class and reason of an existing row for the same pair and mark new
ones TODO; paste them into DIFFERENCES.md after investigating each.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.harness import TestHosts
from tests.rulesets.hardened import hardened_host_spec
from tests.rulesets.scenarios import ROOT, auditor_target
from workers.audit import AuditOutcome, run
from workers.engine.definitions import PolicyDefinition
from workers.engine.evaluate import CheckStatus
from workers.engine.policy import load_policy
from workers.transports.local import LocalTransport
from workers.transports.ssh import SSHTransport

OURS = ROOT / "rulesets" / "linux" / "bulwark_debian12.yml"
DIFFERENCES = ROOT / "rulesets" / "DIFFERENCES.md"
WAZUH_5X = Path("wazuh-sca-5x") / "debian" / "cis_debian12.yml"
WAZUH_4X = Path("wazuh-sca-4x") / "debian" / "cis_debian12.yml"
CLASSES = (
    "Wazuh false positive",
    "Wazuh false negative",
    "ours fixed",
    "different scope",
    "environment",
)
SIDES = ("machine", "hardened")
COLUMNS = ("CIS", "Bulwark", "Wazuh", "Where", "Class", "Reason")
COMMAND_TIMEOUT = 60.0


@dataclass(frozen=True, order=True)
class Pair:
    """Our check and Wazuh's for one CIS recommendation."""

    cis: str
    ours: str
    wazuh: str


@dataclass(frozen=True)
class Row:
    """One row of the DIFFERENCES.md table."""

    cis: str
    ours: str
    wazuh: str
    where: str  # "machine", "hardened" or "both"
    kind: str  # one of CLASSES
    reason: str

    @property
    def sides(self) -> tuple[str, ...]:
        return SIDES if self.where == "both" else (self.where,)


def load(path: Path) -> PolicyDefinition:
    result = load_policy(path)
    if result.policy is None:
        raise ValueError(f"{path} does not load: {[str(e) for e in result.errors[:3]]}")
    return result.policy


def cis_numbers(policy: PolicyDefinition) -> dict[str, str]:
    """check id -> its one CIS number, for the checks that name exactly one."""
    numbers = {}
    for check in policy.checks:
        cis = check.compliance.get("cis", ())
        if len(cis) > 1:
            raise ValueError(f"{policy.id} check {check.id} names several CIS items: {cis}")
        if cis:
            numbers[check.id] = cis[0]
    return numbers


def pairs(ours: PolicyDefinition, wazuh_4x: PolicyDefinition) -> list[Pair]:
    """Pairs by CIS number. Wazuh's 5.x checks carry no `cis` key; its 4.x file does, under the
    same check ids (tests check that the two sets share ids and titles)."""
    by_number: dict[str, list[str]] = {}
    for check_id, number in cis_numbers(wazuh_4x).items():
        by_number.setdefault(number, []).append(check_id)
    found = [
        Pair(number, check_id, wazuh_id)
        for check_id, number in cis_numbers(ours).items()
        for wazuh_id in by_number.get(number, ())
    ]
    return sorted(found, key=lambda p: ([int(n) for n in p.cis.split(".")], p.ours, p.wazuh))


def verdicts(outcome: AuditOutcome) -> dict[tuple[str, str], CheckStatus]:
    return {(r.policy_id, r.check.id): r.status for r in outcome.results}


def disagreements(
    found: Iterable[Pair], outcome: AuditOutcome, ours_id: str, wazuh_id: str
) -> dict[Pair, tuple[CheckStatus, CheckStatus]]:
    """The pairs whose two verdicts differ (passed / failed / not applicable)."""
    got = verdicts(outcome)
    result = {}
    for pair in found:
        mine, theirs = got[(ours_id, pair.ours)], got[(wazuh_id, pair.wazuh)]
        if mine is not theirs:
            result[pair] = (mine, theirs)
    return result


_SEPARATOR = re.compile(r"^\|(\s*:?-+:?\s*\|)+\s*$")


def parse_table(text: str) -> list[Row]:
    """The rows of the Markdown table whose header is COLUMNS (pipes inside a cell as `\\|`)."""
    lines = text.splitlines()
    header = [number for number, line in enumerate(lines) if _cells(line) == list(COLUMNS)]
    if not header:
        raise ValueError(f"no table with the columns {' | '.join(COLUMNS)}")
    number = header[0]
    if number + 1 >= len(lines) or not _SEPARATOR.match(lines[number + 1].strip()):
        raise ValueError("the table header is not followed by a separator line")
    rows = []
    for line in lines[number + 2 :]:
        if not line.strip().startswith("|"):
            break
        cells = _cells(line)
        if len(cells) != len(COLUMNS):
            raise ValueError(f"expected {len(COLUMNS)} cells: {line!r}")
        cis, ours, wazuh, where, kind, reason = cells
        rows.append(Row(cis, ours.strip("`"), wazuh.strip("`"), where, kind, reason))
    return rows


def _cells(line: str) -> list[str]:
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|")):
        return []
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line[1:-1])]


def audit_machine(policies: Sequence[PolicyDefinition]) -> AuditOutcome:
    """This machine as it stands, through the local transport (run as root, like the agent)."""
    with LocalTransport() as transport:
        return run(transport, policies, command_timeout=COMMAND_TIMEOUT)


def audit_hardened(
    test_hosts: TestHosts, ours: PolicyDefinition, policies: Sequence[PolicyDefinition]
) -> AuditOutcome:
    """A test host with the pass scenarios of all `ours`'s checks, audited over SSH."""
    spec = hardened_host_spec("hardened", OURS, [check.id for check in ours.checks])
    host = test_hosts.start(spec)
    try:
        with SSHTransport(auditor_target(host)) as transport:
            return run(transport, policies, command_timeout=COMMAND_TIMEOUT)
    finally:
        host.stop()


def table(
    found: Sequence[Pair],
    by_side: dict[str, dict[Pair, tuple[CheckStatus, CheckStatus]]],
    known: Sequence[Row],
) -> str:
    """The Markdown table for these disagreements, reusing the class and reason of known rows
    (one row per side where the known rows explain the two sides apart)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for pair in found:
        sides = [side for side in SIDES if pair in by_side[side]]
        rows = [r for r in known if (r.cis, r.wazuh) == (pair.cis, pair.wazuh)]
        split = len(sides) == 2 and bool(rows) and not any(r.where == "both" for r in rows)
        for where in sides if split else ["both"] if len(sides) == 2 else sides:
            shown = SIDES if where == "both" else (where,)
            covering = [r for r in rows if r.where == where] or [
                r for r in rows if set(r.sides) & set(shown)
            ]
            if covering:
                kind, reason = covering[0].kind, covering[0].reason
            else:
                seen = "; ".join(
                    f"{side}: ours {by_side[side][pair][0].value},"
                    f" Wazuh {by_side[side][pair][1].value}"
                    for side in shown
                )
                kind, reason = "TODO", f"TODO ({seen})"
            cells = [pair.cis, f"`{pair.ours}`", f"`{pair.wazuh}`", where, kind, reason]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    if os.geteuid() != 0:
        raise SystemExit("run as root: the audits read what only root can, and test hosts need it")
    shared = Path(os.environ.get("BULWARK_SHARED_DATA") or ROOT.parent / "shared" / "data")
    ours, wazuh, wazuh_4x = load(OURS), load(shared / WAZUH_5X), load(shared / WAZUH_4X)
    found = pairs(ours, wazuh_4x)
    outcomes = {"machine": audit_machine([ours, wazuh])}
    with TestHosts() as test_hosts:
        outcomes["hardened"] = audit_hardened(test_hosts, ours, [ours, wazuh])
    by_side = {side: disagreements(found, o, ours.id, wazuh.id) for side, o in outcomes.items()}
    known = parse_table(DIFFERENCES.read_text()) if DIFFERENCES.exists() else []
    for side, outcome in outcomes.items():
        passed = sum(
            r.status is CheckStatus.PASSED for r in outcome.results if r.policy_id == ours.id
        )
        print(
            f"{side}: {len(by_side[side])} of {len(found)} pairs disagree;"
            f" ours passes {passed}/{len(ours.checks)}",
            file=sys.stderr,
        )
    sys.stdout.write(table(found, by_side, known))


if __name__ == "__main__":
    main()
