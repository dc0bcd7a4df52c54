"""The WinRM transport: run the PowerShell collector on a Windows host over WS-Management.

HTTPS with certificate validation by default (a CA bundle per host), plain HTTP only when the
host allows it; NTLM (which encrypts the messages itself over HTTP), Basic, and Kerberos when
the pywinrm[kerberos] extra is installed. One WinRM shell per started process; stdin goes out
in Send messages of bounded size, stdout comes back through Receive calls that never wait on
the host longer than the caller may. Every pywinrm/requests failure becomes a base.py error.
"""

from __future__ import annotations

import contextlib
import math
import ssl
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar, TypeVar

import requests
import winrm.transport
from spnego.exceptions import SpnegoError
from winrm.exceptions import (
    InvalidCredentialsError,
    WinRMError,
    WinRMOperationTimeoutError,
    WinRMTransportError,
    WSManFaultError,
)
from winrm.protocol import Protocol

from workers.transports.address_policy import AddressPolicy
from workers.transports.base import (
    AuthenticationFailed,
    CertificateRejected,
    RemoteProcess,
    Transport,
    TransportError,
    TransportTimeout,
    Unreachable,
)
from workers.transports.winrm_guard import guard

STDERR_CAP = 64 * 1024
ACCESS_DENIED = 5  # the WSManFault code of "Access is denied"
T = TypeVar("T")


class WinRMAuth(StrEnum):
    """How we log in: NTLM (local or domain accounts), Basic (local accounts), Kerberos."""

    NTLM = "ntlm"
    BASIC = "basic"
    KERBEROS = "kerberos"


def kerberos_available() -> bool:
    """Whether pywinrm found a Kerberos library (the `pywinrm[kerberos]` extra)."""
    return bool(winrm.transport.HAVE_KERBEROS)


@dataclass(frozen=True)
class WinRMTarget:
    """Where and how to reach one Windows host. The password is repr=False.

    `port` defaults to 5986 for HTTPS and 5985 for HTTP. Over HTTP, NTLM and Kerberos encrypt
    each message; Basic over HTTP sends everything in clear, so HTTP is refused unless
    `allow_http` is set for the host.
    """

    host: str
    user: str
    password: str | None = field(default=None, repr=False)
    port: int | None = None
    auth: WinRMAuth = WinRMAuth.NTLM
    https: bool = True
    allow_http: bool = False
    ca_bundle: str | None = None  # PEM file of the CAs trusted for this host
    verify_certificate: bool = True
    # Checked on the address actually connected to (winrm_guard.py); None: anywhere.
    address_policy: AddressPolicy | None = None
    connect_timeout: float = 10.0
    operation_timeout: int = 20  # how long the host may hold one WS-Management call
    read_timeout: int = 30  # HTTP read deadline; must exceed operation_timeout
    path: str = "/wsman"
    send_chunk: int = 64 * 1024  # stdin bytes per Send message (well under MaxEnvelopeSize)

    def __post_init__(self) -> None:
        object.__setattr__(self, "auth", WinRMAuth(self.auth))
        if not self.host or not self.user:
            raise ValueError("host and user are required")
        if self.port is not None and not 0 < self.port < 65536:
            raise ValueError(f"port out of range: {self.port}")
        if not self.https and not self.allow_http:
            raise ValueError("plain HTTP is refused for this host unless allow_http is set")
        if self.auth is not WinRMAuth.KERBEROS and not self.password:
            raise ValueError(f"{self.auth.value} authentication needs a password")
        if not 1 <= self.operation_timeout < self.read_timeout or self.connect_timeout <= 0:
            raise ValueError("timeouts: need connect > 0 and 1 <= operation < read")
        if self.send_chunk < 1024:
            raise ValueError("send_chunk must be at least 1024 bytes")

    @property
    def effective_port(self) -> int:
        return self.port or (5986 if self.https else 5985)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.effective_port}"

    @property
    def endpoint(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self.https else "http"
        return f"{scheme}://{host}:{self.effective_port}{self.path}"

    def secrets(self) -> list[str]:
        return [self.password] if self.password else []


class WinRMProcess(RemoteProcess):
    """One command in its own WinRM shell; stdout buffered from Receive answers."""

    def __init__(self, transport: WinRMTransport, shell_id: str, command_id: str) -> None:
        self._transport = transport
        self._shell_id = shell_id
        self._command_id = command_id
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._stdin_closed = False
        self._done = False
        self._closed = False
        self._status: int | None = None

    def write(self, data: bytes) -> None:
        step = self._transport.target.send_chunk
        for start in range(0, len(data), step):
            self._send(data[start : start + step], end=False)

    def close_stdin(self) -> None:
        if self._stdin_closed or self._done or self._closed:
            return
        self._stdin_closed = True
        self._send(b"", end=True)

    def _send(self, piece: bytes, *, end: bool) -> None:
        def send(protocol: Protocol) -> None:
            protocol.send_command_input(self._shell_id, self._command_id, piece, end=end)

        self._call("closing input" if end else "sending input", send)

    def read(self, max_bytes: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while not self._stdout:
            if self._done or self._closed:
                return b""
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransportTimeout(f"no output within {timeout:.1f} s")
            self._receive(remaining)
        chunk = bytes(self._stdout[:max_bytes])
        del self._stdout[:max_bytes]
        return chunk

    def finish(self, timeout: float) -> tuple[int | None, bytes]:
        deadline = time.monotonic() + timeout
        while not self._done and not self._closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise TransportTimeout(f"process did not exit within {timeout:.1f} s")
            self._receive(remaining)
            self._stdout.clear()  # nobody reads past the end any more
        self.kill()
        return self._status, bytes(self._stderr)

    def _receive(self, remaining: float) -> None:
        target = self._transport.target
        # The host holds a Receive until output arrives or OperationTimeout passes: never let
        # it hold longer than our caller is willing to wait.
        wait = max(1, min(target.operation_timeout, math.ceil(remaining)))

        def receive(protocol: Protocol) -> tuple[bytes, bytes, int, bool] | None:
            protocol.operation_timeout_sec = wait
            try:
                return protocol.get_command_output_raw(self._shell_id, self._command_id)
            except WinRMOperationTimeoutError:
                return None  # nothing new within `wait`: the normal long-poll answer
            finally:
                protocol.operation_timeout_sec = target.operation_timeout

        answer = self._call("reading output", receive)
        if answer is None:
            return
        stdout, stderr, status, done = answer
        self._stdout += stdout
        self._stderr += stderr[: max(STDERR_CAP - len(self._stderr), 0)]
        if done:
            self._done = True
            self._status = status

    def kill(self) -> None:
        """Signal the command to end (harmless when it already has) and delete its shell."""
        if self._closed:
            return
        self._closed = True
        if self._transport.lost:
            return  # the host is gone: its idle timeout will reap the shell
        with contextlib.suppress(TransportError):
            self._call(
                "ending the command", lambda p: p.cleanup_command(self._shell_id, self._command_id)
            )
        with contextlib.suppress(TransportError):
            self._call(
                "deleting the shell", lambda p: p.close_shell(self._shell_id, close_session=False)
            )

    def _call(self, doing: str, action: Callable[[Protocol], T]) -> T:
        return self._transport.call(doing, action)


@dataclass(eq=False)
class WinRMTransport(Transport):
    """One WinRM endpoint (the HTTP session is reused by every call) for one Windows host.

    `shells_opened` and `commands_started` count what the host was asked to create.
    """

    platform: ClassVar[str] = "windows"

    target: WinRMTarget
    shells_opened: int = field(default=0, init=False)
    commands_started: int = field(default=0, init=False)
    lost: bool = field(default=False, init=False)  # the last call could not reach the host
    _protocol: Protocol | None = field(default=None, init=False, repr=False)
    _processes: list[WinRMProcess] = field(default_factory=list, init=False, repr=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)

    def connect(self) -> Protocol:
        """Build the pywinrm client; nothing goes on the network before the first call."""
        if self._protocol is not None:
            return self._protocol
        target = self.target
        if target.auth is WinRMAuth.KERBEROS and not kerberos_available():
            raise TransportError(
                "Kerberos needs the pywinrm[kerberos] extra (pykerberos), which is not "
                "installed on this worker",
                permanent=True,
            )
        try:
            protocol = Protocol(
                target.endpoint,
                transport=target.auth.value,
                username=target.user,
                password=target.password or "",
                ca_trust_path=target.ca_bundle or None,  # type: ignore[arg-type]
                server_cert_validation="validate" if target.verify_certificate else "ignore",
                read_timeout_sec=target.read_timeout,
                operation_timeout_sec=target.operation_timeout,
                message_encryption="auto",
                proxy=None,  # never a proxy from the worker's environment
            )
        except WinRMError as exc:
            message = _scrub(f"WinRM set-up failed: {exc}", target)
            raise TransportError(message, permanent=True) from None
        # requests takes (connect, read) deadlines; pywinrm hands this value straight to it.
        protocol.transport.read_timeout_sec = (  # type: ignore[assignment]
            target.connect_timeout,
            target.read_timeout,
        )
        if target.address_policy is not None:
            guard(protocol.transport, target.address_policy)
        self._protocol = protocol
        return protocol

    def call(self, doing: str, action: Callable[[Protocol], T]) -> T:
        """Run one pywinrm call under the lock; failures become typed errors."""
        with self._lock:
            protocol = self.connect()
            try:
                answer = action(protocol)
            except Exception as exc:  # every library failure is translated here
                error = exc if isinstance(exc, TransportError) else None
                error = error or _translate(exc, self.target, doing)
                self.lost = isinstance(error, Unreachable | TransportTimeout)
                if error is exc:
                    raise
                raise error from _safe_cause(exc)
            self.lost = False
            return answer

    def _start(self, command: str) -> RemoteProcess:
        # No cmd.exe in between: WINRS_SKIP_CMD_SHELL, so `%` and `^` stay literal.
        program, _, arguments = command.strip().partition(" ")
        # UTF-8 console code page: native tools then print non-ASCII names as the rules write them.
        shell = self.call("opening a shell", lambda p: p.open_shell(codepage=65001, noprofile=True))
        self.shells_opened += 1
        try:
            command_id = self.call(
                "starting the command",
                lambda p: p.run_command(
                    shell,
                    program,
                    [arguments] if arguments else [],
                    console_mode_stdin=False,
                    skip_cmd_shell=True,
                ),
            )
        except TransportError:
            with contextlib.suppress(TransportError):
                self.call("deleting the shell", lambda p: p.close_shell(shell, False))
            raise
        process = WinRMProcess(self, shell, command_id)
        self.commands_started += 1
        self._processes = [p for p in self._processes if not p._closed] + [process]
        return process

    def close(self) -> None:
        with self._lock:
            for process in self._processes:
                process.kill()
            self._processes.clear()
            if self._protocol is not None:
                self._protocol.transport.close_session()
                self._protocol = None


def _translate(exc: BaseException, target: WinRMTarget, doing: str) -> TransportError:
    where = target.address
    error: TransportError
    if isinstance(exc, InvalidCredentialsError):
        error = AuthenticationFailed(
            f"{target.user}@{where} refused our credentials ({target.auth.value})"
        )
    elif isinstance(exc, requests.exceptions.SSLError):
        verify = _in_chain(exc, lambda e: isinstance(e, ssl.SSLCertVerificationError))
        if verify is not None:
            reason = getattr(verify, "verify_message", "") or str(verify)
            error = CertificateRejected(f"the TLS certificate of {where} was refused: {reason}")
        else:
            error = Unreachable(f"TLS handshake with {where} failed: {_os_reason(exc)}")
    elif isinstance(exc, requests.exceptions.ConnectTimeout):
        error = TransportTimeout(
            f"connecting to {where} timed out after {target.connect_timeout:g} s"
        )
    elif isinstance(exc, requests.exceptions.Timeout):
        error = TransportTimeout(f"{where} did not answer within {target.read_timeout} s")
    elif isinstance(exc, requests.exceptions.ConnectionError):
        error = Unreachable(f"cannot reach {where}: {_os_reason(exc)}")
    elif isinstance(exc, WSManFaultError):
        denied = exc.wsman_fault_code == ACCESS_DENIED
        error = TransportError(f"{where} refused {doing}: {exc.reason}", permanent=denied)
    elif isinstance(exc, WinRMTransportError):
        error = TransportError(
            f"{where} answered HTTP {exc.code} while {doing}", permanent=exc.code < 500
        )
    elif isinstance(exc, PermissionError | SpnegoError):
        # requests-ntlm/pyspnego: no NTLM challenge offered, or a token that does not parse.
        error = TransportError(
            f"NTLM negotiation with {where} failed ({type(exc).__name__})", permanent=True
        )
    elif isinstance(exc, WinRMError):
        error = TransportError(f"WinRM error from {where}: {exc}", permanent=True)
    elif isinstance(exc, ET.ParseError | StopIteration | AssertionError | KeyError | ValueError):
        error = TransportError(f"{where} sent a malformed WS-Management answer while {doing}")
    else:
        error = TransportError(f"unexpected failure while {doing} on {where}: {exc!r}")
    error.args = (_scrub(str(error), target),)
    return error


def _safe_cause(exc: BaseException) -> BaseException | None:
    # An authentication failure's context may hold request headers: leave it out.
    return None if isinstance(exc, InvalidCredentialsError | PermissionError) else exc


def _in_chain(exc: BaseException, wanted: Callable[[BaseException], bool]) -> BaseException | None:
    """The first exception in exc's causes, contexts and wrapped reasons that is `wanted`."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo and len(seen) < 12:
        current = todo.pop(0)
        if current is None or any(current is s for s in seen):
            continue
        if wanted(current):
            return current
        seen.append(current)
        todo += [current.__cause__, current.__context__, getattr(current, "reason", None)]
        todo += [a for a in current.args if isinstance(a, BaseException)]
    return None


def _os_reason(exc: BaseException) -> str:
    """The operating system's words ("Connection refused"), else the innermost message."""
    found = _in_chain(exc, lambda e: isinstance(e, OSError) and bool(e.strerror))
    if isinstance(found, OSError) and found.strerror:
        return found.strerror
    text = str(exc)
    return text.rsplit(": ", 1)[-1][:200] if text else type(exc).__name__


def _scrub(text: str, target: WinRMTarget) -> str:
    return text.replace(target.password, "***") if target.password else text
