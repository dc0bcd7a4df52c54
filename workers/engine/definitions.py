"""Parsed policy types: what a policy YAML file says, before anything is evaluated.

The loader (policy.py) builds these from YAML; the evaluator reads them. They are frozen so a
loaded policy can be shared by concurrent audits.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from workers.engine.fixes import FixDefinition


class Dialect(enum.Enum):
    """Which Wazuh engine's semantics a policy is written for (docs/policy-format.md §13)."""

    W4 = "4.x"  # `title`, list-style compliance; OS_Regex unless regex_type: pcre2
    W5 = "5.x"  # `name`, map-style compliance, mitre; PCRE2 caseless


class RegexEngine(enum.Enum):
    OSREGEX = "osregex"
    PCRE2 = "pcre2"


class RuleType(enum.Enum):
    FILE = "f"
    DIRECTORY = "d"
    PROCESS = "p"
    COMMAND = "c"
    REGISTRY = "r"


class MintermKind(enum.Enum):
    REGEX = "r"  # r:REGEX, a search in the line
    NUMERIC = "n"  # n:REGEX compare OP VALUE
    LITERAL = "literal"  # the whole line equals the text


@dataclass(frozen=True)
class Minterm:
    """One term of a content pattern (the parts joined by ` && `)."""

    kind: MintermKind
    negated: bool
    text: str  # the regex (r:, n:) or the literal
    # n: only. `compare_text` is everything after ` compare ` (None when missing: INVALID).
    compare_text: str | None = None


@dataclass(frozen=True)
class PatternDefinition:
    """A content pattern: every minterm must hold on the same line."""

    raw: str
    minterms: tuple[Minterm, ...]


@dataclass(frozen=True)
class RuleDefinition:
    """One rule string of a check, split per docs/policy-format.md §2.

    `locations` holds the paths (f:, d:, comma lists split), the command (c:, one element),
    the process pattern text (p:, one element) or the registry key (r:, one element).
    `filename` is the d: FILENAME part or the r: VALUE_NAME part.
    """

    raw: str
    negated: bool
    type: RuleType
    locations: tuple[str, ...]
    filename: str | None = None
    pattern: PatternDefinition | None = None
    # c: W4 parses the command into argv without a shell (docs/policy-format.md §4.4).
    argv: tuple[str, ...] = ()


class Condition(enum.Enum):
    ALL = "all"
    ANY = "any"
    NONE = "none"


@dataclass(frozen=True)
class CheckDefinition:
    """One check of a policy."""

    id: str
    title: str
    condition: Condition
    rules: tuple[RuleDefinition, ...]
    description: str = ""
    rationale: str = ""
    remediation: str = ""
    impact: str = ""
    references: tuple[str, ...] = ()
    # key -> values, normalised from both dialects' shapes (W4 list of maps, W5 map).
    compliance: dict[str, tuple[str, ...]] = field(default_factory=dict)
    mitre: dict[str, tuple[str, ...]] = field(default_factory=dict)
    regex_engine: RegexEngine = RegexEngine.OSREGEX
    category: str | None = None  # an explicit `category:` field (Bulwark extension)
    level: int | None = None  # CIS profile level (Bulwark extension `level:`)
    # CIS profiles the check belongs to (Bulwark extension `profile:`); empty: every profile.
    profiles: tuple[str, ...] = ()
    # `profile: {server: 1, workstation: 2}`: the check's level in each profile it belongs to
    # (a CIS item can be Level 1 for servers and Level 2 for workstations); empty: `level`.
    profile_levels: tuple[tuple[str, int], ...] = ()
    line: int = 0  # line of the check in its file, for messages
    fix: FixDefinition | None = None  # machine-runnable remediation (Bulwark extension `fix:`)


@dataclass(frozen=True)
class RequirementsDefinition:
    title: str
    description: str
    condition: Condition
    rules: tuple[RuleDefinition, ...]


@dataclass(frozen=True)
class BenchmarkDefinition:
    """Bulwark extension `policy.benchmark`: the benchmark whose numbers, titles and levels the
    checks cite, and its automated recommendations that no check covers yet, per level."""

    name: str
    version: str
    profile: str = ""
    uncovered: dict[int, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicyDefinition:
    """One loaded, valid policy file."""

    id: str
    name: str
    description: str
    path: str
    dialect: Dialect
    checks: tuple[CheckDefinition, ...]
    requirements: RequirementsDefinition | None = None
    variables: dict[str, str] = field(default_factory=dict)
    references: tuple[str, ...] = ()
    regex_engine: RegexEngine = RegexEngine.OSREGEX
    file: str = ""
    benchmark: BenchmarkDefinition | None = None


@dataclass(frozen=True)
class PolicyProblem:
    """An error (the policy is refused) or a warning (loaded, but likely not what was meant)."""

    path: str
    line: int | None
    check_id: str | None
    code: str  # short stable code, e.g. "regex-compile", "missing-space-arrow"
    message: str
    rule: str | None = None  # the rule string concerned, as written
    excerpt: str | None = None  # the offending piece: a regex, a compare clause, a path

    def __str__(self) -> str:
        where = self.path + (f":{self.line}" if self.line else "")
        check = f" check {self.check_id}" if self.check_id else ""
        return f"{where}:{check} {self.message}"
