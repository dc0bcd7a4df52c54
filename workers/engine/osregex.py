"""Wazuh's three pattern dialects compiled to Python `re` (docs/policy-format.md §8).

OS_Regex (W4 default), PCRE2 (W4 `regex_type: pcre2`, and all of W5) and OS_Match (W4 `d:` file
names without `r:`). Every compile is cached, so a policy's patterns are translated once.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Protocol

# OS_PATTERN_MAXSIZE in the Wazuh sources; longer patterns fail to compile.
MAX_PATTERN_BYTES = 20480


class RegexError(ValueError):
    """A pattern the engine would refuse to compile; the message says why."""


@dataclass(frozen=True)
class RegexMatch:
    """One successful search: the captures in order and the matched text (for evidence)."""

    groups: tuple[str | None, ...]
    text: str


class CompiledRegex(Protocol):
    """What compile_osregex and compile_pcre2 return."""

    # A read-only property so frozen implementations satisfy the protocol under mypy.
    @property
    def pattern(self) -> str: ...

    def search(self, subject: str) -> RegexMatch | None: ...


def _check_size(pattern: str) -> None:
    size = len(pattern.encode("utf-8", "surrogateescape"))
    if size > MAX_PATTERN_BYTES:
        raise RegexError(f"pattern is {size} bytes, the maximum is {MAX_PATTERN_BYTES}")


def _match_of(m: re.Match[str], first: int, count: int) -> RegexMatch:
    return RegexMatch(groups=m.groups()[first : first + count], text=m.group(0))


# ---------------------------------------------------------------------------------------------
# OS_Regex


def _char_class(chars: str, *, negate: bool = False) -> str:
    body = "".join(re.escape(c) for c in chars)
    return f"[{'^' if negate else ''}{body}]"


_DIGITS = "0123456789"
_WORD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" + _DIGITS + "-@_"
# The exact 25 characters of \p, in byte order (docs/policy-format.md §8.2).
PUNCTUATION = "!\"#$%&'()*+,-.:;<=>?[]{|}"

# Every escape OS_Regex knows, as the Python source of a one-character class or literal. All of
# them take a following + or *: the engine treats every backslash token alike.
_ESCAPES: dict[str, str] = {
    "d": _char_class(_DIGITS),
    "D": _char_class(_DIGITS, negate=True),
    "w": _char_class(_WORD),
    "W": _char_class(_WORD, negate=True),
    "s": " ",
    "S": "[^ ]",
    "t": r"\t",
    "p": _char_class(PUNCTUATION),
    ".": r"[\s\S]",  # any character, newline included
    "(": r"\(",
    ")": r"\)",
    "\\": r"\\",
    "$": r"\$",
    "|": r"\|",
    "<": "<",
}

_OSREGEX_FLAGS = re.IGNORECASE | re.ASCII


@dataclass(frozen=True)
class _Token:
    """One unit of an OS_Regex alternative: a group parenthesis or a one-character matcher."""

    char: str  # Python source matching one character; "(" or ")" for a group boundary
    quantifier: str = ""  # "", "+" or "*"
    bare: str = ""  # the pattern character when it was not escaped (to spot ^ and $ anchors)

    @property
    def is_paren(self) -> bool:
        return self.char in ("(", ")")


def _lex_osregex(pattern: str) -> list[list[_Token]]:
    """Split a pattern into alternatives of tokens, rejecting what OSRegex_Compile rejects."""
    alternatives: list[list[_Token]] = [[]]
    in_group = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        tokens = alternatives[-1]
        if c == "\\":
            esc = pattern[i + 1 : i + 2]
            if not esc:
                raise RegexError(f"lone \\ at offset {i}, the end of the pattern")
            if esc not in _ESCAPES:
                raise RegexError(f"unknown escape \\{esc} at offset {i}")
            i += 2
            quantifier = pattern[i] if pattern[i : i + 1] in ("+", "*") else ""
            i += len(quantifier)
            tokens.append(_Token(_ESCAPES[esc], quantifier))
            continue
        if c == "(":
            if in_group:
                raise RegexError(f"nested ( at offset {i}")
            in_group = True
            tokens.append(_Token("("))
        elif c == ")":
            if not in_group:
                raise RegexError(f"unbalanced ) at offset {i}")
            in_group = False
            tokens.append(_Token(")"))
        elif c == "|":
            if in_group:
                raise RegexError(f"| inside a group at offset {i}")
            alternatives.append([])
        else:
            tokens.append(_Token(re.escape(c), bare=c))
        i += 1
    if in_group:
        raise RegexError("unbalanced ( (a group is never closed)")
    return alternatives


def _alternative_source(tokens: list[_Token]) -> str:
    """Translate one alternative to Python regex source (docs/policy-format.md §8.4)."""
    # ^ and $ are anchors only at the very ends of an alternative; elsewhere they are literal.
    begin = bool(tokens) and tokens[0].bare == "^"
    if begin:
        tokens = tokens[1:]
    end = bool(tokens) and tokens[-1].bare == "$"
    if end:
        tokens = tokens[:-1]
    parts = ["\\A" if begin else ""]
    if end:
        # The engine never tries the empty position after the last character, so an empty
        # match there does not count (oracle: \d*$ does not match "123pattern").
        parts.append(r"(?:\A|(?!\Z))")
    for i, token in enumerate(tokens):
        if token.is_paren:
            if i > 0 and tokens[i - 1].is_paren:
                # The engine reads a parenthesis right after another one as a literal "(",
                # breaking `()` and `)(`: the oracle never matches them (`(hi)(Wazuh)`).
                parts.append("(?!)")
            parts.append(token.char)
            continue
        parts.append(token.char + token.quantifier)
        following = next((t for t in tokens[i + 1 :] if not t.is_paren), None)
        if token.quantifier and following is not None:
            # A run is left at the first character the next token accepts (one-token
            # look-ahead, resumed on failure), not at the last: lazy, with stops allowed only
            # where the next token matches or the run cannot go on (oracle: (\d+)\w on
            # "12345" captures "1"). A run that ends the alternative stays greedy.
            parts.append(f"?(?:(?={following.char})|(?!{token.char}))")
    if end:
        parts.append("\\Z")
    return "".join(parts)


@dataclass(frozen=True)
class _Alternative:
    regex: re.Pattern[str]
    marker: int  # the group wrapping this alternative in the combined regex
    ngroups: int


@dataclass(frozen=True)
class _OsRegex:
    """A compiled OS_Regex: all alternatives in one regex, plus each alone for the rare retry."""

    pattern: str
    combined: re.Pattern[str]
    alternatives: tuple[_Alternative, ...]
    owner: tuple[int, ...]  # combined-regex group number -> index of its alternative

    def search(self, subject: str) -> RegexMatch | None:
        m = self.combined.search(subject)
        if m is None:
            return None
        if len(self.alternatives) == 1:
            return _match_of(m, 0, self.alternatives[0].ngroups)
        # Python tries every alternative at each position; OS_Regex tries each alternative over
        # the whole subject, in order. The combined match is the answer unless an earlier
        # alternative matches further right; none can match at or before m.start().
        k = self.owner[m.lastindex or 0]
        start = m.start() + 1
        if start <= len(subject):
            for alt in self.alternatives[:k]:
                earlier = alt.regex.search(subject, start)
                if earlier is not None:
                    return _match_of(earlier, 0, alt.ngroups)
        return _match_of(m, self.alternatives[k].marker, self.alternatives[k].ngroups)


@functools.lru_cache(maxsize=16384)
def compile_osregex(pattern: str) -> CompiledRegex:
    """Compile an OS_Regex pattern (policy-format §8.2, §8.4); raise RegexError like Wazuh."""
    _check_size(pattern)
    sources = [_alternative_source(tokens) for tokens in _lex_osregex(pattern)]
    alternatives: list[_Alternative] = []
    owner = [0]
    for index, source in enumerate(sources):
        regex = re.compile(source, _OSREGEX_FLAGS)
        alternatives.append(_Alternative(regex, len(owner), regex.groups))
        owner += [index] * (regex.groups + 1)
    if len(sources) == 1:
        combined = alternatives[0].regex
    else:
        combined = re.compile("|".join(f"({s})" for s in sources), _OSREGEX_FLAGS)
    return _OsRegex(pattern, combined, tuple(alternatives), tuple(owner))


# ---------------------------------------------------------------------------------------------
# PCRE2

# PCRE escapes Python lacks or reads differently (\v is a class in PCRE, one character in
# Python; \Z allows a final newline in PCRE). Non-UTF PCRE2 classes are ASCII, as is re.ASCII.
_VSPACE = r"\n\x0b\f\r"
_PCRE_ESCAPES = {
    "h": r"[ \t]",
    "H": r"[^ \t]",
    "v": f"[{_VSPACE}]",
    "V": f"[^{_VSPACE}]",
    "N": r"[^\n]",
    "z": r"\Z",
    "Z": r"(?=\n?\Z)",
    "E": "",  # a \E without \Q is ignored
}
_PCRE_CLASS_ESCAPES = {"h": r" \t", "v": _VSPACE, "E": ""}
_POSIX_CLASSES = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "ascii": r"\x00-\x7f",
    "blank": r" \t",
    "cntrl": r"\x00-\x1f\x7f",
    "digit": "0-9",
    "graph": r"!-~",
    "lower": "a-z",
    "print": r" -~",
    "punct": r"!-/:-@\[-`{-~",
    "space": r"\t\n\x0b\f\r ",
    "upper": "A-Z",
    "word": "a-zA-Z0-9_",
    "xdigit": "0-9A-Fa-f",
}
_POSIX_RE = re.compile(r"\[:(\^?)([a-z]+):\]")


def _translate_pcre(pattern: str) -> str:
    """Rewrite the PCRE-only syntax that Python's `re` lacks or reads differently."""
    out: list[str] = []
    in_class = False
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            esc = pattern[i + 1]
            if esc == "Q":  # \Q...\E quotes everything in between
                end = pattern.find("\\E", i + 2)
                end = n if end < 0 else end
                out.append(re.escape(pattern[i + 2 : end]))
                i = end + 2
                continue
            table = _PCRE_CLASS_ESCAPES if in_class else _PCRE_ESCAPES
            if esc == "N" and pattern[i + 2 : i + 3] == "{":
                out.append(pattern[i : i + 2])  # \N{...}: let re judge it
            else:
                out.append(table.get(esc, pattern[i : i + 2]))
            i += 2
            continue
        if in_class:
            posix = _POSIX_RE.match(pattern, i)
            if posix:
                negated, name = posix.groups()
                if name not in _POSIX_CLASSES or negated:
                    raise RegexError(f"unsupported POSIX class {posix.group(0)} at offset {i}")
                out.append(_POSIX_CLASSES[name])
                i = posix.end()
                continue
            if c == "]":
                in_class = False
                out.append(c)
            elif c in "[&~|":
                out.append("\\" + c)  # literal in PCRE; Python warns about future set syntax
            else:
                out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if pattern[i : i + 1] == "^":
                out.append("^")
                i += 1
            if pattern[i : i + 1] == "]":  # a leading ] is a literal member in PCRE
                out.append(r"\]")
                i += 1
            continue
        if pattern.startswith("(?<", i) and pattern[i + 3 : i + 4] not in ("=", "!"):
            out.append("(?P<")  # PCRE's named group spelling
            i += 3
            continue
        out.append(c)
        i += 1
    return "".join(out)


@dataclass(frozen=True)
class _Pcre2:
    pattern: str
    regex: re.Pattern[str]

    def search(self, subject: str) -> RegexMatch | None:
        m = self.regex.search(subject)
        return None if m is None else _match_of(m, 0, self.regex.groups)


@functools.lru_cache(maxsize=16384)
def compile_pcre2(pattern: str, *, caseless: bool) -> CompiledRegex:
    """Compile a PCRE2 pattern (docs/policy-format.md §8.5).

    caseless=False is W4 `regex_type: pcre2` (options 0); caseless=True is W5, which also sets
    MULTILINE (it only changes `$` before a trailing newline, as subjects are single lines).
    """
    flags = re.ASCII | (re.IGNORECASE | re.MULTILINE if caseless else 0)
    try:
        regex = re.compile(_translate_pcre(pattern), flags)
    except (re.error, OverflowError) as exc:
        raise RegexError(str(exc)) from exc
    return _Pcre2(pattern, regex)


# ---------------------------------------------------------------------------------------------
# OS_Match (sregex)


@dataclass(frozen=True)
class CompiledMatch:
    """A compiled OS_Match expression: case-insensitive substring, prefix, suffix or equality."""

    pattern: str
    regex: re.Pattern[str]
    negate: bool

    def matches(self, subject: str) -> bool:
        return (self.regex.search(subject) is not None) != self.negate


def _osmatch_alternative(alt: str) -> str:
    begin = alt.startswith("^")
    body = alt[1:] if begin else alt
    end = body.endswith("$")
    body = body[:-1] if end else body
    return ("\\A" if begin else "") + re.escape(body) + ("\\Z" if end else "")


@functools.lru_cache(maxsize=16384)
def compile_osmatch(pattern: str) -> CompiledMatch:
    """Compile an OS_Match expression (docs/policy-format.md §8.6): no escapes, no classes."""
    _check_size(pattern)
    negate = pattern.startswith("!")
    body = pattern[1:] if negate else pattern
    source = "|".join(f"(?:{_osmatch_alternative(alt)})" for alt in body.split("|"))
    return CompiledMatch(pattern, re.compile(source, _OSREGEX_FLAGS), negate)
