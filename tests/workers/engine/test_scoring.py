"""Scores and CIS Controls v8 categories."""

from __future__ import annotations

from workers.engine.categories import UNCATEGORISED, category_of
from workers.engine.definitions import CheckDefinition, Condition
from workers.engine.scoring import score


def test_the_seed_figures() -> None:
    assert score(10, 2) == 83.33
    assert round(score(14, 46)) == 23
    assert round(score(92, 16)) == 85


def test_no_score_without_passed_or_failed() -> None:
    assert score(0, 0) is None
    assert score(0, 3) == 0.0
    assert score(3, 0) == 100.0


def _check(compliance=None, category=None) -> CheckDefinition:
    return CheckDefinition(
        "1", "t", Condition.ALL, (), compliance=compliance or {}, category=category
    )


def test_v8_safeguard_decides_first() -> None:
    check = _check({"cis_csc_v8": ("4.8",), "cis_csc_v7": ("9.2",)})
    assert category_of(check) == "Secure Configuration of Enterprise Assets and Software"


def test_v7_safeguards_map_to_v8_controls() -> None:
    assert category_of(_check({"cis_csc_v7": ("6.2",)})) == "Audit Log Management"
    assert category_of(_check({"cis_csc": ("16.4",)})) == "Account Management"
    assert category_of(_check({"cis_csc_v7": ("13.1",)})) == "Data Protection"


def test_explicit_category_then_uncategorised() -> None:
    assert category_of(_check(category="malware defenses")) == "Malware Defenses"
    assert category_of(_check(category="Our own")) == "Our own"
    assert category_of(_check()) == UNCATEGORISED
