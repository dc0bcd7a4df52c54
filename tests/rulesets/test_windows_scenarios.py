"""Every check of rulesets/windows is proven both ways over the real WinRM path: pywinrm, the
WS-Management test server, the PowerShell collector's framing and the engine.

tests/rulesets/windows_scenarios/<policy stem>.yml names a base fixture and, per check, a `pass`
and a `fail` overlay. Checks whose overlays touch disjoint settings share machines: one built from
all their pass overlays and one from all their fail overlays, so each check is still judged on a
machine made from its own overlay, and a policy costs a few audits instead of two per check.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from pathlib import Path
from typing import Any

import pytest

from tests.hosts.windows_machine import WindowsMachine, load_spec
from tests.hosts.winrm_server import WinRMServer
from tests.hosts.winrm_support import FIXTURES, PASSWORD, USER, target
from tests.parallel import batched_cases
from tests.rulesets.scenarios import ROOT
from tests.shared_data import shared_data_dir
from tests.yaml_files import read_yaml
from workers.audit import AuditOutcome, run
from workers.engine.definitions import PolicyDefinition
from workers.engine.evaluate import PolicyStatus
from workers.engine.policy import load_policy
from workers.transports.winrm import WinRMTransport

pytestmark = pytest.mark.slow  # make test-fast leaves it out

POLICY_FILES = sorted((ROOT / "rulesets" / "windows").glob("*.yml"))
SCENARIOS = Path(__file__).resolve().parent / "windows_scenarios"
OVERLAY_KEYS = {"registry", "audit_policy", "secedit"}


def _load(path: Path) -> PolicyDefinition:
    result = load_policy(path)
    assert result.policy is not None, [str(e) for e in result.errors]
    return result.policy


def _scenarios(path: Path) -> tuple[str, dict[str, dict[str, Any]]]:
    data = read_yaml(SCENARIOS / f"{path.stem}.yml") or {}
    return str(data["base"]), {str(k): v for k, v in (data.get("checks") or {}).items()}


# -- overlays ------------------------------------------------------------------------------------


def _patch_inf(text: str, changes: dict[str, dict[str, Any]]) -> str:
    """Set (or with None delete) `Name = value` lines of a secedit export, section by section."""
    lines = text.splitlines()
    for section, values in changes.items():
        for name, value in values.items():
            start = next(i for i, line in enumerate(lines) if line.strip() == f"[{section}]")
            end = next(
                (i for i in range(start + 1, len(lines)) if lines[i].startswith("[")), len(lines)
            )
            found = [
                i
                for i in range(start + 1, end)
                if lines[i].split("=", 1)[0].strip().lower() == name.lower()
            ]
            for i in reversed(found):
                del lines[i]
            if value is not None:
                lines.insert(found[0] if found else end, f"{name} = {value}")
    return "\n".join(lines) + "\n"


def apply_overlay(spec: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """The fixture spec with one check's overlay applied."""
    unknown = set(overlay) - OVERLAY_KEYS
    assert not unknown, f"unknown overlay keys {sorted(unknown)}"
    spec = copy.deepcopy(spec)
    registry = spec.setdefault("registry", {})
    by_lower = {key.lower(): key for key in registry}
    for key, values in (overlay.get("registry") or {}).items():
        existing = by_lower.setdefault(key.lower(), key)
        registry[existing] = {**(registry.get(existing) or {}), **values}
    spec["audit_policy"] = {
        **(spec.get("audit_policy") or {}),
        **(overlay.get("audit_policy") or {}),
    }
    if overlay.get("secedit"):
        spec["secedit"] = _patch_inf(str(spec.get("secedit") or ""), overlay["secedit"])
    return spec


def touched(overlay: dict[str, Any]) -> set[tuple[str, ...]]:
    """The settings an overlay changes, to tell which checks can share a machine."""
    found: set[tuple[str, ...]] = set()
    for key, values in (overlay.get("registry") or {}).items():
        found |= {("registry", key.lower(), name.lower()) for name in values}
    found |= {("audit", name.lower()) for name in overlay.get("audit_policy") or {}}
    for section, values in (overlay.get("secedit") or {}).items():
        found |= {("secedit", section.lower(), name.lower()) for name in values}
    return found


@functools.cache
def batches(path: Path) -> tuple[tuple[str, ...], ...]:
    """Check ids grouped so that no two checks of a group touch the same setting."""
    _base, scenarios = _scenarios(path)
    groups: list[tuple[list[str], set[tuple[str, ...]]]] = []
    for check_id, both in scenarios.items():
        settings = touched(both["pass"]) | touched(both["fail"])
        group = next((g for g in groups if not g[1] & settings), None)
        if group is None:
            groups.append(([check_id], settings))
        else:
            group[0].append(check_id)
            group[1].update(settings)
    return tuple(tuple(ids) for ids, _ in groups)


# -- audits --------------------------------------------------------------------------------------


def audit(machine: WindowsMachine, policies: list[PolicyDefinition]) -> AuditOutcome:
    server = WinRMServer(machine, users={USER: PASSWORD}).start()
    try:
        with WinRMTransport(target(server, auth="basic")) as transport:
            outcome = run(transport, policies, command_timeout=10)
    finally:
        server.stop()
    assert machine.mismatches == [], machine.mismatches
    assert outcome.executions == 1
    return outcome


@functools.cache
def batch_verdicts(path: Path, index: int, kind: str) -> dict[str, tuple[str, str, list[Any]]]:
    """{check id: (status, reason, evidence)} on the machine built from one batch's overlays."""
    policy = _load(path)
    base, scenarios = _scenarios(path)
    ids = batches(path)[index]
    spec = load_spec(FIXTURES / f"{base}.yml")
    for check_id in ids:
        spec = apply_overlay(spec, scenarios[check_id][kind])
    wanted = [c for c in policy.checks if c.id in ids]
    outcome = audit(WindowsMachine(spec), [_replace_checks(policy, wanted)])
    assert outcome.policies[0].status is PolicyStatus.APPLICABLE, outcome.policies[0].reason
    return {
        r.check.id: (r.status.value, r.reason, [e.as_dict() for e in r.evidence])
        for r in outcome.results
    }


def _replace_checks(policy: PolicyDefinition, checks: list[Any]) -> PolicyDefinition:
    return dataclasses.replace(policy, checks=tuple(checks))


def _cases() -> list[object]:
    """One case per check, grouped by batch (tests/parallel.py), so each batch's machines start
    once under pytest-xdist."""
    return batched_cases(POLICY_FILES, batches, lambda path: (c.id for c in _load(path).checks))


# -- tests ---------------------------------------------------------------------------------------


def test_there_are_at_least_300_windows_checks() -> None:
    assert len(POLICY_FILES) == 2
    assert sum(len(_load(path).checks) for path in POLICY_FILES) >= 300


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda p: p.stem)
def test_every_check_has_both_overlays_and_no_stray_ones(path: Path) -> None:
    policy = _load(path)
    base, scenarios = _scenarios(path)
    assert (FIXTURES / f"{base}.yml").exists()
    ids = {check.id for check in policy.checks}
    missing = sorted(i for i in ids if set(scenarios.get(i) or {}) != {"pass", "fail"})
    assert missing == [], f"checks without both a pass and a fail overlay: {missing}"
    assert sorted(set(scenarios) - ids) == [], "overlays for checks that do not exist"
    for check_id, both in scenarios.items():
        assert both["pass"] != both["fail"], check_id
        assert set(both["pass"]) | set(both["fail"]) <= OVERLAY_KEYS, check_id


@pytest.mark.parametrize(("path", "check_id"), _cases())
def test_check_passes_and_fails_as_its_overlays_say(path: Path, check_id: str) -> None:
    index = next(i for i, ids in enumerate(batches(path)) if check_id in ids)
    got = {kind: batch_verdicts(path, index, kind)[check_id] for kind in ("pass", "fail")}
    assert got["pass"][0] == "passed", f"pass overlay gave {got['pass']}"
    assert got["fail"][0] == "failed", f"fail overlay gave {got['fail']}"


def test_overlays_patch_the_secedit_export_line_by_line() -> None:
    text = "[System Access]\nA = 1\nB = 2\n[Privilege Rights]\nSeX = *S-1\n[Version]\n"
    patched = _patch_inf(
        text, {"System Access": {"a": 5, "C": 3}, "Privilege Rights": {"SeX": None, "SeY": "*S-2"}}
    )
    assert (
        patched
        == "[System Access]\na = 5\nB = 2\nC = 3\n[Privilege Rights]\nSeY = *S-2\n[Version]\n"
    )


def _stock(name: str) -> PolicyDefinition:
    loaded = load_policy(shared_data_dir() / "wazuh-sca-5x" / "windows" / f"{name}.yml")
    assert loaded.policy is not None
    return loaded.policy


@pytest.mark.parametrize(
    ("fixture", "applicable"),
    [
        ("ws2022_stock", {"bulwark_win2022_member", "cis_win2022"}),
        ("ws2022_hardened", {"bulwark_win2022_member", "cis_win2022"}),
        ("win11_enterprise_stock", {"bulwark_win11_enterprise", "cis_win11_enterprise"}),
    ],
)
def test_each_policy_applies_only_to_its_windows(fixture: str, applicable: set[str]) -> None:
    """Ours and Wazuh's stock policies side by side, in one collector round trip per machine."""
    policies = [_load(path) for path in POLICY_FILES]
    policies += [_stock("cis_win2022"), _stock("cis_win11_enterprise")]
    outcome = audit(WindowsMachine.load(FIXTURES / f"{fixture}.yml"), policies)
    statuses = {p.policy.id: p.status for p in outcome.policies}
    assert {k for k, v in statuses.items() if v is PolicyStatus.APPLICABLE} == applicable
