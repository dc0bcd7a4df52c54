"""The one entry point of an audit: run(transport, policies) -> AuditOutcome.

Stage 1 learns the OS and everything the policies' requirements need; stage 2 collects what
the checks of the applicable policies need; a further stage reads the files that directory walks
selected. All stages go through one collector process: one execution per audit. On a Windows
transport the OS comes from registry keys (engine/windows.py) and the collector is PowerShell.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from workers.collect.session import CollectorLimits, CollectorSession
from workers.engine.definitions import PolicyDefinition
from workers.engine.evaluate import (
    CheckEvaluation,
    PolicyEvaluation,
    PolicyStatus,
    evaluate_policy,
    requirements_hold,
)
from workers.engine.facts import (
    CommandFact,
    CommandRequest,
    FactRequest,
    Facts,
    FileFact,
    FileRequest,
)
from workers.engine.plan import check_requests, requirement_requests
from workers.engine.scoring import CategoryTotals, Summary, summarize, summarize_by_category
from workers.engine.selection import Selection, narrow, platform_mismatch
from workers.engine.windows import OS_REQUESTS as WINDOWS_OS_REQUESTS
from workers.engine.windows import snapshot_requests, windows_info
from workers.transports.base import Transport

OS_RELEASE = FileRequest("/etc/os-release", content=True)
UNAME = CommandRequest(("uname", "-s", "-n", "-r", "-m"))
MAX_STAGES = 4  # requirements, checks, directory contents / users' keys, and one spare


class AuditError(Exception):
    """The audit could not run at all (the collector never answered)."""


@dataclass(frozen=True)
class HostInfo:
    """What the collector learned about the host itself."""

    family: str
    distribution: str
    version: str
    hostname: str
    kernel: str
    architecture: str
    pretty_name: str
    role: str = ""  # Windows: "member server", "domain controller", ...

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AuditOutcome:
    host: HostInfo
    policies: tuple[PolicyEvaluation, ...]
    summary: Summary
    categories: tuple[CategoryTotals, ...]
    executions: int
    stages: int
    seconds: float
    # What was collected (for a preview of other policies on the same facts later).
    facts: Facts | None = None

    @property
    def results(self) -> tuple[CheckEvaluation, ...]:
        return tuple(check for policy in self.policies for check in policy.checks)


def run(
    transport: Transport,
    policies: Sequence[PolicyDefinition],
    *,
    command_timeout: float = 150.0,
    limits: CollectorLimits | None = None,
    collector_command: str | None = None,
    selection: Selection | None = None,
) -> AuditOutcome:
    """Audit one host with these policies (narrowed to `selection` when given: the policies,
    levels and profiles assigned to the host). Raises TransportError when the host cannot be
    reached, AuditError when the collector fails before answering anything."""
    started = time.monotonic()
    policies = narrow(policies, selection)
    executions_before = transport.executions
    facts, stages = collect(
        transport,
        policies,
        limits=limits or CollectorLimits(command_timeout=command_timeout),
        collector_command=collector_command,
    )
    outcome = evaluate(
        policies,
        facts,
        executions=transport.executions - executions_before,
        stages=stages,
        seconds=time.monotonic() - started,
    )
    return replace(outcome, facts=facts)


def collect(
    transport: Transport,
    policies: Sequence[PolicyDefinition],
    *,
    limits: CollectorLimits,
    collector_command: str | None = None,
) -> tuple[Facts, int]:
    """Gather every fact the applicable policies need; returns the facts and the stage count.

    `collector_command` defaults to the transport's platform collector (sh or PowerShell).
    """
    session = CollectorSession(transport, command=collector_command, limits=limits)
    facts = Facts(windows=transport.platform == "windows")
    os_requests: list[FactRequest] = (
        list(WINDOWS_OS_REQUESTS) if facts.windows else [OS_RELEASE, UNAME]
    )
    # A policy for the other platform needs no fact to be ruled out: nothing is collected for it.
    policies = [p for p in policies if platform_mismatch(p, facts.windows) is None]
    try:
        _gather(session, facts, os_requests, policies, requirements=True)
        if session.broken_by is not None:
            raise session.broken_by  # the connection dropped: retried when transient
        if session.broken:
            raise AuditError(session.broken)
        applicable = [p for p in policies if requirements_hold(p, facts)[0]]
        _gather(session, facts, [], applicable, requirements=False)
        if session.broken_by is not None:
            raise session.broken_by  # never results with holes where the connection dropped
    finally:
        session.close()
    return facts, session.stages


def evaluate(
    policies: Sequence[PolicyDefinition],
    facts: Facts,
    *,
    executions: int = 0,
    stages: int = 0,
    seconds: float = 0.0,
) -> AuditOutcome:
    """Pure: the outcome of these policies on these facts. A policy that does not apply is
    one policy-level evaluation with its reason and no per-check rows."""
    evaluations = tuple(_evaluate_policy(policy, facts) for policy in policies)
    results = [check for policy in evaluations for check in policy.checks]
    return AuditOutcome(
        host=host_info(facts),
        policies=evaluations,
        summary=summarize(results),
        categories=tuple(summarize_by_category(results)),
        executions=executions,
        stages=stages,
        seconds=seconds,
    )


def _evaluate_policy(policy: PolicyDefinition, facts: Facts) -> PolicyEvaluation:
    mismatch = platform_mismatch(policy, facts.windows)
    if mismatch is not None:
        return PolicyEvaluation(policy, PolicyStatus.NOT_APPLICABLE, mismatch, ())
    evaluation = evaluate_policy(policy, facts)
    if evaluation.status is PolicyStatus.NOT_APPLICABLE:
        return replace(evaluation, checks=())
    return evaluation


def _gather(
    session: CollectorSession,
    facts: Facts,
    extra: list[FactRequest],
    policies: Sequence[PolicyDefinition],
    *,
    requirements: bool,
) -> None:
    """Collect until the policies need nothing more (a walk can reveal files to read)."""
    for _ in range(MAX_STAGES):
        needed: dict[FactRequest, None] = dict.fromkeys(r for r in extra if not facts.has(r))
        for policy in policies:
            found = (requirement_requests if requirements else check_requests)(policy, facts)
            needed.update(dict.fromkeys(found))
        if facts.windows:
            snapshots = snapshot_requests(needed)
            needed.update(dict.fromkeys(r for r in snapshots if not facts.has(r)))
        if not needed:
            return
        facts.by_request.update(session.collect(needed))
        extra = []


def host_info(facts: Facts) -> HostInfo:
    if facts.windows:
        info = windows_info(facts)
        return HostInfo(
            family="windows",
            distribution=info.edition,
            version=info.build,
            hostname=info.hostname,
            kernel=info.kernel,
            architecture=info.architecture,
            pretty_name=info.product_name,
            role=info.role,
        )
    os_release: dict[str, str] = {}
    release = facts.get(OS_RELEASE)
    if isinstance(release, FileFact) and release.content:
        for line in facts.text(release.content).splitlines():
            key, sep, value = line.partition("=")
            if sep:
                os_release[key.strip()] = value.strip().strip("\"'")
    uname: list[str] = []
    fact = facts.get(UNAME)
    if isinstance(fact, CommandFact) and not fact.not_found:
        uname = facts.text(fact.output).split()
    uname += [""] * (4 - len(uname))
    return HostInfo(
        family=uname[0].lower() or "unknown",
        distribution=os_release.get("ID", ""),
        version=os_release.get("VERSION_ID", ""),
        hostname=uname[1],
        kernel=uname[2],
        architecture=uname[3],
        pretty_name=os_release.get("PRETTY_NAME", ""),
    )
