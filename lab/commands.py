"""One command through a transport, its output collected: for tests, the lab and bench/.

Audits never run single commands: the collection session streams one collector process per
audit (workers/collect/session.py). This helper drives the same Transport.start() interface
for one command at a time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from workers.transports.base import Transport, TransportTimeout


@dataclass(frozen=True)
class CommandResult:
    """What one finished process gave back."""

    stdout: bytes
    stderr: bytes = b""
    exit_status: int | None = None
    timed_out: bool = False
    truncated: bool = False


def run_command(
    transport: Transport,
    command: str,
    stdin: bytes = b"",
    timeout: float = 150.0,
    output_cap: int = 64 * 1024 * 1024,
) -> CommandResult:
    """Run `command` with `stdin`, collect at most `output_cap` bytes of stdout."""
    deadline = time.monotonic() + timeout
    process = transport.start(command)
    chunks: list[bytes] = []
    size = 0
    truncated = False
    try:
        if stdin:
            process.write(stdin)
        process.close_stdin()
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransportTimeout(f"command did not finish within {timeout:g} s")
            chunk = process.read(65536, remaining)
            if not chunk:
                break
            if size + len(chunk) > output_cap:
                chunks.append(chunk[: output_cap - size])
                truncated = True
                break
            chunks.append(chunk)
            size += len(chunk)
        if truncated:
            process.kill()
            status, stderr = None, b""
        else:
            status, stderr = process.finish(max(deadline - time.monotonic(), 0.1))
    except TransportTimeout:
        process.kill()
        return CommandResult(b"".join(chunks), b"", None, timed_out=True)
    return CommandResult(b"".join(chunks), stderr, status, truncated=truncated)
