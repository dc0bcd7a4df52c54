"""Bounds a policy's YAML must respect before it is composed: size, nesting depth, the size it
expands to through aliases ("billion laughs"), and no NUL. libyaml's composer recurses per
level (a deep file crashes the process) and walking aliased nodes multiplies them, so the
check runs on the parser's event stream, which uses neither."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

MAX_BYTES = 8 * 1024 * 1024  # the largest stock policy is well under 1 MB
MAX_DEPTH = 64
MAX_EXPANDED_NODES = 2_000_000  # nodes once every alias is expanded; stock: ~10^5

_PARSER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class BoundsProblem:
    """Why the text is refused, and the line (1-based) it was noticed at."""

    line: int | None
    code: str
    message: str


def check_bounds(text: str) -> BoundsProblem | None:
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_BYTES:
        return BoundsProblem(None, "too-large", f"{size} bytes; a policy may hold {MAX_BYTES}")
    nul = text.find("\0")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        return BoundsProblem(line, "nul-byte", "a NUL character is not allowed in a policy")
    try:
        return _walk_events(text)
    except yaml.YAMLError:
        return None  # the composer reports syntax errors with their position


def _walk_events(text: str) -> BoundsProblem | None:
    # Each open collection counts the expanded nodes under it; anchors remember their size.
    sizes: dict[str, int] = {}
    stack: list[tuple[int, str | None]] = []  # (expanded nodes so far, anchor)
    total = 0
    for event in yaml.parse(text, Loader=_PARSER):
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append((1, event.anchor))
            if len(stack) > MAX_DEPTH:
                return BoundsProblem(line, "too-deep", f"nested deeper than {MAX_DEPTH} levels")
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            count, anchor = stack.pop()
        elif isinstance(event, yaml.ScalarEvent):
            count, anchor = 1, event.anchor
        elif isinstance(event, yaml.AliasEvent):
            count, anchor = sizes.get(event.anchor or "", 1), None
        else:
            continue
        if anchor is not None:
            sizes[anchor] = count
        total += count if not stack else 0
        if stack:
            stack[-1] = (stack[-1][0] + count, stack[-1][1])
            if stack[-1][0] > MAX_EXPANDED_NODES:
                return _too_big(line)
        elif total > MAX_EXPANDED_NODES:
            return _too_big(line)
    return None


def _too_big(line: int | None) -> BoundsProblem:
    return BoundsProblem(
        line,
        "too-many-nodes",
        f"expands to more than {MAX_EXPANDED_NODES} nodes (aliases of aliases?)",
    )
