"""A Run to export: a real audit of this machine with our Linux policies, plus a host that could
not be audited and results carrying hostile text and a status the exports do not know."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from workers.audit import run
from workers.engine.policy import load_policy
from workers.exports.model import CheckResult, HostReport, Run
from workers.exports.outcome import host_report
from workers.transports.local import LocalTransport

ROOT = Path(__file__).resolve().parents[3]
HOSTILE = "<script>alert(1)</script> ]]> & \"q\" \x01\x1b =cmd|' /C calc'!A0"


@pytest.fixture(scope="session")
def audited_host() -> HostReport:
    """This machine audited for real with rulesets/linux (over the local transport)."""
    policies = []
    for path in sorted((ROOT / "rulesets" / "linux").glob("*.yml")):
        loaded = load_policy(path)
        assert loaded.policy is not None, loaded.errors
        policies.append(loaded.policy)
    with LocalTransport() as transport:
        outcome = run(transport, policies)
    return host_report("this-machine", "127.0.0.1", outcome, datetime.now(UTC))


@pytest.fixture(scope="session")
def demo_run(audited_host: HostReport) -> Run:
    """The real audit alone: what artifacts/exports/ shows."""
    return Run(title="Bulwark audit of this machine", hosts=(audited_host,))


@pytest.fixture(scope="session")
def mixed_run(audited_host: HostReport) -> Run:
    """The real audit, a host that could not be audited, and a hostile one."""
    template = next(r for r in audited_host.results if r.status == "failed")
    hostile = HostReport(
        name="evil<b>host</b>",
        address="10.77.0.9",
        audited_at=datetime(2026, 1, 2, 3, 4, 5),  # naive: taken as UTC
        results=(
            replace(template, title=HOSTILE, reason=HOSTILE, evidence=(HOSTILE,)),
            CheckResult(
                policy_id="p",
                check_id="x-1",
                title="An excepted check",
                status="excepted",
                reason="accepted risk until 2027",
            ),
            CheckResult(policy_id="p", check_id="x-2", title="=1+1", status="not_applicable"),
        ),
    )
    down = HostReport(name="down", address="127.0.0.1:1", error="permanent: connection refused")
    return Run(title=f"Mixed {HOSTILE}", hosts=(audited_host, down, hostile))
