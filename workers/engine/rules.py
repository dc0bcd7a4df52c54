"""Rule strings of an SCA check, split per dialect (docs/policy-format.md §2, §3, §4.4, §7, §10).

Pure text work: `parse_rule` turns one rule into a RuleDefinition, `parse_pattern` a content
pattern into minterms, `tokenize_command` a command into the argv Wazuh's `w_strtok` builds, and
`lint_rule` lists the defects of §10 that still parse (the loader reports them as warnings).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from workers.engine.definitions import (
    Dialect,
    Minterm,
    MintermKind,
    PatternDefinition,
    RegexEngine,
    RuleDefinition,
    RuleType,
)
from workers.engine.osregex import RegexError, compile_osregex, compile_pcre2

ARROW = " -> "  # separates location, file or value name, and pattern: exactly these 4 bytes
AND = " && "  # separates minterms: exactly these 4 bytes
_COMPARE_W4 = " compare "
_COMPARE_W5 = "compare"
_TYPES = {t.value: t for t in RuleType}
# W5 runs a content pattern through the minterm logic only when it starts like this; anything
# else is one literal compared with the whole line (or the whole output of a command).
_W5_MINTERM_PREFIXES = ("r:", "!r:", "n:", "!n:")


class RuleSyntaxError(ValueError):
    """A rule no engine can run; the policy is refused. `code` is stable, for messages."""

    def __init__(self, message: str, code: str = "rule-syntax") -> None:
        super().__init__(message)
        self.code = code


def substitute_variables(text: str, variables: Mapping[str, str]) -> str:
    """Plain substring replacement, longest name first so `$sshd_file` wins over `$sshd` (§7)."""
    for name in sorted(variables, key=len, reverse=True):
        if name in text:
            text = text.replace(name, variables[name])
    return text


# -- command tokenizer ---------------------------------------------------------------------------


def tokenize_command(cmd: str) -> tuple[str, ...]:
    """Split a command into argv exactly like W4's `w_strtok` (§4.4); no shell is involved.

    Unquoted spaces separate arguments, and a run of them counts as one separator (leading and
    trailing spaces produce nothing). Double quotes group text and are dropped; `""` on its own
    is an empty argument, and `a""b` is `ab`. A backslash is dropped and the next character
    kept literally, inside quotes too; a final lone backslash is dropped. Single quotes are
    ordinary characters. An unterminated double quote runs to the end of the string.
    """
    if '"' not in cmd and "\\" not in cmd:
        return tuple(arg for arg in cmd.split(" ") if arg)  # the common case, same result
    args: list[str] = []
    # None means "no argument started": a separator then emits nothing. An argument that was
    # started by quotes but holds no text yet is "", and a separator does emit it.
    current: str | None = None
    quoting = False
    i = 0
    n = len(cmd)
    while i < n:
        c = cmd[i]
        if c == " " and not quoting:
            if current is not None:
                args.append(current)
                current = None
        elif c == '"':
            if quoting and current is None:
                current = ""
            quoting = not quoting
        elif c == "\\":
            if i + 1 < n:
                i += 1
                current = (current or "") + cmd[i]
        else:
            current = (current or "") + c
        i += 1
    if current is not None:
        args.append(current)
    return tuple(args)


# -- patterns --------------------------------------------------------------------------------------


def parse_pattern(text: str, dialect: Dialect) -> PatternDefinition:
    """Split a content pattern into minterms (§3).

    W4: minterms are separated by exactly " && " (empty pieces are skipped, as W4's tokenizer
    does); one leading `!` negates; `r:`/`n:` in either case; `n:` is split at the first
    " compare " and `compare_text` is None when that is missing (the minterm is INVALID).
    W5: only a pattern starting with `r:`, `!r:`, `n:` or `!n:` is split; any other pattern is a
    single literal, `&&` included. Prefixes are lowercase only, and `n:` is split at the first
    `compare` anywhere, dropping the character on each side, as W5 does.
    """
    if dialect is Dialect.W4:
        pieces = [piece for piece in text.split(AND) if piece]
        return PatternDefinition(text, tuple(_w4_minterm(piece) for piece in pieces))
    if not text.startswith(_W5_MINTERM_PREFIXES):
        return PatternDefinition(text, (Minterm(MintermKind.LITERAL, False, text),))
    return PatternDefinition(text, tuple(_w5_minterm(piece) for piece in _w5_split(text)))


def _w4_minterm(piece: str) -> Minterm:
    negated = piece.startswith("!")
    body = piece[1:] if negated else piece
    prefix = body[:2].lower()
    if prefix == "r:":
        return Minterm(MintermKind.REGEX, negated, body[2:])
    if prefix == "n:":
        regex, found, compare = body[2:].partition(_COMPARE_W4)
        return Minterm(MintermKind.NUMERIC, negated, regex, compare if found else None)
    return Minterm(MintermKind.LITERAL, negated, body)


def _w5_split(text: str) -> list[str]:
    # W5 keeps empty pieces in the middle but stops at the end of the string, so a trailing
    # " && " adds no empty minterm.
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = text.find(AND, start)
        if end < 0:
            pieces.append(text[start:])
            break
        pieces.append(text[start:end])
        start = end + len(AND)
    return pieces


def _w5_minterm(piece: str) -> Minterm:
    negated = piece.startswith("!")
    body = piece[1:] if negated else piece
    if body.startswith("r:"):
        return Minterm(MintermKind.REGEX, negated, body[2:])
    if body.startswith("n:"):
        expr = body[2:]
        at = expr.find(_COMPARE_W5)
        if at < 0:
            return Minterm(MintermKind.NUMERIC, negated, expr, None)
        # substr(0, at - 1): at == 0 underflows to "the whole string" in the C++ code.
        regex = expr[: at - 1] if at > 0 else expr
        after = at + len(_COMPARE_W5) + 1
        # substr past the end throws, which W5 reports as INVALID: keep None for that.
        return Minterm(
            MintermKind.NUMERIC, negated, regex, expr[after:] if after <= len(expr) else None
        )
    return Minterm(MintermKind.LITERAL, negated, body)


# -- rules ---------------------------------------------------------------------------------------


def parse_rule(
    text: str,
    *,
    dialect: Dialect,
    variables: Mapping[str, str],
    requirement: bool = False,
) -> RuleDefinition:
    """Parse one rule string (§2). Raise RuleSyntaxError for a rule no engine can run.

    W4 substitutes `variables` only in the location of f:, c: and d: rules, before splitting
    f:/d: locations on ",". W5 substitutes in the whole rule (the loader has already done so
    for the whole document and passes no variables). `requirement` says the rule belongs to
    `requirements`, where W4 tolerates a `!` before the type letter.
    """
    if dialect is Dialect.W4:
        return _parse_w4(text, variables, requirement)
    return _parse_w5(text, variables)


def _rule_type(head: str, text: str) -> tuple[RuleType, str]:
    type_text, colon, value = head.partition(":")
    if not colon:
        raise RuleSyntaxError(f"no type prefix (f:, d:, p:, c:, r:) in rule {text!r}", "rule-type")
    rule_type = _TYPES.get(type_text.removeprefix("!"))
    if rule_type is None:
        raise RuleSyntaxError(
            f"unknown rule type {type_text + ':'!r} in rule {text!r}", "rule-type"
        )
    return rule_type, value


def _split(text: str) -> tuple[str, str | None]:
    """Split at the first ARROW: (before, after), with after None when there is none."""
    before, found, after = text.partition(ARROW)
    return before, (after if found else None)


def _split_rest(rest: str | None) -> tuple[str | None, str | None]:
    """d: and r: rules: the file or value name, then the pattern, each None when absent."""
    return (None, None) if rest is None else _split(rest)


def _parse_w4(text: str, variables: Mapping[str, str], requirement: bool) -> RuleDefinition:
    negated = text[:4] in ("not ", "NOT ")
    body = text[4:] if negated else text
    if not body:
        raise RuleSyntaxError(f"empty rule {text!r}", "empty-rule")
    if body.startswith("!") and not requirement:
        # W4's first-letter validation refuses the whole policy (§2).
        raise RuleSyntaxError(f"'!' before the type letter in rule {text!r}", "negated-type")
    rule_type, value = _rule_type(body, text)
    if rule_type is RuleType.PROCESS:
        # W4 matches the whole text as a pattern against each process name (§4.3).
        _require(value, text)
        return RuleDefinition(
            text, negated, rule_type, (value,), pattern=parse_pattern(value, Dialect.W4)
        )
    location, rest = _split(value)
    if rule_type is RuleType.REGISTRY:
        _require(location, text)
        name, pattern = _split_rest(rest)
        return _rule(text, negated, rule_type, (location,), name, pattern, Dialect.W4)
    location = substitute_variables(location, variables)
    if rule_type is RuleType.COMMAND:
        return _command(text, negated, location, rest, Dialect.W4)
    paths = tuple(path for path in location.split(",") if path)
    _require(paths, text)
    if rule_type is RuleType.DIRECTORY:
        name, pattern = _split_rest(rest)
        return _rule(text, negated, rule_type, paths, name, pattern, Dialect.W4)
    return _rule(text, negated, rule_type, paths, None, rest, Dialect.W4)


def _parse_w5(text: str, variables: Mapping[str, str]) -> RuleDefinition:
    body = substitute_variables(text, variables).strip(" \t")
    negated = body.startswith("not ")
    if negated:
        body = body[4:].strip(" \t")
    if not body:
        raise RuleSyntaxError(f"empty rule {text!r}", "empty-rule")
    head, rest = _split(body)
    if rest is not None:
        # W5 cuts the location at the first "->", even without spaces, then trims it.
        head = body[: body.find("->")].strip(" \t")
    rule_type, location = _rule_type(head, text)
    _require(location, text)
    if rule_type is RuleType.PROCESS:
        return RuleDefinition(text, negated, rule_type, (location,))  # an exact name in W5
    if rule_type is RuleType.COMMAND:
        return _command(text, negated, location, rest, Dialect.W5)
    if rule_type in (RuleType.DIRECTORY, RuleType.REGISTRY):
        name, pattern = _split_rest(rest)
        return _rule(text, negated, rule_type, (location,), name, pattern, Dialect.W5)
    return _rule(text, negated, rule_type, (location,), None, rest, Dialect.W5)


def _require(location: str | tuple[str, ...], text: str) -> None:
    if not location:
        raise RuleSyntaxError(f"empty location in rule {text!r}", "empty-location")


def _rule(
    text: str,
    negated: bool,
    rule_type: RuleType,
    locations: tuple[str, ...],
    name: str | None,
    pattern: str | None,
    dialect: Dialect,
) -> RuleDefinition:
    return RuleDefinition(
        text,
        negated,
        rule_type,
        locations,
        filename=name,
        pattern=None if pattern is None else parse_pattern(pattern, dialect),
    )


def _command(
    text: str, negated: bool, command: str, rest: str | None, dialect: Dialect
) -> RuleDefinition:
    argv = tokenize_command(command)
    _require(argv, text)
    pattern = None if rest is None else parse_pattern(rest, dialect)
    return RuleDefinition(text, negated, RuleType.COMMAND, (command,), pattern=pattern, argv=argv)


# -- lint ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleWarning:
    """A defect in a rule that parses: the loader turns it into a PolicyProblem warning."""

    code: str
    message: str
    excerpt: str | None = None


# An arrow without its spaces, or a `> r:` typed for `-> r:` (E4).
_STRAY_ARROW = re.compile(r"->|>\s*!?[rRnN]:")
_CANONICAL_COMPARE = re.compile(r"(<|<=|==|!=|>=|>) -?\d+")
_OP_GLUED = re.compile(r"(<=|>=|==|!=|<|>|=)[-+]?\d")
_NEGATIVE = re.compile(r"-\s*\d")


def lint_rule(rule: RuleDefinition, dialect: Dialect, engine: RegexEngine) -> list[RuleWarning]:
    """The §10 defects of one parsed rule, given the regex engine of its check."""
    found: list[RuleWarning] = []
    _lint_arrows(rule, dialect, found)
    if rule.type is RuleType.DIRECTORY and rule.filename is not None:
        _lint_filename(rule.filename, dialect, found)
    if rule.pattern is not None:
        if ARROW in rule.pattern.raw:
            found.append(
                RuleWarning(
                    "arrow-in-pattern",
                    "the pattern contains ' -> ': it is not a separator there and is matched "
                    "as text (E19)",
                    rule.pattern.raw,
                )
            )
        for minterm in rule.pattern.minterms:
            _lint_minterm(minterm, dialect, engine, found)
    return list(dict.fromkeys(found))  # one warning per distinct defect, in order


def _lint_arrows(rule: RuleDefinition, dialect: Dialect, found: list[RuleWarning]) -> None:
    if rule.type is RuleType.COMMAND:
        if rule.pattern is None and _STRAY_ARROW.search(rule.locations[0]):
            effect = (
                "W4 reports it FOUND without running anything (E4)"
                if dialect is Dialect.W4
                else "W5 runs the whole text as the command"
            )
            found.append(
                RuleWarning(
                    "missing-space-arrow",
                    f"command rule has an arrow without its spaces, so it has no pattern: {effect}",
                    rule.locations[0],
                )
            )
        return
    if rule.type is RuleType.DIRECTORY and any(p.startswith("->") for p in rule.locations):
        effect = "W4 reports INVALID" if dialect is Dialect.W4 else "no such directory"
        found.append(
            RuleWarning(
                "d-arrow",
                f"directory written 'd:->/path': the path starts with '->' and {effect} (E19)",
                rule.locations[0],
            )
        )
        return
    parts = [*rule.locations, *([rule.filename] if rule.filename is not None else [])]
    for part in parts:
        if "->" in part:
            found.append(
                RuleWarning(
                    "malformed-arrow",
                    "'->' without its spaces is not a separator, so it is part of a path, key "
                    "or name here",
                    part,
                )
            )


def _lint_filename(filename: str, dialect: Dialect, found: list[RuleWarning]) -> None:
    if dialect is Dialect.W4:
        # W4 reads a d: file name `r:` (either case) with OS_Regex, whatever regex_type says.
        if filename[:2].lower() == "r:":
            _lint_regex(filename[2:], _OSREGEX, "never selects a file", found)
        return
    body = filename.removeprefix("!")
    if body.startswith("r:"):
        _lint_regex(body[2:], _PCRE2_CASELESS, "makes the rule INVALID", found)


def _lint_minterm(
    minterm: Minterm, dialect: Dialect, engine: RegexEngine, found: list[RuleWarning]
) -> None:
    if dialect is Dialect.W5:
        flavour = _PCRE2_CASELESS
    else:
        flavour = _OSREGEX if engine is RegexEngine.OSREGEX else _PCRE2
    if minterm.kind is MintermKind.REGEX:
        effect = "never matches" if dialect is Dialect.W4 else "makes the rule INVALID"
        _lint_regex(minterm.text, flavour, effect, found)
        return
    if minterm.kind is not MintermKind.NUMERIC:
        return
    if minterm.compare_text is None:
        found.append(
            RuleWarning(
                "n-without-compare",
                "numeric minterm without ' compare OP VALUE': the rule is INVALID (§3.1)",
                minterm.text,
            )
        )
        return
    _lint_regex(minterm.text, flavour, "makes the rule INVALID", found)
    _lint_compare(minterm.compare_text, dialect, found)


def _lint_compare(compare: str, dialect: Dialect, found: list[RuleWarning]) -> None:
    w4 = dialect is Dialect.W4
    if compare.startswith(("=>", "=<")):
        code = "op-ge-written-equals" if compare.startswith("=>") else "op-le-written-equals"
        meaning = "equality in W4" if w4 else "an unknown operator in W5 (INVALID)"
        found.append(RuleWarning(code, f"'compare {compare}' is {meaning} (E7)", compare))
    elif _OP_GLUED.match(compare):
        meaning = "W4 accepts it" if w4 else "W5 needs a space there (INVALID)"
        found.append(
            RuleWarning("op-no-space", f"'compare {compare}' has no space: {meaning}", compare)
        )
    elif compare.startswith("=") and not compare.startswith("=="):
        meaning = "equality in W4" if w4 else "an unknown operator in W5 (INVALID)"
        found.append(RuleWarning("op-single-equals", f"'compare {compare}' is {meaning}", compare))
    elif compare.startswith("\\!="):
        meaning = "'!=' in W4" if w4 else "an unknown operator in W5 (INVALID)"
        found.append(
            RuleWarning("op-escaped-not-equals", f"'compare {compare}' is {meaning}", compare)
        )
    elif not _CANONICAL_COMPARE.fullmatch(compare):
        found.append(
            RuleWarning(
                "compare-nonstandard",
                f"'compare {compare}' is not 'OP NUMBER' with one of < <= == != >= >",
                compare,
            )
        )
    if w4 and _NEGATIVE.search(compare):
        found.append(
            RuleWarning(
                "negative-compare-value",
                f"'compare {compare}': W4 takes the first run of digits, so the sign is lost",
                compare,
            )
        )


_OSREGEX = "OS_Regex"
_PCRE2 = "PCRE2"
_PCRE2_CASELESS = "PCRE2 (caseless)"


def _lint_regex(regex: str, flavour: str, effect: str, found: list[RuleWarning]) -> None:
    error = _compile_error(regex, flavour)
    if error is not None:
        found.append(
            RuleWarning(
                "regex-compile",
                f"regex does not compile in {flavour} ({error}); it {effect} (E8)",
                regex,
            )
        )


@lru_cache(maxsize=16384)
def _compile_error(regex: str, flavour: str) -> str | None:
    """Why a regex does not compile in an engine, or None. Cached: stock policies repeat them."""
    try:
        if flavour == _OSREGEX:
            compile_osregex(regex)
        else:
            compile_pcre2(regex, caseless=flavour == _PCRE2_CASELESS)
    except RegexError as exc:
        return str(exc)
    return None
