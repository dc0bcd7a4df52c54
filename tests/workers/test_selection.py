"""Targeting in the runtime: levels, profiles and platform narrow what an audit runs and reports."""

from __future__ import annotations

from pathlib import Path

from workers.audit import run
from workers.engine.policy import load_policy_text
from workers.engine.selection import PolicySelection, narrow, platform_mismatch, policy_platform
from workers.transports.local import LocalTransport


def _policy(tmp_path: Path, policy_id: str, checks: str, requirements: str = ""):
    text = (
        f"policy: {{id: {policy_id}, file: p.yml, name: p, description: d}}\n"
        f"{requirements}checks:\n{checks}"
    )
    result = load_policy_text(text, str(tmp_path / f"{policy_id}.yml"))
    assert result.policy is not None, result.errors
    return result.policy


def _check(number: int, rule: str, extra: str = "") -> str:
    head = f"  - id: {number}\n    title: check {number}\n    condition: all\n"
    return f"{head}{extra}    rules: ['{rule}']\n"


def test_a_level_1_selection_neither_evaluates_nor_reports_level_2_checks(tmp_path: Path) -> None:
    marker = tmp_path / "level2-ran"
    checks = (
        _check(1, "f:/etc/passwd", "    level: 1\n")
        + _check(2, f"c:touch {marker} -> r:x", "    level: 2\n")
        + _check(3, "f:/etc/passwd")
    )
    policy = _policy(tmp_path, "lv", checks)
    outcome = run(LocalTransport(), [policy], selection={"lv": PolicySelection(frozenset({1}))})
    assert [r.check.id for r in outcome.results] == ["1", "3"]
    assert not marker.exists()
    assert outcome.summary.total == 2


def test_a_policy_the_selection_does_not_name_is_not_run(tmp_path: Path) -> None:
    first = _policy(tmp_path, "first", _check(1, "f:/etc/passwd"))
    second = _policy(tmp_path, "second", _check(1, "f:/etc/passwd"))
    outcome = run(LocalTransport(), [first, second], selection={"second": PolicySelection()})
    assert [p.policy.id for p in outcome.policies] == ["second"]


def test_a_profile_keeps_its_checks_and_those_of_every_profile(tmp_path: Path) -> None:
    checks = (
        _check(1, "f:/etc/passwd", "    profile: server\n")
        + _check(2, "f:/etc/passwd", "    profile: [workstation]\n")
        + _check(3, "f:/etc/passwd")
    )
    policy = _policy(tmp_path, "pr", checks)
    [narrowed] = narrow([policy], {"pr": PolicySelection(profile="workstation")})
    assert [c.id for c in narrowed.checks] == ["2", "3"]


def test_an_unknown_profile_is_refused_with_its_line(tmp_path: Path) -> None:
    text = "policy: {id: bad, file: b.yml, name: b, description: d}\nchecks:\n" + _check(
        1, "f:/etc/passwd", "    profile: laptop\n"
    )
    result = load_policy_text(text, "b.yml")
    assert result.policy is None
    assert any("profile" in str(e) and "b.yml:6" in str(e) for e in result.errors), result.errors


def test_a_windows_policy_on_a_posix_host_is_one_not_applicable_record(tmp_path: Path) -> None:
    requirements = (
        "requirements:\n  title: windows\n  description: d\n  condition: all\n"
        "  rules: ['r:HKLM\\\\SOFTWARE\\\\Microsoft\\\\Windows NT\\\\CurrentVersion']\n"
    )
    policy = _policy(tmp_path, "win", _check(1, "r:HKLM\\\\SOFTWARE -> X"), requirements)
    assert policy_platform(policy) == "windows"
    assert platform_mismatch(policy, windows=True) is None
    outcome = run(LocalTransport(), [policy])
    [evaluation] = outcome.policies
    assert evaluation.status.value == "not_applicable"
    assert evaluation.reason is not None and evaluation.reason.startswith("platform:")
    assert evaluation.checks == () and outcome.summary.total == 0


def test_failed_requirements_store_no_per_check_rows(tmp_path: Path) -> None:
    requirements = (
        "requirements:\n  title: never\n  description: d\n  condition: all\n"
        "  rules: ['f:/nonexistent/bwk-requirement']\n"
    )
    policy = _policy(tmp_path, "req", _check(1, "f:/etc/passwd"), requirements)
    assert policy_platform(policy) == "posix"
    outcome = run(LocalTransport(), [policy])
    [evaluation] = outcome.policies
    assert evaluation.status.value == "not_applicable"
    assert evaluation.reason and "requirements not met" in evaluation.reason
    assert outcome.results == ()
