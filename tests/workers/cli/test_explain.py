"""`explain POLICY CHECK_ID`: the check's texts, its rules in words and the facts it collects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def explain(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers", "explain", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_explains_a_linux_check() -> None:
    done = explain("rulesets/linux/bulwark_openssh_cis.yml", "bwk-sshd-0001")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("Check bwk-sshd-0001: ")
    assert "Policy: bulwark_openssh_cis" in text and "Remediation:" in text
    assert "cis_csc_v8: " in text
    assert "passes when every rule below holds" in text
    assert "has a line that matches the regex '^/etc/ssh/sshd_config [0-6]00 0 0$'" in text
    assert "  - run sh -c stat" in text


def test_it_explains_a_windows_check_with_its_registry_reads(tmp_path: Path) -> None:
    policy = tmp_path / "win.yml"
    policy.write_text(
        "policy: {id: w, file: w.yml, name: w, description: d}\n"
        "checks:\n"
        "  - id: 9\n    title: SMB signing\n    condition: none\n    rules:\n"
        "      - 'r:HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Parameters"
        " -> RequireSecuritySignature -> 0'\n"
        "      - 'f:/nope -> !r:^x && n:^a (\\d+) compare > 3'\n"
    )
    done = explain(str(policy), "9")
    assert done.returncode == 0, done.stderr
    assert "passes when none of the rules below holds" in done.stdout
    assert (
        "registry key HKLM\\SYSTEM" in done.stdout and "'RequireSecuritySignature'" in done.stdout
    )
    assert (
        "does not match the regex '^x' and has a number captured by '^a (\\d+)' that compares > 3"
        in done.stdout
    )
    assert "read registry key HKLM\\SYSTEM\\CurrentControlSet" in done.stdout


def test_it_says_a_user_policy_is_read_in_every_users_hive() -> None:
    done = explain("rulesets/windows/bulwark_win2022_member.yml", "bwk-ws2022-0398")
    assert done.returncode == 0, done.stderr
    assert "holds a line that is exactly '0' in every signed-in user's hive" in done.stdout
    assert "  - list the users' hives loaded under HKEY_USERS, then read the key in each" in (
        done.stdout
    )


def test_an_unknown_check_is_named() -> None:
    done = explain("rulesets/linux/", "nope-1")
    assert done.returncode == 1
    assert "no check 'nope-1' in rulesets/linux/" in done.stderr
