"""The command line: check-policy's report and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_policy_accepts_our_rulesets_without_warnings() -> None:
    completed = cli("check-policy", "rulesets/", "--json")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads(completed.stdout)
    assert report["files"], "no policy found under rulesets/"
    for entry in report["files"]:
        assert entry["valid"] and entry["checks"] > 0
        assert entry["errors"] == [] and entry["warnings"] == [], entry["path"]


def test_a_broken_policy_is_refused_with_every_problem_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "policy: {id: b, file: b.yml, name: b, description: d}\n"
        "checks:\n"
        "  - id: 1\n    title: one\n    condition: all\n    rules: ['x:/nope']\n"
        "  - id: 1\n    title: dup\n    condition: maybe\n    rules: ['f:/etc/passwd']\n"
    )
    good = tmp_path / "good.yml"
    good.write_text(
        "policy: {id: g, file: g.yml, name: g, description: d}\n"
        "checks:\n  - id: 7\n    title: ok\n    condition: all\n    rules: ['f:/etc/passwd']\n"
    )
    completed = cli("check-policy", str(broken), str(good), "--json")
    assert completed.returncode == 1
    files = {Path(f["path"]).name: f for f in json.loads(completed.stdout)["files"]}
    assert files["good.yml"]["valid"] and files["good.yml"]["checks"] == 1
    errors = files["broken.yml"]["errors"]
    assert not files["broken.yml"]["valid"]
    assert len(errors) >= 3  # unknown rule type, duplicate id, bad condition
    assert all(e["line"] for e in errors)
    text = "\n".join(e["text"] for e in errors)
    assert "broken.yml:" in text and "check 1" in text


def test_check_policy_text_output_and_missing_files(tmp_path: Path) -> None:
    completed = cli("check-policy", "rulesets/")
    assert completed.returncode == 0 and completed.stdout.startswith("ok")
    assert cli("check-policy", str(tmp_path)).returncode == 2
    missing = cli("check-policy", str(tmp_path / "nope.yml"))
    assert missing.returncode == 1 and "nope.yml" in missing.stdout


def test_audit_refuses_an_invalid_policy_before_touching_the_host(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("policy: {}\nchecks: 3\n")
    completed = cli("audit", "--local", "--policy", str(broken))
    assert completed.returncode == 1
    assert "broken.yml" in completed.stderr
