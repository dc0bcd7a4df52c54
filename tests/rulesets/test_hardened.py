"""The merge of every pass scenario of a policy into one hardened test host (no host needed)."""

from __future__ import annotations

import pytest

from tests.rulesets.differences import OURS, load
from tests.rulesets.hardened import (
    RESOLUTIONS,
    MergedSpec,
    hardened_host_spec,
    merge_pass_scenarios,
    refuse_double_mounts,
)
from tests.rulesets.scenarios import ROOT, load_scenarios

pytestmark = pytest.mark.slow  # make test-fast leaves it out


@pytest.fixture(scope="module")
def merged() -> MergedSpec:
    return merge_pass_scenarios(OURS, [check.id for check in load(OURS).checks])


def test_each_scenarios_own_sshd_directive_precedes_the_shared_defaults(
    merged: MergedSpec,
) -> None:
    _base, scenarios = load_scenarios(OURS)
    lines = merged.spec["files"]["/etc/ssh/sshd_config"].splitlines()
    first_default = lines.index("PermitRootLogin prohibit-password")
    own = {
        line
        for scenario in scenarios.values()
        for line in ((scenario["pass"] or {}).get("files") or {})
        .get("/etc/ssh/sshd_config", "")
        .splitlines()
    } - set(lines[first_default:])
    assert own and all(lines.index(line) < first_default for line in own)
    # sshd keeps the first value: the hardened ones win over the harness-like defaults.
    assert lines.index("PermitRootLogin no") < first_default


def test_files_of_one_path_are_united_and_reported(merged: MergedSpec) -> None:
    rules = merged.spec["files"]["/etc/audit/rules.d/50-bulwark.rules"]
    assert "-w /etc/sudoers -p wa -k scope" in rules
    assert "-w /etc/localtime -p wa -k time-change" in rules
    united = {path for key, path, _ids, how in merged.conflicts if how == "lines united"}
    assert "/etc/audit/rules.d/50-bulwark.rules" in united


def test_fake_packages_go_into_one_dpkg_status_line_run_last(merged: MergedSpec) -> None:
    dpkg = [line for line in merged.spec["setup"] if "/run/dpkg-status" in line]
    assert len(dpkg) == 1 and merged.spec["setup"][-1] == dpkg[0]
    for package in ("apparmor", "ufw", "libpam-pwquality", "auditd"):
        assert f"Package: {package}\\n" in dpkg[0]


def test_two_setup_lines_mounting_one_directory_are_refused() -> None:
    refuse_double_mounts(["mount -t tmpfs tmpfs /srv && mkdir /srv/a", "mount --bind /x /y"])
    with pytest.raises(ValueError, match="/tmp"):
        refuse_double_mounts(
            ["mount -t tmpfs -o nodev tmpfs /tmp", "mount -t tmpfs -o mode=1777 tmpfs /tmp"]
        )


def test_resolutions_name_checks_that_exist() -> None:
    for stem, resolved in RESOLUTIONS.items():
        ids = {check.id for check in load(ROOT / "rulesets" / "linux" / f"{stem}.yml").checks}
        assert sorted(set(resolved) - ids) == []


def test_the_merged_scenario_makes_a_valid_host_spec() -> None:
    spec = hardened_host_spec("hardened", OURS, [check.id for check in load(OURS).checks])
    assert spec.name == "hardened" and spec.setup and spec.processes


def test_the_merged_nft_ruleset_keeps_each_rule_in_its_chain(merged: MergedSpec) -> None:
    lines = merged.spec["commands"]["nft"]["list ruleset"].splitlines()
    # Well-formed: every brace closes what it opened, and nothing follows the table's.
    depth = 0
    for number, line in enumerate(lines):
        depth += line.endswith("{") - (line.strip() == "}")
        assert depth >= 0 and (depth > 0 or number == len(lines) - 1 or line.endswith("{"))
    assert depth == 0 and lines[-1] == "}"
    # The loopback drops (4.3.6) are in the input chain, before its closing brace.
    start = lines.index("\tchain input {")
    end = lines.index("\t}", start)
    inside = "\n".join(lines[start:end])
    assert "ip saddr 127.0.0.0/8" in inside and "ip6 saddr ::1" in inside
    assert "hook input" in inside and "hook forward" not in inside
