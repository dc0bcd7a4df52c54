"""The PowerShell collector: fact requests in, one stage out, for `powershell.exe -Command -`.

PowerShell reads its stdin one statement at a time, so each stage travels as ONE line that
dot-sources a script block decoded from base64 UTF-8: no quoting survives the trip but ASCII.
The decoded stage script starts with a comment line `# bulwark-stage <JSON>` that lists the
stage's requests (id, kind, path/line/key) in machine-readable form: the WS-Management test
server answers from it, and a log of the script says what was asked. The first stage also
sets $B/$C/$K and defines the functions of collector.ps1. Answers are framed exactly like the
sh collector's, so collect/session.py parses both the same way.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from workers.engine.facts import (
    CommandRequest,
    DirectoryRequest,
    FactRequest,
    FileRequest,
    ProcessListRequest,
    RegistryRequest,
)
from workers.engine.windows import SECEDIT_EXPORT, split_registry_key

COMMAND = "powershell.exe -NoLogo -NoProfile -NonInteractive -Command -"
# The Windows limits the collector lives within (tests/workers/collect/test_windows_limits.py).
# WinRM's cmd shell runs a Command through cmd.exe, which refuses lines over 8,191 characters
# ("The command line is too long."): COMMAND is fixed and the script never rides on it, it goes
# through stdin in Send messages (transports/winrm.py, send_chunk bytes each, well under the
# default MaxEnvelopeSizekb of 500). A `c:` rule's line is started by the collector's _run with
# Process.Start, i.e. CreateProcess, whose command line holds at most 32,767 characters with its
# terminating NUL, the program name quoted in front.
CMD_LINE_LIMIT = 8191
PROCESS_LINE_LIMIT = 32766
PROLOGUE = Path(__file__).with_name("collector.ps1").read_text(encoding="utf-8")
STAGE_MARKER = "# bulwark-stage "
# Every character PowerShell takes for a single quote; doubling one escapes it.
_QUOTES = re.compile("['\u2018\u2019\u201a\u201b]")


def quote(text: str) -> str:
    """A PowerShell expression for `text`: a single-quoted literal (nothing expands inside),
    or, when it holds control or format characters, a call decoding its UTF-8 from base64."""
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in text):
        data = base64.b64encode(text.encode("utf-8", errors="surrogatepass")).decode("ascii")
        return f"(_s '{data}')"
    return "'" + _QUOTES.sub(lambda m: m.group(0) * 2, text) + "'"


def command_line(request: CommandRequest) -> str:
    """What the host runs: the rule's own text, or argv quoted as the MS C runtime reads it."""
    return request.line if request.line is not None else subprocess.list2cmdline(request.argv)


def render_stage(
    requests: Iterable[tuple[int, FactRequest]],
    *,
    boundary: str,
    stage: int,
    fact_cap: int,
    command_timeout: float,
    first: bool,
) -> str:
    """The line to write to PowerShell's stdin for one stage."""
    script = render_script(
        requests,
        boundary=boundary,
        stage=stage,
        fact_cap=fact_cap,
        command_timeout=command_timeout,
        first=first,
    )
    encoded = base64.b64encode(script.encode("utf-8")).decode("ascii")
    # Empty lines around it: one takes any byte-order mark a UTF-8 console code page puts at the
    # start of the stream, the other ends any statement PowerShell might still wait on.
    return (
        "\n$null = . ([scriptblock]::Create([Text.Encoding]::UTF8.GetString("
        f"[Convert]::FromBase64String('{encoded}'))))\n\n"
    )


def render_script(
    requests: Iterable[tuple[int, FactRequest]],
    *,
    boundary: str,
    stage: int,
    fact_cap: int,
    command_timeout: float,
    first: bool,
) -> str:
    """The stage's PowerShell script, as the host decodes and runs it."""
    numbered = list(requests)
    header = {
        "boundary": boundary,
        "stage": stage,
        "cap": int(fact_cap),
        "timeout_ms": int(max(command_timeout, 1) * 1000),
        "requests": [describe(number, request) for number, request in numbered],
    }
    lines = [STAGE_MARKER + json.dumps(header, ensure_ascii=True, separators=(",", ":"))]
    if first:
        lines.append(f"$B = {quote(boundary)}; $C = {header['cap']}; $K = {header['timeout_ms']}")
        lines.append(PROLOGUE)
    for number, request in numbered:
        call = _render_request(number, request)
        lines.append(f"try {{ {call} }} catch {{ _emit '{number}' 'error' $null }}")
    lines.append(f"_emit 'END' '{stage}' $null")
    return "\n".join(lines) + "\n"


def describe(number: int, request: FactRequest) -> dict[str, object]:
    """One request as the stage header's JSON lists it."""
    if isinstance(request, FileRequest):
        return {"id": number, "kind": "file", "path": request.path, "content": request.content}
    if isinstance(request, DirectoryRequest):
        return {"id": number, "kind": "directory", "path": request.path}
    if request == SECEDIT_EXPORT:
        return {"id": number, "kind": "secedit"}
    if isinstance(request, CommandRequest):
        return {"id": number, "kind": "command", "line": command_line(request)}
    if isinstance(request, ProcessListRequest):
        return {"id": number, "kind": "processes"}
    if isinstance(request, RegistryRequest):
        split = split_registry_key(request.key)
        hive, path = split if split else (None, None)
        return {"id": number, "kind": "registry", "key": request.key, "hive": hive, "path": path}
    raise TypeError(f"unknown request {request!r}")


def _render_request(number: int, request: FactRequest) -> str:
    n = f"'{number}'"
    if isinstance(request, FileRequest):
        return f"_f {n} {quote(request.path)} {1 if request.content else 0}"
    if isinstance(request, DirectoryRequest):
        return f"_d {n} {quote(request.path)}"
    if request == SECEDIT_EXPORT:
        return f"_sec {n}"
    if isinstance(request, CommandRequest):
        return f"_c {n} {quote(command_line(request))}"
    if isinstance(request, ProcessListRequest):
        return f"_p {n}"
    if isinstance(request, RegistryRequest):
        split = split_registry_key(request.key)
        if split is None:
            return f"_emit {n} 'badhive' $null"
        return f"_r {n} {quote(split[0])} {quote(split[1])}"
    raise TypeError(f"unknown request {request!r}")
