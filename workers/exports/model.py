"""What every export format reads: hosts with their check results, free of Django and engine types.

The CLI builds these from an AuditOutcome, the platform from its Audit and Result rows; each
format (junit.py, sarif.py, oscal.py, html.py, csv.py) turns a Run into one document. Statuses
are plain strings so a status this module does not know (the platform's `excepted`, say) still
travels through every format instead of breaking it.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from workers.engine.scoring import score

PASSED, FAILED, NOT_APPLICABLE = "passed", "failed", "not_applicable"
KNOWN_STATUSES = (PASSED, FAILED, NOT_APPLICABLE)
# A fixed namespace so the same audit always gets the same OSCAL/SARIF identifiers.
NAMESPACE = uuid.UUID("6f1c2a64-5d0e-4b8e-9c77-2f3b1a0e9d41")
TOOL_NAME = "Bulwark"
TOOL_URI = "https://github.com/bulwark-audit/bulwark"
# Compliance keys that hold CIS benchmark or CIS Controls ids, shown as tags.
CIS_KEYS = ("cis", "cis_csc_v8", "cis_csc_v7", "cis_csc")
NIST_KEYS = ("nist_sp_800-53", "nist_800_53", "nist_sp_800_53")


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict on one host, with the check's texts and compliance mappings."""

    policy_id: str
    check_id: str
    title: str
    status: str
    reason: str = ""
    category: str = ""
    evidence: tuple[str, ...] = ()
    description: str = ""
    rationale: str = ""
    remediation: str = ""
    compliance: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    level: int | None = None
    policy_name: str = ""

    @property
    def rule_id(self) -> str:
        """Stable across hosts and runs: the policy and the check."""
        return f"{self.policy_id}/{self.check_id}"

    def cis_tags(self) -> list[str]:
        tags = []
        for key in CIS_KEYS:
            tags += [f"{key}:{value}" for value in self.compliance.get(key, ())]
        return tags

    def attack_techniques(self) -> tuple[str, ...]:
        """MITRE ATT&CK technique ids (derived from the safeguards: workers/engine/attack.py)."""
        return tuple(self.compliance.get("mitre_techniques", ()))

    def nist_controls(self) -> list[str]:
        found: list[str] = []
        for key in NIST_KEYS:
            found += self.compliance.get(key, ())
        return found


@dataclass(frozen=True)
class HostReport:
    """One host of a run: either audited (results) or not (error says why)."""

    name: str
    address: str = ""
    hostname: str = ""
    os: str = ""
    audited_at: datetime | None = None
    audit_id: str = ""  # the platform's audit id; empty for a CLI run
    error: str = ""
    results: tuple[CheckResult, ...] = ()

    @property
    def audited(self) -> bool:
        return not self.error

    def counts(self) -> Counter[str]:
        return Counter(result.status for result in self.results)

    @property
    def score(self) -> float | None:
        counts = self.counts()
        return score(counts[PASSED], counts[FAILED])

    def key(self) -> str:
        """What makes this host report unique in a run, for derived identifiers."""
        return f"{self.name}|{self.address}|{self.audit_id}|{self.audited_at}"


@dataclass(frozen=True)
class CategoryRow:
    category: str
    counts: Counter[str]

    @property
    def score(self) -> float | None:
        return score(self.counts[PASSED], self.counts[FAILED])


@dataclass(frozen=True)
class Run:
    """Everything one export covers: one host (an audit) or many (a group, a CLI inventory)."""

    title: str
    hosts: tuple[HostReport, ...]
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    tool_version: str = "1"

    def results(self) -> Iterable[tuple[HostReport, CheckResult]]:
        for host in self.hosts:
            for result in host.results:
                yield host, result

    def statuses(self) -> list[str]:
        """Known statuses first, then any other status seen, sorted."""
        seen = {result.status for _, result in self.results()}
        return [*KNOWN_STATUSES, *sorted(seen - set(KNOWN_STATUSES))]

    def categories(self) -> list[CategoryRow]:
        """Counts per category over every host, most failures first."""
        grouped: dict[str, Counter[str]] = {}
        for _, result in self.results():
            grouped.setdefault(result.category or "Uncategorised", Counter())[result.status] += 1
        rows = [CategoryRow(name, counts) for name, counts in grouped.items()]
        return sorted(rows, key=lambda row: (-row.counts[FAILED], row.category))

    def checks(self) -> list[CheckResult]:
        """One result per distinct rule (the first seen), in first-seen order."""
        unique: dict[str, CheckResult] = {}
        for _, result in self.results():
            unique.setdefault(result.rule_id, result)
        return list(unique.values())

    def uuid(self, *parts: str) -> str:
        """A UUID derived from this run and `parts`: same input, same identifiers."""
        base = "|".join([self.title, self.generated_at.isoformat(), *(h.key() for h in self.hosts)])
        return str(uuid.uuid5(NAMESPACE, "|".join([base, *parts])))


def aware(moment: datetime) -> datetime:
    """A naive moment is taken as UTC (the platform stores UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def iso(moment: datetime) -> str:
    """RFC 3339 with a time zone (OSCAL and SARIF require one)."""
    return aware(moment).isoformat()


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Drop control characters that XML 1.0 cannot carry (collected output may hold any byte)."""
    return _CONTROL.sub("\ufffd", text)
