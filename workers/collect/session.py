"""Running the collector: one process per audit, fed in stages, its framed output parsed.

The worker starts `sh -s` (or, on a Windows transport, `powershell.exe -Command -`) once,
writes a stage of the script to its stdin, reads the framed answers until the stage's END
frame, then decides what the next stage needs (policies whose requirements failed cost nothing
more; directory walks tell which files to read). All stages share one process and one channel:
one execution per audit, one round trip per stage. Both collectors frame alike, so one parser
reads both.
"""

from __future__ import annotations

import secrets as random_tokens
import time
from collections.abc import Iterable
from dataclasses import dataclass

from workers.collect import powershell, sh
from workers.engine.facts import (
    CommandFact,
    CommandRequest,
    DirectoryEntry,
    DirectoryFact,
    DirectoryRequest,
    Fact,
    FactRequest,
    FileFact,
    FileRequest,
    PathState,
    ProcessInfo,
    ProcessListFact,
    ProcessListRequest,
    RegistryRequest,
    UnavailableFact,
)
from workers.engine.windows import parse_registry_answer
from workers.transports.base import RemoteProcess, Transport, TransportError, TransportTimeout

MAX_HEADER = 512


class CollectorError(Exception):
    """The collector's output could not be trusted (desync, forged frame, size over the cap)."""


@dataclass(frozen=True)
class CollectorLimits:
    """Bounds on what a host may send back. Defaults suit CIS policies with room to spare."""

    fact_cap: int = 8 * 1024 * 1024  # per answer
    total_cap: int = 256 * 1024 * 1024  # per audit
    command_timeout: float = 150.0  # per command, enforced on the host
    silence_grace: float = 30.0  # extra time without output before the stage is abandoned


class CollectorSession:
    """One collector process on one host, used for all stages of an audit."""

    def __init__(
        self,
        transport: Transport,
        *,
        command: str | None = None,
        limits: CollectorLimits | None = None,
    ) -> None:
        self._transport = transport
        windows = transport.platform == "windows"
        self._renderer = powershell if windows else sh
        self._command = command or (powershell.COMMAND if windows else "sh -s")
        self.limits = limits or CollectorLimits()
        self.boundary = "BWK-" + random_tokens.token_hex(16)
        self._process: RemoteProcess | None = None
        self._buffer = bytearray()
        self._received_total = 0
        self._next_number = 1
        self.stages = 0
        self.broken: str | None = None  # once set, later stages answer everything unavailable
        # The connection failure that broke it, if that was the cause: the audit then cannot
        # be trusted as a whole and the caller retries it (transient) rather than store holes.
        self.broken_by: TransportError | None = None

    def collect(self, requests: Iterable[FactRequest]) -> dict[FactRequest, Fact]:
        """Run one stage for these requests; every request gets a fact (maybe Unavailable)."""
        numbered: dict[int, FactRequest] = {}
        for request in dict.fromkeys(requests):
            numbered[self._next_number] = request
            self._next_number += 1
        if not numbered:
            return {}
        if self.broken:
            return {r: UnavailableFact(self.broken) for r in numbered.values()}
        answers: dict[FactRequest, Fact] = {}
        self.stages += 1
        script = self._renderer.render_stage(
            numbered.items(),
            boundary=self.boundary,
            stage=self.stages,
            fact_cap=self.limits.fact_cap,
            command_timeout=self.limits.command_timeout,
            first=self._process is None,
        )
        if self._process is None:
            # Not caught: a host that cannot be reached is the audit's error, not a fact's.
            self._process = self._transport.start(self._command)
        try:
            self._process.write(script.encode())
            self._read_stage(numbered, answers)
        except (TransportError, CollectorError, OSError) as exc:
            self.broken = f"collector stopped: {exc}"
            if isinstance(exc, TransportError):
                self.broken_by = exc
            self._kill()
        for request in numbered.values():
            answers.setdefault(request, UnavailableFact(self.broken or "no answer from collector"))
        return answers

    def close(self) -> None:
        """End the collector: close its stdin and let it clean up its temporary folder."""
        if self._process is None:
            return
        try:
            self._process.close_stdin()
            self._process.finish(10.0)
        except TransportError:
            self._kill()
        self._process = None

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process = None

    # -- reading frames -------------------------------------------------------------------------

    def _read_stage(
        self, numbered: dict[int, FactRequest], answers: dict[FactRequest, Fact]
    ) -> None:
        silence = self.limits.command_timeout + self.limits.silence_grace
        while True:
            header = self._read_line(silence)
            parts = header.split(b" ")
            if len(parts) != 4 or parts[0] != self.boundary.encode():
                raise CollectorError(f"unexpected collector output {header[:80]!r}")
            number_text, status, length_text = parts[1], parts[2], parts[3]
            if not length_text.isdigit():
                raise CollectorError(f"bad frame length {length_text[:20]!r}")
            length = int(length_text)
            if number_text == b"END":
                return
            if not number_text.isdigit() or int(number_text) not in numbered:
                raise CollectorError(f"frame for an unknown request {number_text[:20]!r}")
            request = numbered.pop(int(number_text))
            if request in answers:
                raise CollectorError("two answers for one request")
            if length > self.limits.fact_cap + 1:
                raise CollectorError(f"answer of {length} bytes is over the cap")
            data = self._read_exact(length, silence)
            answers[request] = parse_answer(
                request, status.decode("ascii", "replace"), data, self.limits.fact_cap
            )

    def _fill(self, timeout: float) -> None:
        assert self._process is not None
        chunk = self._process.read(1 << 20, timeout)
        if not chunk:
            raise CollectorError("collector ended before finishing the stage")
        self._received_total += len(chunk)
        if self._received_total > self.limits.total_cap:
            raise CollectorError(f"collector sent more than {self.limits.total_cap} bytes")
        self._buffer += chunk

    def _read_line(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return line
            if len(self._buffer) > MAX_HEADER:
                raise CollectorError(f"unexpected collector output {bytes(self._buffer[:80])!r}")
            self._fill(_remaining(deadline))

    def _read_exact(self, length: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while len(self._buffer) < length:
            self._fill(_remaining(deadline))
        data = bytes(self._buffer[:length])
        del self._buffer[:length]
        return data


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TransportTimeout("collector went silent")
    return left


def parse_answer(request: FactRequest, status: str, data: bytes, cap: int) -> Fact:
    """Turn one frame into a fact. `data` may be one byte over `cap`: that means truncated."""
    truncated = len(data) > cap
    if truncated:
        data = data[:cap]
    if status == "error":
        return UnavailableFact("the collector failed on this request")
    if isinstance(request, FileRequest):
        try:
            state = PathState(status)
        except ValueError:
            return UnavailableFact(f"unexpected file status {status[:40]!r}")
        content = data if request.content and state is PathState.REGULAR else None
        return FileFact(state, content, truncated)
    if isinstance(request, CommandRequest):
        code = int(status[3:]) if status.startswith("rc=") and status[3:].isdigit() else None
        if code is None and status not in ("timeout", "noexec"):
            return UnavailableFact(f"unexpected command status {status[:40]!r}")
        # sh reports timeout(1)'s and the shell's codes; PowerShell names both outcomes.
        return CommandFact(
            output=data,
            exit_status=code,
            timed_out=status == "timeout" or code in (124, 137),
            not_found=status == "noexec" or code in (126, 127),
            truncated=truncated,
        )
    if isinstance(request, DirectoryRequest):
        if status == "missing":
            return DirectoryFact(PathState.MISSING)
        if status == "other":
            return DirectoryFact(PathState.OTHER)
        if status not in ("ok", "walk_errors"):
            return UnavailableFact(f"unexpected directory status {status[:40]!r}")
        entries = []
        records = data.split(b"\0")
        if truncated or (records and records[-1]):
            records = records[:-1]  # the last record may be cut by the cap
        for record in records:
            if len(record) < 3 or record[0:1] not in b"LN" or record[1:2] not in b"FO":
                continue
            path = record[2:].decode("utf-8", errors="replace")
            entries.append(DirectoryEntry(path, record[0:1] == b"L", record[1:2] == b"F"))
        return DirectoryFact(
            PathState.DIRECTORY, tuple(entries), status == "walk_errors", truncated
        )
    if isinstance(request, ProcessListRequest):
        if status != "ok":
            return UnavailableFact("the process list could not be read (ps failed)")
        return ProcessListFact(parse_process_list(data))
    if isinstance(request, RegistryRequest):
        if status == "unsupported":
            return UnavailableFact("registry rules need a Windows host")
        return parse_registry_answer(status, data, truncated)
    raise TypeError(f"unknown request {request!r}")


def parse_process_list(data: bytes) -> tuple[ProcessInfo, ...]:
    """`ps -o pid= -o comm=` lines, a `=` line, then `ps -o pid= -o args=` lines."""
    text = data.decode("utf-8", errors="replace")
    names_part, _, args_part = text.partition("\n=\n")
    names: dict[int, str] = {}
    for line in names_part.splitlines():
        pid_text, _, name = line.strip().partition(" ")
        if pid_text.isdigit():
            names[int(pid_text)] = name.strip()
    args: dict[int, str] = {}
    for line in args_part.splitlines():
        pid_text, _, command_line = line.strip().partition(" ")
        if pid_text.isdigit():
            args[int(pid_text)] = command_line.strip()
    return tuple(ProcessInfo(pid, name, args.get(pid, name)) for pid, name in sorted(names.items()))
