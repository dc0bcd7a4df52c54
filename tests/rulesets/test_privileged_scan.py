"""The privileged-commands comparison (6.2.3.6) of the filesystem scan the Linux policies share
with 7.1.11 and 7.1.12, run here with find, cat and auditctl replaced: the scan's setuid files
against the rules on disk and loaded. The scenarios prove the check on test hosts; this proves
each side of the comparison on its own, and what the other checks still see."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.rulesets.scenarios import ROOT
from workers.engine.policy import load_policy
from workers.engine.rules import tokenize_command

POLICY = ROOT / "rulesets" / "linux" / "bulwark_debian12.yml"
RULE = "-a always,exit -F path={} -F perm=x -F auid>=1000 -F auid!=unset -k privileged"
LOADED = "-a always,exit -S all -F path={} -F perm=x -F auid>=1000 -F auid!=-1 -F key=privileged"


def _script() -> str:
    loaded = load_policy(POLICY)
    assert loaded.policy is not None
    (check,) = [
        c for c in loaded.policy.checks if c.title.endswith("privileged commands are collected")
    ]
    (rule,) = check.rules
    argv = tokenize_command(rule.raw.removeprefix("not c:").split(" -> ")[0])
    assert argv[:2] == ("sh", "-c")
    return argv[2]


def _scan(
    tmp_path: Path, found: list[str], disk: list[str], loaded: list[str], status: int = 0
) -> subprocess.CompletedProcess[str]:
    stubs = {
        "find": f"printf '%s' \"$FOUND\"; exit {status}",
        "cat": 'printf "%s" "$DISK"',  # the awk's `cat /etc/audit/rules.d/*.rules`
        "auditctl": 'printf "%s" "$LOADED"',
    }
    for name, body in stubs.items():
        (tmp_path / name).write_text(f"#!/bin/sh\n{body}\n")
        (tmp_path / name).chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "FOUND": "".join(f"{line}\n" for line in found),
        "DISK": "".join(f"{line}\n" for line in disk),
        "LOADED": "".join(f"{line}\n" for line in loaded),
    }
    return subprocess.run(["sh", "-c", _script()], env=env, capture_output=True, text=True)


FILES = ["/usr/bin/sudo", "/usr/bin/su"]


def test_a_file_needs_its_rule_on_disk_and_loaded(tmp_path: Path) -> None:
    found = [f"privileged {f}" for f in FILES] + ["world-writable-file /srv/x"]
    complete = _scan(
        tmp_path, found, [RULE.format(f) for f in FILES], [LOADED.format(f) for f in FILES]
    )
    assert complete.returncode == 0
    assert complete.stdout == "world-writable-file /srv/x\n"  # the other checks' lines pass through
    partial = _scan(tmp_path, found, [RULE.format("/usr/bin/su")], [LOADED.format("/usr/bin/sudo")])
    assert sorted(partial.stdout.splitlines()) == [
        "privileged-not-loaded /usr/bin/su",
        "privileged-not-on-disk /usr/bin/sudo",
        "world-writable-file /srv/x",
    ]


@pytest.mark.parametrize(
    "rule",
    [
        RULE.replace(" -F perm=x", ""),
        RULE.replace("perm=x", "perm=wa"),
        RULE.replace("auid>=1000", "auid>=500"),
        RULE.replace(" -F auid!=unset", ""),
        RULE.replace(" -k privileged", ""),
        RULE.replace("always,exit", "never,exit"),
        "# " + RULE,
    ],
)
def test_an_incomplete_rule_does_not_count(tmp_path: Path, rule: str) -> None:
    done = _scan(tmp_path, ["privileged /usr/bin/sudo"], [rule.format("/usr/bin/sudo")], [])
    assert "privileged-not-on-disk /usr/bin/sudo" in done.stdout.splitlines()


def test_a_timed_out_scan_exits_124(tmp_path: Path) -> None:
    assert _scan(tmp_path, ["privileged /usr/bin/sudo"], [], [], status=124).returncode == 124
