"""The local transport: run the collector on this machine through a subprocess."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
from dataclasses import dataclass, field

from workers.transports.base import RemoteProcess, Transport, TransportTimeout


class LocalProcess(RemoteProcess):
    """A child process in its own process group, so kill() reaches everything it started."""

    def __init__(self, command: str) -> None:
        self._popen = subprocess.Popen(
            ["/bin/sh", "-c", command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert self._popen.stdin and self._popen.stdout and self._popen.stderr
        self._stdout = self._popen.stdout
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._stdout, selectors.EVENT_READ)
        self._stderr_chunks: list[bytes] = []
        os.set_blocking(self._popen.stderr.fileno(), False)

    def write(self, data: bytes) -> None:
        assert self._popen.stdin is not None
        self._popen.stdin.write(data)
        self._popen.stdin.flush()

    def close_stdin(self) -> None:
        if self._popen.stdin and not self._popen.stdin.closed:
            self._popen.stdin.close()

    def read(self, max_bytes: int, timeout: float) -> bytes:
        self._drain_stderr()
        if not self._selector.select(timeout):
            raise TransportTimeout(f"no output within {timeout:.1f} s")
        return os.read(self._stdout.fileno(), max_bytes)

    def _drain_stderr(self) -> None:
        # stderr is only diagnostics: keep the first 64 KiB so a chatty process cannot block.
        assert self._popen.stderr is not None
        try:
            chunk = self._popen.stderr.read(65536)
        except (BlockingIOError, ValueError):
            return
        if chunk and sum(map(len, self._stderr_chunks)) < 65536:
            self._stderr_chunks.append(chunk)

    def finish(self, timeout: float) -> tuple[int | None, bytes]:
        try:
            status = self._popen.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            self.kill()
            raise TransportTimeout(f"process did not exit within {timeout:.1f} s") from exc
        self._drain_stderr()
        self._close_pipes()
        return status, b"".join(self._stderr_chunks)

    def kill(self) -> None:
        if self._popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._popen.pid, signal.SIGKILL)
            self._popen.wait()
        self._close_pipes()

    def stop(self) -> None:
        """SIGKILL the process group from any thread; the reader then sees end of output."""
        if self._popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._popen.pid, signal.SIGKILL)

    def _close_pipes(self) -> None:
        self._selector.close()
        for pipe in (self._popen.stdin, self._popen.stdout, self._popen.stderr):
            if pipe and not pipe.closed:
                pipe.close()


@dataclass
class LocalTransport(Transport):
    """Runs commands on the machine the worker runs on, as the worker's user."""

    # The processes started, so close() (an audit's budget running out) can stop them.
    _processes: list[LocalProcess] = field(default_factory=list, init=False, repr=False)

    def _start(self, command: str) -> RemoteProcess:
        process = LocalProcess(command)
        self._processes.append(process)
        return process

    def close(self) -> None:
        for process in self._processes:
            process.stop()
        self._processes.clear()
