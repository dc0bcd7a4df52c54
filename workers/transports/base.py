"""The transport interface: how the audit runtime runs one script on a host.

A transport opens a connection to one host and starts processes there. The collector uses a
single process per audit and talks to it over stdin/stdout in stages (see collect/session.py),
so the interface is a streaming one (lab/commands.py runs one command at a time on it, for
tests and benchmarks).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from types import TracebackType
from typing import ClassVar, Self


class TransportError(Exception):
    """A connection-level failure. `permanent` tells the caller whether a retry can help."""

    permanent: bool = False

    def __init__(self, message: str, *, permanent: bool | None = None) -> None:
        super().__init__(message)
        if permanent is not None:
            self.permanent = permanent


class AuthenticationFailed(TransportError):
    """The host refused our credentials (wrong password, key, or user)."""

    permanent = True


class HostKeyUnknown(TransportError):
    """The host presented a key we have not pinned, and trust-on-first-use is off."""

    permanent = True


class HostKeyChanged(TransportError):
    """The host presented a key different from the pinned one: possible interception."""

    permanent = True

    def __init__(self, message: str, *, expected: str, seen: str) -> None:
        super().__init__(message)
        self.expected = expected
        self.seen = seen


class CertificateRejected(TransportError):
    """The host's TLS certificate did not validate (unknown CA, wrong name, expired)."""

    permanent = True


class Unreachable(TransportError):
    """No route, connection refused or reset: the host may come back."""

    permanent = False


class TransportTimeout(TransportError):
    """A connect, read or command deadline passed."""

    permanent = False


class RemoteProcess(ABC):
    """A process started on the host, with its stdin open for writing."""

    @abstractmethod
    def write(self, data: bytes) -> None:
        """Send bytes to the process's stdin."""

    @abstractmethod
    def close_stdin(self) -> None:
        """Signal end of input."""

    @abstractmethod
    def read(self, max_bytes: int, timeout: float) -> bytes:
        """Return up to max_bytes of stdout; b"" at end of stream.

        Raises TransportTimeout when nothing arrives within `timeout` seconds.
        """

    @abstractmethod
    def finish(self, timeout: float) -> tuple[int | None, bytes]:
        """Wait for exit; return (exit status or None if unknown, captured stderr)."""

    @abstractmethod
    def kill(self) -> None:
        """Stop the process; safe to call more than once."""


@dataclass(frozen=True)
class SeenHostKeys:
    """The host keys a connection was presented, as OpenSSH public key lines (None: not seen,
    or a protocol without host keys). Callers pin them on first use."""

    host: str | None = None
    jump: str | None = None


@dataclass
class Transport(ABC):
    """A connection to one host. Counts the processes it starts (tests and benchmarks read it).

    `platform` says which collector the host runs: "posix" (sh) or "windows" (PowerShell).
    """

    platform: ClassVar[str] = "posix"
    executions: int = field(default=0, init=False)

    @abstractmethod
    def _start(self, command: str) -> RemoteProcess:
        """Start `command` (a POSIX shell command line, or a PowerShell one on Windows)."""

    def start(self, command: str) -> RemoteProcess:
        self.executions += 1
        return self._start(command)

    def seen_host_keys(self) -> SeenHostKeys:
        """The keys this connection was presented so far; none unless the protocol has them."""
        return SeenHostKeys()

    def close(self) -> None:  # noqa: B027 - optional hook, most transports have something to close
        """Release the connection."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
