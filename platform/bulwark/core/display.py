"""Text from hosts and policies shown to people: control characters (ESC, BEL, NUL...) and
bidirectional overrides (which reorder what is displayed, e.g. "txt.exe" shown as "exe.txt")
become visible escapes at output. Stored evidence is never changed."""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# C0 except tab, line feed and carriage return; DEL; C1; the bidi embeddings, overrides,
# isolates and marks.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
# A spreadsheet evaluates a cell starting with one of these, even after blanks (CSV injection).
_FORMULA = re.compile(r"^[\s\x00-\x1f]*[=+\-@]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """`text` with every invisible or reordering character shown as \\xNN or \\uNNNN."""
    return _INVISIBLE.sub(_escape, text)


def csv_cell(value: object) -> object:
    """A CSV cell: text made visible, and quoted with ' when a spreadsheet would run it."""
    if not isinstance(value, str):
        return "" if value is None else value
    text = visible(value)
    return "'" + text if _FORMULA.match(text) or text[:1] in ("\t", "\r", "\n") else text


class VisibleTextMiddleware:
    """Pages and the admin: neutralise such characters in every HTML response. Templates hold
    none of them, so whatever is found came from data."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        kind = response.get("Content-Type", "")
        if kind.startswith("text/html") and not response.streaming:
            charset = response.charset or "utf-8"
            text = response.content.decode(charset, errors="replace")
            cleaned = visible(text)
            if cleaned != text:
                response.content = cleaned.encode(charset)
        return response
