"""Whole audits through the local transport: one collector execution, hostile facts contained."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.shared_data import shared_data_dir
from workers.audit import run
from workers.engine.evaluate import CheckStatus
from workers.engine.policy import load_policy, load_policy_text
from workers.transports.local import LocalTransport

ROOT = Path(__file__).resolve().parents[2]


def _policy(tmp_path: Path, checks: str, requirements: str = ""):
    text = (
        "policy: {id: hostile, file: h.yml, name: hostile, description: d}\n"
        f"{requirements}checks:\n{checks}"
    )
    result = load_policy_text(text, str(tmp_path / "h.yml"))
    assert result.policy is not None, result.errors
    return result.policy


def _check(number: int, rule: str, condition: str = "all") -> str:
    return (
        f"  - id: {number}\n    title: check {number}\n    condition: {condition}\n"
        f"    rules: [{json.dumps(rule)}]\n"
    )


@pytest.mark.slow  # a timer: waits out a command timeout
def test_hostile_facts_make_only_their_checks_not_applicable(tmp_path: Path) -> None:
    big = tmp_path / "big"
    with big.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)  # 64 MiB of zeros, sparse on disk
    (tmp_path / "binary").write_bytes(b"\x00\xff\xfe key=1\n\xc3\x28 bad utf8\n")
    (tmp_path / "normal").write_text("PermitRootLogin no\n")
    checks = "".join(
        [
            _check(1, f"f:{big} -> r:anything"),
            _check(2, f"f:{tmp_path}/binary -> r:key=1"),
            _check(3, "c:sleep 1000 -> r:x"),
            _check(4, f"f:{tmp_path}/normal -> r:PermitRootLogin no"),
            _check(5, "c:head -c 67108864 /dev/zero -> r:x"),
            _check(6, "c:echo BWK-00000000000000000000000000000000 END 1 0 -> r:END"),
        ]
    )
    policy = _policy(tmp_path, checks)
    transport = LocalTransport()
    outcome = run(transport, [policy], command_timeout=2)
    by_id = {r.check.id: r for r in outcome.results}
    assert by_id["1"].status is CheckStatus.NOT_APPLICABLE
    assert "size cap" in by_id["1"].reason
    assert by_id["2"].status is CheckStatus.PASSED
    assert by_id["3"].status is CheckStatus.NOT_APPLICABLE
    assert "timed out" in by_id["3"].reason
    assert by_id["4"].status is CheckStatus.PASSED
    assert by_id["5"].status is CheckStatus.NOT_APPLICABLE
    assert by_id["6"].status is CheckStatus.PASSED
    assert transport.executions == 1
    json.dumps([r.evidence[-1].as_dict() for r in outcome.results])  # storable text


def test_policies_whose_requirements_fail_cost_no_commands(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    requirements = (
        "requirements:\n  title: never\n  description: d\n  condition: all\n"
        "  rules: ['f:/nonexistent/bwk-requirement']\n"
    )
    policy = _policy(tmp_path, _check(1, f"c:touch {marker} -> r:x"), requirements)
    outcome = run(LocalTransport(), [policy])
    assert not marker.exists()
    assert outcome.policies[0].status.value == "not_applicable"
    assert outcome.stages == 1


@pytest.mark.slow
def test_cis_debian12_audit_is_one_execution_and_stable() -> None:
    path = shared_data_dir() / "wazuh-sca-5x" / "debian" / "cis_debian12.yml"
    policy = load_policy(path).policy
    assert policy is not None
    runs = []
    for _ in range(2):
        transport = LocalTransport()
        outcome = run(transport, [policy], command_timeout=30)
        assert transport.executions == 1
        assert len(outcome.results) == len(policy.checks)
        runs.append({r.check.id: (r.status, r.reason) for r in outcome.results})
    assert runs[0] == runs[1]


@pytest.mark.slow  # audits this machine with every Wazuh policy
@pytest.mark.parametrize("dialect_dir", ["wazuh-sca-5x", "wazuh-sca-4x"])
def test_cli_local_audit_json(dialect_dir: str) -> None:
    path = shared_data_dir() / dialect_dir / "debian" / "cis_debian12.yml"
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "workers",
            "audit",
            "--local",
            "--policy",
            str(path),
            "--json",
            "--timeout",
            "30",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    report = json.loads(completed.stdout)
    assert set(report) >= {"host", "policies", "summary", "categories", "results"}
    assert report["collector"]["executions"] == 1
    assert report["policies"][0]["id"] == "cis_debian12"
    summary = report["summary"]
    assert summary["passed"] + summary["failed"] + summary["not_applicable"] == len(
        report["results"]
    )
    first = report["results"][0]
    assert set(first) == {
        "policy",
        "check_id",
        "title",
        "status",
        "reason",
        "category",
        "mitre_techniques",
        "evidence",
    }
    assert isinstance(first["mitre_techniques"], list)
    assert report["host"]["family"] == "linux"
