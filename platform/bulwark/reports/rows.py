"""The rows the report queries return: frozen dataclasses, one per kind of answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from workers.engine.scoring import score as score_of


@dataclass(frozen=True)
class HostScore:
    """A host with the numbers of one audit (its latest, or its latest in a range)."""

    host_id: int
    name: str
    group: str
    address: str
    last_audit_at: dt.datetime | None
    score: float | None
    passed: int
    failed: int
    not_applicable: int
    # Failed checks an exception covers, and the score as if none existed: shown beside the
    # score wherever it appears, so accepted risk is never hidden.
    excepted: int = 0
    raw_score: float | None = None


@dataclass(frozen=True)
class CheckFailures:
    """A check and how many hosts fail it."""

    check_pk: int
    check_id: str
    title: str
    description: str
    category: str
    hosts: int
    excepted: int = 0  # hosts where its failure is excepted


@dataclass(frozen=True)
class CategoryCounts:
    """Passed, failed and not applicable in one category (results of the hosts counted)."""

    category: str
    passed: int
    failed: int
    not_applicable: int

    @property
    def score(self) -> float | None:
        return score_of(self.passed, self.failed)


@dataclass(frozen=True)
class DayPoint:
    """One day of the evolution: hosts audited and their averages."""

    day: dt.date
    hosts: int
    passed: float
    failed: float
    not_applicable: float
    score: float | None
    excepted: float = 0.0
    raw_score: float | None = None


@dataclass(frozen=True)
class HostCheck:
    """One result of a host's audit, with its check."""

    result_pk: int
    audit_id: int
    check_id: str
    title: str
    category: str
    status: str
    policy: str


@dataclass(frozen=True)
class GroupScore:
    """A group's hosts, how many were audited in the range, and their average score."""

    group_id: int
    name: str
    hosts: int
    audited: int
    average: float | None
    raw_average: float | None = None


@dataclass(frozen=True)
class Overview:
    """The security dashboard (P10)."""

    total_hosts: int
    audited_hosts: int
    average_score: float | None
    raw_average_score: float | None = None
    excepted: int = 0  # excepted checks over the audited hosts' latest audits
    groups: list[GroupScore] = field(default_factory=list)
    categories: list[CategoryCounts] = field(default_factory=list)
    hosts_by_failures: list[HostScore] = field(default_factory=list)
    most_failed: list[CheckFailures] = field(default_factory=list)
    evolution: list[DayPoint] = field(default_factory=list)
