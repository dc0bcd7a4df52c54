"""A reference reader for the request calls the PowerShell collector generates.

It reads arguments the way PowerShell's tokenizer reads them, independently of how
powershell.quote() writes them: a single-quoted literal ends at any of PowerShell's five
single-quote characters unless the next character is one too (then that one is kept);
`(_s '<base64>')` is UTF-8 decoded; anything else is a bare word. The test server uses it to
check every request against the stage's JSON header, so quoting bugs surface as wrong answers.
"""

from __future__ import annotations

import base64
import re

QUOTES = "'\u2018\u2019\u201a\u201b"
_CALL = re.compile(r"^try \{ (_\w+) (.*) \} catch \{ _emit '(\d+)' 'error' \$null \}$", re.S)


class LexError(ValueError):
    """The text is not a well-formed collector call."""


def read_literal(text: str, start: int) -> tuple[str, int]:
    """A single-quoted literal at text[start]; returns (value, index after it)."""
    if text[start] not in QUOTES:
        raise LexError(f"no quote at {start}")
    out, i = [], start + 1
    while i < len(text):
        c = text[i]
        if c in QUOTES:
            if i + 1 < len(text) and text[i + 1] in QUOTES:
                out.append(text[i + 1])
                i += 2
                continue
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise LexError("unterminated literal")


def read_args(text: str) -> list[str]:
    """The arguments of one call: literals, (_s '...') decodings, bare words."""
    args, i = [], 0
    while i < len(text):
        if text[i] == " ":
            i += 1
        elif text[i] in QUOTES:
            value, i = read_literal(text, i)
            args.append(value)
        elif text.startswith("(_s ", i):
            encoded, i = read_literal(text, i + 4)
            if text[i : i + 1] != ")":
                raise LexError("unclosed (_s ...)")
            args.append(base64.b64decode(encoded, validate=True).decode("utf-8"))
            i += 1
        else:
            end = text.find(" ", i)
            end = len(text) if end < 0 else end
            args.append(text[i:end])
            i = end
    return args


def read_call(statement: str) -> tuple[str, list[str]]:
    """`try { _f '1' 'C:\\x' 1 } catch { ... }` -> ("_f", ["1", "C:\\x", "1"])."""
    match = _CALL.match(statement)
    if match is None:
        raise LexError(f"not a collector call: {statement[:80]!r}")
    name, args = match.group(1), read_args(match.group(2))
    if not args or args[0] != match.group(3):
        raise LexError("the call and its error handler name different requests")
    return name, args
