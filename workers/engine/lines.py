"""How host text is cut into lines before patterns see it; each engine cuts differently (§4)."""

from __future__ import annotations

W4_LINE_BYTES = 2047  # fgets into a 2048-byte buffer
W4_COMMAND_PIECES = 256  # OS_StrBreak limit


def w4_file_lines(text: str) -> list[str]:
    """fgets semantics: long lines come back as 2047-byte chunks, trailing CR/LF removed."""
    pieces = text.split("\n")
    if pieces and pieces[-1] == "":
        pieces.pop()
    lines: list[str] = []
    for index, piece in enumerate(pieces):
        has_newline = index < len(pieces) - 1 or text.endswith("\n")
        if len(piece) < W4_LINE_BYTES // 4 or len(encoded := piece.encode()) + has_newline <= 2047:
            lines.append(piece.rstrip("\r\n"))
            continue
        # A chunk boundary can fall inside a multi-byte character; decoding with replace keeps
        # the text safe, and such lines are far past anything a policy matches on.
        raw = encoded + (b"\n" if has_newline else b"")
        for start in range(0, len(raw), W4_LINE_BYTES):
            chunk = raw[start : start + W4_LINE_BYTES]
            lines.append(chunk.decode("utf-8", errors="replace").rstrip("\r\n"))
    return lines


def w4_command_lines(text: str) -> list[str]:
    """OS_StrBreak('\\n', out, 256): a trailing newline gives an empty last line, empty output
    gives one empty line, backslash-newline does not split (the backslash is dropped)."""
    if "\\\n" in text:
        text = text.replace("\\\n", "\n\0")  # mark joins, restored below
        raw = text.split("\n")
        joined: list[str] = []
        for piece in raw:
            if piece.startswith("\0") and joined:
                joined[-1] += "\n" + piece[1:]
            else:
                joined.append(piece)
        pieces = joined
    else:
        pieces = text.split("\n")
    if len(pieces) > W4_COMMAND_PIECES:
        pieces = [*pieces[: W4_COMMAND_PIECES - 1], "\n".join(pieces[W4_COMMAND_PIECES - 1 :])]
    return [piece.rstrip("\r\n") for piece in pieces]


def w5_file_lines(text: str) -> list[str]:
    """getline on '\\n' only: a CR before the newline is kept."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def w5_command_text(text: str) -> str:
    """W5 trims trailing newlines from the whole output."""
    return text.rstrip("\n")
