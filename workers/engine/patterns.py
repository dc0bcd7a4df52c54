"""Content patterns (`r:`, `n:`, literals joined by ` && `) evaluated against lines of text.

W4 works line by line with the minterm arithmetic of docs/policy-format.md E13 (FOUND=1,
NOT_FOUND=0, INVALID=2, a negated INVALID=3, the line value is the product). W5 checks a
pattern made of one negated minterm over the whole content ("no line matches"), otherwise line
by line, and any error in a numeric comparison makes the whole rule invalid.
"""

from __future__ import annotations

import enum
import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from workers.engine.definitions import (
    Dialect,
    Minterm,
    MintermKind,
    PatternDefinition,
    RegexEngine,
)
from workers.engine.osregex import CompiledRegex, RegexError, compile_osregex, compile_pcre2


class Result(enum.IntEnum):
    """A rule's value. The numbers are W4's, so minterm products work as in the agent."""

    NOT_FOUND = 0
    FOUND = 1
    INVALID = 2
    NOT_RUN = 4  # W5: a command timed out


@dataclass(frozen=True)
class Outcome:
    """A rule's result with what explains it: the line that matched, or why it is invalid."""

    result: Result
    reason: str | None = None
    line: str | None = None
    location: str | None = None


class PatternError(Exception):
    """W5: a numeric comparison could not be parsed or applied; the rule is INVALID."""


_OPERATORS: dict[str, Callable[[int, int], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    ">": operator.gt,
}
_DIGITS = re.compile(r"\d+")
_STRTOL = re.compile(r"\s*([+-]?\d+)")
_INT32 = 2**31


def compile_regex(text: str, engine: RegexEngine, dialect: Dialect) -> CompiledRegex:
    """The regex engine a minterm uses: OS_Regex, W4 PCRE2 (case-sensitive) or W5 PCRE2."""
    if engine is RegexEngine.OSREGEX and dialect is Dialect.W4:
        return compile_osregex(text)
    return compile_pcre2(text, caseless=dialect is Dialect.W5)


@dataclass(frozen=True)
class W4Numeric:
    """A W4 `compare` clause: operator and value, or the reason it is INVALID."""

    op: Callable[[int, int], bool] | None
    value: int
    error: str | None


@lru_cache(maxsize=4096)
def parse_w4_compare(compare_text: str | None) -> W4Numeric:
    if compare_text is None:
        return W4Numeric(None, 0, "numeric rule without ' compare '")
    digits = _DIGITS.search(compare_text)
    if not digits:
        return W4Numeric(None, 0, f"no number in 'compare {compare_text}'")
    value = int(digits.group())  # W4 takes the first run of digits: a minus sign is lost
    if compare_text.startswith("="):
        return W4Numeric(operator.eq, value, None)  # '=', '==', '=>' and '=<' all mean equality
    for token in ("!=", "<=", ">=", "<", ">"):
        if token in compare_text:
            return W4Numeric(_OPERATORS[token], value, None)
    return W4Numeric(None, 0, f"no operator in 'compare {compare_text}'")


@lru_cache(maxsize=4096)
def parse_w5_compare(text: str) -> tuple[str, Callable[[int, int], bool], int]:
    """W5: the first word `compare` anywhere splits regex from `OP VALUE` (§3.1)."""
    at = text.find("compare")
    if at < 0:
        raise PatternError(f"numeric rule without 'compare': {text}")
    regex = text[:at].rstrip()
    tokens = text[at + len("compare") :].split()
    if len(tokens) < 2 or tokens[0] not in _OPERATORS:
        raise PatternError(f"bad comparison in numeric rule: {text}")
    return regex, _OPERATORS[tokens[0]], _stoi(tokens[1])


def _stoi(text: str) -> int:
    match = _STRTOL.match(text)
    if not match:
        raise PatternError(f"not a number: {text[:40]}")
    value = int(match.group(1))
    if not -_INT32 <= value < _INT32:
        raise PatternError(f"number out of 32-bit range: {text[:40]}")
    return value


class PatternMatcher:
    """A compiled content pattern for one dialect and regex engine."""

    def __init__(self, pattern: PatternDefinition, engine: RegexEngine, dialect: Dialect) -> None:
        self.pattern = pattern
        self.engine = engine
        self.dialect = dialect
        self.minterms = pattern.minterms

    # -- W4 ---------------------------------------------------------------------------------------

    def _w4_minterm(self, minterm: Minterm, line: str) -> int:
        if minterm.kind is MintermKind.LITERAL:
            value = int(line.lower() == minterm.text.lower())  # strcasecmp
        elif minterm.kind is MintermKind.REGEX:
            try:
                value = int(
                    compile_regex(minterm.text, self.engine, self.dialect).search(line) is not None
                )
            except RegexError:
                value = 0  # W4: a regex that does not compile never matches
        else:
            value = self._w4_numeric(minterm, line)
        if minterm.negated:
            return {0: 1, 1: 0}.get(value, 3)
        return value

    def _w4_numeric(self, minterm: Minterm, line: str) -> int:
        numeric = parse_w4_compare(minterm.compare_text)
        if numeric.op is None:
            return 2
        try:
            match = compile_regex(minterm.text, self.engine, self.dialect).search(line)
        except RegexError:
            return 2
        if match is None:
            return 0
        if not match.groups or match.groups[0] is None:
            return 2  # matched, but no string was captured
        captured = _STRTOL.match(match.groups[0])
        if not captured:
            return 2
        return int(numeric.op(int(captured.group(1)), numeric.value))

    def w4_line(self, line: str) -> int:
        value = 1
        for minterm in self.minterms:
            value *= self._w4_minterm(minterm, line)
        return value

    def w4_scan_file(self, lines: Sequence[str]) -> Outcome:
        """Stop at the first line whose value is non-zero (E13)."""
        for line in lines:
            value = self.w4_line(line)
            if value == 1:
                return Outcome(Result.FOUND, line=line)
            if value == 2:
                return Outcome(
                    Result.INVALID, reason=f"pattern could not be evaluated on: {line[:200]}"
                )
            if value > 2:
                return Outcome(Result.NOT_FOUND)
        return Outcome(Result.NOT_FOUND)

    def w4_scan_command(self, lines: Sequence[str]) -> Outcome:
        """Stop at the first FOUND line; otherwise the LAST line's value decides (§4.4)."""
        value = 0
        for line in lines:
            value = self.w4_line(line)
            if value == 1:
                return Outcome(Result.FOUND, line=line)
        if value == 2:
            return Outcome(Result.INVALID, reason="pattern could not be evaluated on the output")
        return Outcome(Result.NOT_FOUND)

    # -- W5 ---------------------------------------------------------------------------------------

    def _w5_minterm(self, minterm: Minterm, line: str) -> bool:
        if minterm.kind is MintermKind.LITERAL:
            matched = line == minterm.text
        elif minterm.kind is MintermKind.REGEX:
            matched = self._w5_regex(minterm.text).search(line) is not None
        else:
            matched = self._w5_numeric(minterm, line)
        return matched != minterm.negated

    def _w5_regex(self, text: str) -> CompiledRegex:
        try:
            return compile_pcre2(text, caseless=True)
        except RegexError as exc:
            raise PatternError(f"regex does not compile: {text}: {exc}") from exc

    def _w5_numeric(self, minterm: Minterm, line: str) -> bool:
        source = (
            minterm.text
            if minterm.compare_text is None
            else (f"{minterm.text} compare {minterm.compare_text}")
        )
        regex_text, op, value = parse_w5_compare(source)
        match = self._w5_regex(regex_text).search(line)
        if match is None:
            return False
        captured = match.groups[0] if match.groups else match.text
        if captured is None:
            raise PatternError(f"numeric rule captured nothing on: {line[:200]}")
        return op(_stoi(captured), value)

    def w5_scan(self, lines: Sequence[str], whole: str | None = None) -> Outcome:
        """W5 PatternMatches: `whole` is set for commands, where a literal is the entire output."""
        try:
            if whole is not None and any(m.kind is MintermKind.LITERAL for m in self.minterms):
                lines = [whole]
            if not lines or (whole is not None and whole == ""):
                return Outcome(Result.NOT_FOUND)
            if len(self.minterms) == 1 and self.minterms[0].negated:
                positive = Minterm(
                    self.minterms[0].kind,
                    False,
                    self.minterms[0].text,
                    self.minterms[0].compare_text,
                )
                for line in lines:
                    if self._w5_minterm(positive, line):
                        return Outcome(Result.NOT_FOUND, line=line)
                return Outcome(Result.FOUND)
            for line in lines:
                if all(self._w5_minterm(m, line) for m in self.minterms):
                    return Outcome(Result.FOUND, line=line)
            return Outcome(Result.NOT_FOUND)
        except PatternError as exc:
            return Outcome(Result.INVALID, reason=str(exc))


@lru_cache(maxsize=8192)
def matcher_for(
    pattern: PatternDefinition, engine: RegexEngine, dialect: Dialect
) -> PatternMatcher:
    return PatternMatcher(pattern, engine, dialect)
