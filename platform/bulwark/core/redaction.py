"""Redaction: keep secrets out of messages, error reasons and logs."""

from __future__ import annotations

from collections.abc import Iterable

MASK = "***"
MIN_LINE = 16  # a line of a multi-line secret (a private key) long enough to be worth masking


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every (non-empty) secret replaced by ***, longest first; a multi-line secret
    (a private key) also line by line."""
    pieces: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        pieces.add(secret)
        if "\n" in secret:
            pieces.update(line.strip() for line in secret.splitlines() if len(line) >= MIN_LINE)
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, MASK)
    return text
