"""Scores and summaries: passed / (passed + failed) × 100, none when both are 0."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from workers.engine.evaluate import CheckEvaluation, CheckStatus


def score(passed: int, failed: int) -> float | None:
    """The hardening score, rounded to 2 decimals (10 passed, 2 failed -> 83.33)."""
    if passed + failed == 0:
        return None
    return round(passed * 100 / (passed + failed), 2)


@dataclass(frozen=True)
class Summary:
    passed: int
    failed: int
    not_applicable: int

    @property
    def score(self) -> float | None:
        return score(self.passed, self.failed)

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.not_applicable

    def as_dict(self) -> dict[str, int | float | str | None]:
        return {
            "passed": self.passed,
            "failed": self.failed,
            "not_applicable": self.not_applicable,
            "score": self.score,
        }


@dataclass(frozen=True)
class CategoryTotals(Summary):
    """One category's counts and score in an audit (the platform stores them as CategorySummary
    rows)."""

    category: str = ""

    def as_dict(self) -> dict[str, int | float | str | None]:
        return {"category": self.category, **super().as_dict()}


def summarize(evaluations: Iterable[CheckEvaluation]) -> Summary:
    counts = {status: 0 for status in CheckStatus}
    for evaluation in evaluations:
        counts[evaluation.status] += 1
    return Summary(
        counts[CheckStatus.PASSED], counts[CheckStatus.FAILED], counts[CheckStatus.NOT_APPLICABLE]
    )


def summarize_by_category(evaluations: Iterable[CheckEvaluation]) -> list[CategoryTotals]:
    """One summary per category, most failures first, then by name."""
    grouped: dict[str, list[CheckEvaluation]] = {}
    for evaluation in evaluations:
        grouped.setdefault(evaluation.category, []).append(evaluation)
    summaries = []
    for category, members in grouped.items():
        total = summarize(members)
        summaries.append(
            CategoryTotals(total.passed, total.failed, total.not_applicable, category=category)
        )
    return sorted(summaries, key=lambda s: (-s.failed, s.category))
