"""Which facts a rule needs: the collection plan is the union of these over all rules.

The evaluator asks for facts with the very same request values, so whatever the plan collected
is exactly what evaluation finds. Directory rules with a content pattern need two stages: the
walk first, then the files whose names match; so do registry rules on every user's hive
(HKEY_USERS first, then the key under each user's SID).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache

from workers.engine.definitions import (
    CheckDefinition,
    Dialect,
    PolicyDefinition,
    RuleDefinition,
    RuleType,
)
from workers.engine.facts import (
    CommandRequest,
    DirectoryEntry,
    DirectoryFact,
    DirectoryRequest,
    FactRequest,
    Facts,
    FileRequest,
    PathState,
    ProcessListRequest,
    RegistryRequest,
)
from workers.engine.osregex import RegexError, compile_osmatch, compile_osregex, compile_pcre2
from workers.engine.windows import USERS_ROOT, every_user_path, user_key, user_sids

NameMatcher = Callable[[str], bool]


@lru_cache(maxsize=4096)
def filename_matcher(filename: str, dialect: Dialect) -> NameMatcher:
    """How a `d:` FILENAME selects entries (§4.2): W4 OS_Regex (`r:`) or OS_Match substring,
    always also tried with OS_Match; W5 PCRE2 for `r:`, otherwise the exact name."""
    negated = filename.startswith("!") and filename[1:2].lower() == "r" and filename[2:3] == ":"
    body = filename[1:] if negated else filename
    is_regex = body[:2] in ("r:", "R:") if dialect is Dialect.W4 else body.startswith("r:")
    if dialect is Dialect.W5:
        if is_regex:
            try:
                regex = compile_pcre2(body[2:], caseless=True)
            except RegexError:
                return lambda name: False
            return lambda name: (regex.search(name) is not None) != negated
        return lambda name: name == filename
    osmatch = compile_osmatch(filename)
    if is_regex:
        try:
            osregex = compile_osregex(body[2:])
        except RegexError:
            return osmatch.matches
        return lambda name: (osregex.search(name) is not None) != negated or osmatch.matches(name)
    return osmatch.matches


def matching_entries(
    walk: DirectoryFact, filename: str, dialect: Dialect
) -> Iterator[DirectoryEntry]:
    """Entries of a walk that a `d:` FILENAME selects (W5 skips every symlink)."""
    matches = filename_matcher(filename, dialect)
    for entry in walk.entries:
        if dialect is Dialect.W5 and entry.is_symlink:
            continue
        if matches(entry.name):
            yield entry


def command_runs(rule: RuleDefinition, dialect: Dialect) -> bool:
    """W4 never runs a `c:` rule without a pattern (E4); W5 always runs it."""
    return bool(rule.argv) and (rule.pattern is not None or dialect is Dialect.W5)


def command_request(rule: RuleDefinition, windows: bool) -> CommandRequest:
    """The request for a `c:` rule: argv on POSIX; on Windows also the text as written,
    which the host runs unchanged (§4.4)."""
    return CommandRequest(rule.argv, rule.locations[0] if windows else None)


def rule_requests(rule: RuleDefinition, dialect: Dialect, facts: Facts) -> Iterator[FactRequest]:
    """The facts this rule needs, given what is already known (for directory contents)."""
    if rule.type is RuleType.FILE:
        for path in rule.locations:
            yield FileRequest(path, content=rule.pattern is not None)
    elif rule.type is RuleType.DIRECTORY:
        for path in rule.locations:
            if rule.filename is None:
                yield FileRequest(path)
                continue
            yield DirectoryRequest(path)
            walk = facts.get(DirectoryRequest(path))
            if (
                rule.pattern is not None
                and isinstance(walk, DirectoryFact)
                and walk.state is PathState.DIRECTORY
            ):
                for entry in matching_entries(walk, rule.filename, dialect):
                    if entry.regular:
                        yield FileRequest(entry.path, content=True)
    elif rule.type is RuleType.PROCESS:
        yield ProcessListRequest()
    elif rule.type is RuleType.COMMAND:
        if command_runs(rule, dialect):
            yield command_request(rule, facts.windows)
    elif rule.type is RuleType.REGISTRY:
        users_path = every_user_path(rule.locations[0])
        if users_path is None:
            yield RegistryRequest(rule.locations[0])
            return
        # Every user's hive: the loaded hives first, then the key in each of them.
        yield USERS_ROOT
        for sid in user_sids(facts.get(USERS_ROOT)) or ():
            yield RegistryRequest(user_key(sid, users_path))


def requests_for_rules(
    rules: Iterable[RuleDefinition], dialect: Dialect, facts: Facts
) -> list[FactRequest]:
    """What these rules still need: requests not answered yet, without duplicates."""
    needed: dict[FactRequest, None] = {}
    for rule in rules:
        for request in rule_requests(rule, dialect, facts):
            if not facts.has(request):
                needed[request] = None
    # A content read answers the plain stat of the same path too: ask once.
    return [
        request
        for request in needed
        if not (
            isinstance(request, FileRequest)
            and not request.content
            and FileRequest(request.path, content=True) in needed
        )
    ]


def requirement_requests(policy: PolicyDefinition, facts: Facts) -> list[FactRequest]:
    if policy.requirements is None:
        return []
    return requests_for_rules(policy.requirements.rules, policy.dialect, facts)


def check_requests(policy: PolicyDefinition, facts: Facts) -> list[FactRequest]:
    return requests_for_rules(_all_rules(policy.checks), policy.dialect, facts)


def _all_rules(checks: Iterable[CheckDefinition]) -> Iterator[RuleDefinition]:
    for check in checks:
        yield from check.rules
