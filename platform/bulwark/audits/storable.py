"""Host output made storable: PostgreSQL refuses NUL in text and JSON, and UTF-8 cannot carry
the lone surrogates that undecodable bytes become. Both turn into visible escapes, so a hostile
or odd host is stored as it is (readably) instead of making itself un-auditable."""

from __future__ import annotations

from typing import Any


def storable(text: str) -> str:
    """`text` with NUL as the four characters \\x00 and lone surrogates as \\udcXX."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def storable_json(value: Any) -> Any:
    """`value` (JSON-like: dicts, lists, strings, numbers) with every string made storable,
    keys included."""
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {storable_json(k): storable_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_json(item) for item in value]
    return value
