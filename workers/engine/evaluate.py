"""Evaluation: facts in, check results out. Pure: no I/O, no clock, nothing but the inputs.

Each rule gives FOUND / NOT_FOUND / INVALID (/ NOT_RUN in W5) per docs/policy-format.md §4, each
check's condition aggregates its rules (§5, with W4's short-circuit order), and a policy whose
requirements do not hold is not applicable as a whole (§6).

Deliberate departures: W5's known `d:` bugs (a literal FILENAME with a PATTERN opening the bare
name; a regex FILENAME tested together with its PATTERN) are not reproduced, and a path a walk
decoded with replacement characters is reported as not readable rather than guessed at.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from workers.engine.categories import category_of
from workers.engine.definitions import (
    CheckDefinition,
    Condition,
    Dialect,
    PolicyDefinition,
    RegexEngine,
    RuleDefinition,
    RuleType,
)
from workers.engine.facts import (
    CommandFact,
    CommandRequest,
    DirectoryFact,
    DirectoryRequest,
    Fact,
    Facts,
    FileFact,
    FileRequest,
    PathState,
    ProcessListFact,
    ProcessListRequest,
    RegistryFact,
    RegistryRequest,
    UnavailableFact,
)
from workers.engine.lines import w4_command_lines, w4_file_lines, w5_command_text, w5_file_lines
from workers.engine.patterns import Outcome, Result, matcher_for
from workers.engine.plan import command_request, command_runs, matching_entries
from workers.engine.redaction import redact_evidence
from workers.engine.windows import USERS_ROOT, every_user_path, user_key, user_sids

EVIDENCE_LINE_CHARS = 300


class CheckStatus(enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class RuleEvidence:
    """One evaluated rule: what it tested and what it found."""

    rule: str
    result: str
    location: str | None = None
    line: str | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, str]:
        data = {"rule": self.rule, "result": self.result}
        for key in ("location", "line", "reason"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass(frozen=True)
class CheckEvaluation:
    """A check's result in one audit; `evidence` lists the rules evaluated, the decider last."""

    policy_id: str
    check: CheckDefinition
    status: CheckStatus
    reason: str | None
    category: str
    evidence: tuple[RuleEvidence, ...]


class PolicyStatus(enum.Enum):
    APPLICABLE = "applicable"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class PolicyEvaluation:
    policy: PolicyDefinition
    status: PolicyStatus
    reason: str | None
    checks: tuple[CheckEvaluation, ...]


# -- rules ----------------------------------------------------------------------------------------


class RuleEvaluator:
    """Evaluates rules of one policy against the facts of one host."""

    def __init__(self, facts: Facts, dialect: Dialect, engine: RegexEngine) -> None:
        self.facts = facts
        self.dialect = dialect
        self.engine = engine

    def evaluate(self, rule: RuleDefinition, engine: RegexEngine | None = None) -> Outcome:
        if engine is not None and engine is not self.engine:
            return RuleEvaluator(self.facts, self.dialect, engine).evaluate(rule)
        if rule.type is RuleType.FILE:
            outcome = self._file_list(rule)
        elif rule.type is RuleType.DIRECTORY:
            outcome = self._directory_list(rule)
        elif rule.type is RuleType.COMMAND:
            outcome = self._command(rule)
        elif rule.type is RuleType.PROCESS:
            outcome = self._process(rule)
        else:
            outcome = self._registry(rule)
        if rule.negated and outcome.result in (Result.FOUND, Result.NOT_FOUND):
            flipped = Result.NOT_FOUND if outcome.result is Result.FOUND else Result.FOUND
            return Outcome(flipped, outcome.reason, outcome.line, outcome.location)
        return outcome

    def _fact(
        self,
        request: FileRequest
        | DirectoryRequest
        | CommandRequest
        | ProcessListRequest
        | RegistryRequest,
    ) -> Fact:
        fact = self.facts.get(request)
        return fact if fact is not None else UnavailableFact("not collected")

    # f: ------------------------------------------------------------------------------------------

    def _file_list(self, rule: RuleDefinition) -> Outcome:
        return _first_found(rule, self._file)

    def _file(self, rule: RuleDefinition, path: str) -> Outcome:
        fact = self._fact(FileRequest(path, content=rule.pattern is not None))
        if isinstance(fact, UnavailableFact):
            return Outcome(Result.INVALID, f"{path}: {fact.reason}", location=path)
        assert isinstance(fact, FileFact)
        if rule.pattern is None:
            return self._existence(fact.state, path)
        if fact.state is not PathState.REGULAR or fact.content is None:
            return Outcome(
                Result.INVALID, f"could not open file '{path}' ({fact.state.value})", location=path
            )
        return self._content(rule, fact, path)

    def _existence(self, state: PathState, path: str) -> Outcome:
        if state is PathState.REGULAR:
            return Outcome(Result.FOUND, location=path)
        if state is PathState.MISSING:
            return Outcome(Result.NOT_FOUND, location=path)
        if self.dialect is Dialect.W5 and state is not PathState.DENIED:
            return Outcome(Result.NOT_FOUND, location=path)
        return Outcome(
            Result.INVALID, f"'{path}' is {state.value}, not a regular file", location=path
        )

    def _content(self, rule: RuleDefinition, fact: FileFact, path: str) -> Outcome:
        if fact.truncated:
            return Outcome(
                Result.INVALID, f"'{path}' is larger than the collector's size cap", location=path
            )
        assert rule.pattern is not None and fact.content is not None
        text = self.facts.text(fact.content)
        matcher = matcher_for(rule.pattern, self.engine, self.dialect)
        if self.dialect is Dialect.W4:
            outcome = matcher.w4_scan_file(w4_file_lines(text))
        else:
            outcome = matcher.w5_scan(w5_file_lines(text))
        return _located(outcome, path)

    # d: ------------------------------------------------------------------------------------------

    def _directory_list(self, rule: RuleDefinition) -> Outcome:
        return _first_found(rule, self._directory)

    def _directory(self, rule: RuleDefinition, path: str) -> Outcome:
        if rule.filename is None:
            fact = self._fact(FileRequest(path))
            if isinstance(fact, UnavailableFact):
                return Outcome(Result.INVALID, f"{path}: {fact.reason}", location=path)
            assert isinstance(fact, FileFact)
            if fact.state is PathState.DIRECTORY:
                return Outcome(Result.FOUND, location=path)
            if fact.state is PathState.MISSING or self.dialect is Dialect.W5:
                return Outcome(Result.NOT_FOUND, location=path)
            return Outcome(
                Result.INVALID, f"'{path}' is {fact.state.value}, not a directory", location=path
            )
        walk = self._fact(DirectoryRequest(path))
        if isinstance(walk, UnavailableFact):
            return Outcome(Result.INVALID, f"{path}: {walk.reason}", location=path)
        assert isinstance(walk, DirectoryFact)
        if walk.state is not PathState.DIRECTORY:
            return Outcome(
                Result.INVALID, f"directory '{path}' is {walk.state.value}", location=path
            )
        invalid: Outcome | None = None
        for entry in matching_entries(walk, rule.filename, self.dialect):
            if rule.pattern is None:
                if entry.regular:
                    return Outcome(Result.FOUND, location=entry.path)
                if not entry.is_symlink and invalid is None:
                    invalid = Outcome(
                        Result.INVALID, f"'{entry.path}' is not a regular file", location=entry.path
                    )
                continue
            if not entry.regular:
                continue
            outcome = self._file(rule, entry.path)
            if outcome.result is Result.FOUND:
                return outcome
            if outcome.result is Result.INVALID and invalid is None:
                invalid = outcome
        if invalid is None and walk.truncated:
            invalid = Outcome(
                Result.INVALID, f"listing of '{path}' is over the size cap", location=path
            )
        if invalid is None and walk.walk_errors and self.dialect is Dialect.W4:
            invalid = Outcome(
                Result.INVALID, f"some entries of '{path}' could not be read", location=path
            )
        return invalid or Outcome(Result.NOT_FOUND, location=path)

    # c: ------------------------------------------------------------------------------------------

    def _command(self, rule: RuleDefinition) -> Outcome:
        command = rule.locations[0] if rule.locations else ""
        if not rule.argv:
            return Outcome(Result.INVALID, "empty command", location=command)
        if not command_runs(rule, self.dialect):
            return Outcome(
                Result.FOUND, "W4 does not run a command rule without a pattern", location=command
            )
        fact = self._fact(command_request(rule, self.facts.windows))
        if isinstance(fact, UnavailableFact):
            return Outcome(Result.INVALID, f"{command}: {fact.reason}", location=command)
        assert isinstance(fact, CommandFact)
        if fact.timed_out:
            result = Result.NOT_RUN if self.dialect is Dialect.W5 else Result.INVALID
            return Outcome(result, f"command timed out: {command}", location=command)
        if fact.not_found:
            return Outcome(Result.INVALID, f"command not found: {rule.argv[0]}", location=command)
        if fact.truncated:
            return Outcome(
                Result.INVALID, f"output of '{command}' is over the size cap", location=command
            )
        if rule.pattern is None:
            return Outcome(Result.FOUND, location=command)
        text = self.facts.text(fact.output)
        matcher = matcher_for(rule.pattern, self.engine, self.dialect)
        if self.dialect is Dialect.W4:
            outcome = matcher.w4_scan_command(w4_command_lines(text))
        else:
            whole = w5_command_text(text)
            outcome = matcher.w5_scan(whole.split("\n") if whole else [], whole)
        return _located(outcome, command)

    # p: ------------------------------------------------------------------------------------------

    def _process(self, rule: RuleDefinition) -> Outcome:
        name = rule.locations[0]
        fact = self._fact(ProcessListRequest())
        if isinstance(fact, UnavailableFact):
            return Outcome(Result.INVALID, fact.reason, location=name)
        assert isinstance(fact, ProcessListFact)
        if self.dialect is Dialect.W5:
            for process in fact.processes:
                if name in (process.name, process.command_line):
                    return Outcome(Result.FOUND, line=process.command_line, location=name)
            return Outcome(Result.NOT_FOUND, location=name)
        assert rule.pattern is not None
        matcher = matcher_for(rule.pattern, self.engine, self.dialect)
        for process in fact.processes:
            if matcher.w4_line(process.name) == 1:
                return Outcome(Result.FOUND, line=process.command_line, location=name)
        return Outcome(Result.NOT_FOUND, location=name)

    # r: ------------------------------------------------------------------------------------------

    def _registry(self, rule: RuleDefinition) -> Outcome:
        key = rule.locations[0]
        path = every_user_path(key)
        return self._registry_key(rule, key) if path is None else self._every_user(rule, path)

    def _every_user(self, rule: RuleDefinition, path: str) -> Outcome:
        """`HKEY_USERS\\*\\PATH` (§4.5): FOUND only when the rule holds in every loaded user's
        hive; the first user for whom it is NOT_FOUND decides, then the first INVALID."""
        key = rule.locations[0]
        root = self._fact(USERS_ROOT)
        if isinstance(root, UnavailableFact):
            return Outcome(Result.INVALID, root.reason, location=key)
        sids = user_sids(root)
        if sids is None:
            return Outcome(Result.INVALID, "HKEY_USERS could not be read", location=key)
        if not sids:
            return Outcome(Result.INVALID, "no user's registry hive is loaded", location=key)
        outcomes = [self._registry_key(rule, user_key(sid, path)) for sid in sids]
        for result in (Result.NOT_FOUND, Result.INVALID):
            decided = next((o for o in outcomes if o.result is result), None)
            if decided is not None:
                return decided
        return Outcome(
            Result.FOUND, f"in the hives of {len(sids)} user(s): {', '.join(sids)}", location=key
        )

    def _registry_key(self, rule: RuleDefinition, key: str) -> Outcome:
        fact = self._fact(RegistryRequest(key))
        if isinstance(fact, UnavailableFact):
            return Outcome(Result.INVALID, fact.reason, location=key)
        assert isinstance(fact, RegistryFact)
        if fact.denied:
            return Outcome(Result.INVALID, f"access denied to {key}", location=key)
        if rule.filename is None:
            return Outcome(Result.FOUND if fact.exists else Result.NOT_FOUND, location=key)
        if not fact.exists:
            return Outcome(Result.INVALID, f"registry key not found: {key}", location=key)
        wanted = rule.filename.lower()
        # One value per registry view that has it, the 64-bit view's first (§4.5).
        values = [v for v in fact.values if v.name.lower() == wanted]
        if rule.pattern is None:
            found = bool(values) or (
                self.dialect is Dialect.W5 and wanted in (s.lower() for s in fact.subkeys)
            )
            return Outcome(Result.FOUND if found else Result.NOT_FOUND, location=key)
        if not values:
            return Outcome(
                Result.INVALID, f"registry value not found: {key} -> {rule.filename}", location=key
            )
        matcher = matcher_for(rule.pattern, self.engine, self.dialect)
        outcomes = [
            matcher.w4_scan_command([v.data])
            if self.dialect is Dialect.W4
            else matcher.w5_scan([v.data])
            for v in values
        ]
        # FOUND in either view wins; INVALID only when every view is INVALID.
        decided = next((o for o in outcomes if o.result is Result.FOUND), None)
        decided = decided or next((o for o in outcomes if o.result is not Result.INVALID), None)
        return _located(decided or outcomes[0], key)


def _first_found(
    rule: RuleDefinition, evaluate_one: Callable[[RuleDefinition, str], Outcome]
) -> Outcome:
    """W4 comma lists (§4.1, §4.2): the first FOUND wins; otherwise the first INVALID, if any,
    otherwise NOT_FOUND. W5 has a single location, for which this is the plain result."""
    invalid: Outcome | None = None
    for path in rule.locations:
        outcome = evaluate_one(rule, path)
        if outcome.result is Result.FOUND:
            return outcome
        if outcome.result is Result.INVALID and invalid is None:
            invalid = outcome
    return invalid or Outcome(Result.NOT_FOUND, location=rule.locations[-1])


def _located(outcome: Outcome, location: str) -> Outcome:
    line = outcome.line[:EVIDENCE_LINE_CHARS] if outcome.line is not None else None
    return Outcome(outcome.result, outcome.reason, line, location)


# -- checks and policies --------------------------------------------------------------------------


def aggregate(
    condition: Condition,
    rules: tuple[RuleDefinition, ...],
    evaluator: RuleEvaluator,
    engine: RegexEngine,
) -> tuple[CheckStatus, str | None, tuple[RuleEvidence, ...], bool]:
    """§5: the condition over the rules, in order. Returns (status, reason, evidence, not_run).

    W4 stops at the first decisive rule; W5 evaluates them all but decides the same way.
    """
    evidence: list[RuleEvidence] = []
    reasons: list[str] = []
    invalid = not_run = False
    decided: CheckStatus | None = None
    for rule in rules:
        outcome = evaluator.evaluate(rule, engine)
        if decided is None or evaluator.dialect is Dialect.W5:
            evidence.append(
                RuleEvidence(
                    rule.raw,
                    outcome.result.name.lower(),
                    outcome.location,
                    redact_evidence(outcome.location, outcome.line),
                    outcome.reason,
                )
            )
        if decided is not None:
            continue
        result = outcome.result
        if result is Result.INVALID:
            invalid = True
            if outcome.reason:
                reasons.append(outcome.reason)
        elif result is Result.NOT_RUN:
            not_run = True
            if outcome.reason:
                reasons.append(outcome.reason)
        elif condition is Condition.ALL and result is Result.NOT_FOUND:
            decided = CheckStatus.FAILED
        elif condition is Condition.ANY and result is Result.FOUND:
            decided = CheckStatus.PASSED
        elif condition is Condition.NONE and result is Result.FOUND:
            decided = CheckStatus.FAILED
        if decided is not None and evaluator.dialect is Dialect.W4:
            break
    if decided is not None:
        return decided, None, tuple(evidence), False
    if invalid or not_run:
        reason = reasons[0] if evaluator.dialect is Dialect.W4 else "; ".join(reasons)
        return (
            CheckStatus.NOT_APPLICABLE,
            reason or "could not be evaluated",
            tuple(evidence),
            (not_run and not invalid),
        )
    status = CheckStatus.FAILED if condition is Condition.ANY else CheckStatus.PASSED
    return status, None, tuple(evidence), False


def evaluate_check(
    policy: PolicyDefinition, check: CheckDefinition, facts: Facts
) -> CheckEvaluation:
    evaluator = RuleEvaluator(facts, policy.dialect, check.regex_engine)
    status, reason, evidence, not_run = aggregate(
        check.condition, check.rules, evaluator, check.regex_engine
    )
    if not_run:
        reason = f"not run: {reason}"
    return CheckEvaluation(policy.id, check, status, reason, category_of(check), evidence)


def requirements_hold(policy: PolicyDefinition, facts: Facts) -> tuple[bool, str | None]:
    """§6: requirements must end up passed; failed and not applicable both mean "skip"."""
    requirements = policy.requirements
    if requirements is None:
        return True, None
    evaluator = RuleEvaluator(facts, policy.dialect, policy.regex_engine)
    status, reason, _evidence, _ = aggregate(
        requirements.condition, requirements.rules, evaluator, policy.regex_engine
    )
    if status is CheckStatus.PASSED:
        return True, None
    why = f"requirements not met: {requirements.title}"
    return False, f"{why} ({reason})" if reason else why


def evaluate_policy(policy: PolicyDefinition, facts: Facts) -> PolicyEvaluation:
    applies, reason = requirements_hold(policy, facts)
    if not applies:
        # W4 skips the policy silently; W5 reports each check as not applicable.
        checks: tuple[CheckEvaluation, ...] = ()
        if policy.dialect is Dialect.W5:
            checks = tuple(
                CheckEvaluation(
                    policy.id,
                    check,
                    CheckStatus.NOT_APPLICABLE,
                    "Policy requirements not met",
                    category_of(check),
                    (),
                )
                for check in policy.checks
            )
        return PolicyEvaluation(policy, PolicyStatus.NOT_APPLICABLE, reason, checks)
    return PolicyEvaluation(
        policy,
        PolicyStatus.APPLICABLE,
        None,
        tuple(evaluate_check(policy, check, facts) for check in policy.checks),
    )
