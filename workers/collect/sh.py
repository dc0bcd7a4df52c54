"""The POSIX sh collector: fact requests in, one script stage out.

Every answer is framed as `<boundary> <id> <status> <length>\\n` followed by exactly `length`
bytes, so host data can never be mistaken for a frame: a file that contains boundary-looking
text is just content. Each answer is size-capped on the host (`head -c`), commands run under
`timeout` with stdin from /dev/null, and nothing from the inventory is put into the script:
paths and argv come from policy data and are single-quoted.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable

from workers.engine.facts import (
    CommandRequest,
    DirectoryRequest,
    FactRequest,
    FileRequest,
    ProcessListRequest,
    RegistryRequest,
)

# Shell functions, defined once in the first stage. $B boundary, $C cap, $K timeout, $T tmp dir.
PROLOGUE = r"""
umask 077
export LC_ALL=C
T=$(mktemp -d 2>/dev/null) || T=/tmp/bwk.$$
mkdir -p "$T" || exit 70
trap 'rm -rf "$T"' EXIT HUP INT TERM
if command -v timeout >/dev/null 2>&1; then TO=1; else TO=; fi
_emit() {
  if [ -n "$3" ]; then n=$(wc -c < "$3"); n=$((n)); else n=0; fi
  printf '%s %s %s %s\n' "$B" "$1" "$2" "$n"
  if [ "$n" -gt 0 ]; then cat "$3"; fi
}
_run() {
  if [ -n "$TO" ]; then timeout -k 2 "$K" "$@"; else "$@"; fi
}
_f() {
  if [ -f "$2" ]; then
    if [ "$3" = 1 ]; then
      if head -c $((C + 1)) -- "$2" > "$T/o" 2>/dev/null; then _emit "$1" regular "$T/o"
      else _emit "$1" denied; fi
    else _emit "$1" regular; fi
  elif [ -d "$2" ]; then _emit "$1" directory
  elif [ -e "$2" ]; then _emit "$1" other
  elif [ -L "$2" ]; then _emit "$1" missing
  else
    d=${2%/*}
    if [ -n "$d" ] && [ -d "$d" ] && ! [ -x "$d" ]; then _emit "$1" denied
    else _emit "$1" missing; fi
  fi
}
_c() {
  i=$1; shift
  rm -f "$T/rc"
  { _run "$@"; echo $? > "$T/rc"; } < /dev/null 2>&1 | head -c $((C + 1)) > "$T/o"
  if [ -s "$T/rc" ]; then rc=$(cat "$T/rc"); else rc=141; fi
  _emit "$i" "rc=$rc" "$T/o"
}
_d() {
  if [ -d "$2" ]; then
    _run find -H "$2" ! -type d -exec sh -c '
      for f do
        if [ -L "$f" ]; then l=L; else l=N; fi
        if [ -f "$f" ]; then printf "%sF%s\0" "$l" "$f"; else printf "%sO%s\0" "$l" "$f"; fi
      done' sh {} + 2> "$T/e" < /dev/null | head -c $((C + 1)) > "$T/o"
    if [ -s "$T/e" ]; then _emit "$1" walk_errors "$T/o"; else _emit "$1" ok "$T/o"; fi
  elif [ -e "$2" ]; then _emit "$1" other
  else _emit "$1" missing; fi
}
_p() {
  if ps -e -o pid= -o comm= > "$T/o" 2>/dev/null && ps -e -o pid= -o args= > "$T/a" 2>/dev/null
  then echo = >> "$T/o"; cat "$T/a" >> "$T/o"; _emit "$1" ok "$T/o"
  else _emit "$1" error; fi
}
"""


def quote(text: str) -> str:
    """Single-quote for POSIX sh; NUL cannot be passed in argv, so it is refused earlier."""
    return shlex.quote(text)


def render_stage(
    requests: Iterable[tuple[int, FactRequest]],
    *,
    boundary: str,
    stage: int,
    fact_cap: int,
    command_timeout: float,
    first: bool,
) -> str:
    """One stage of the script: the prologue (first stage only), one line per request, the end."""
    lines: list[str] = []
    if first:
        lines.append(f"B={quote(boundary)}; C={int(fact_cap)}; K={int(max(command_timeout, 1))}")
        lines.append(PROLOGUE)
    for number, request in requests:
        lines.append(_render_request(number, request))
    lines.append(f"printf '%s %s %s %s\\n' \"$B\" END {stage} 0")
    return "\n".join(lines) + "\n"


def _render_request(number: int, request: FactRequest) -> str:
    if isinstance(request, FileRequest):
        return f"_f {number} {quote(request.path)} {1 if request.content else 0}"
    if isinstance(request, DirectoryRequest):
        return f"_d {number} {quote(request.path)}"
    if isinstance(request, CommandRequest):
        return f"_c {number} " + " ".join(quote(arg) for arg in request.argv)
    if isinstance(request, ProcessListRequest):
        return f"_p {number}"
    if isinstance(request, RegistryRequest):
        return f"_emit {number} unsupported"
    raise TypeError(f"unknown request {request!r}")
