"""A WS-Management (WinRM) server for tests: unmodified pywinrm talks to it as to Windows.

It implements the shell protocol pywinrm uses (Create shell, Command, Send, Receive with
chunked stdout/stderr streams, exit code and CommandState Done, Signal, Delete) in SOAP
envelopes with MessageID/RelatesTo, over HTTP or HTTPS, with Basic and NTLM authentication
(pyspnego's NTLM acceptor, so also NTLM message encryption over HTTP). Commands run on a
WindowsMachine: `powershell.exe ... -Command -` is answered stage by stage from the collector's
request lists; anything else is emulated once (tests/hosts/windows_commands.py).
"""

from __future__ import annotations

import base64
import os
import re
import ssl
import struct
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import spnego
from spnego.exceptions import SpnegoError

from tests.hosts.windows_commands import run_command
from tests.hosts.windows_machine import WindowsMachine
from tests.hosts.windows_script import reads_script_from_stdin, run_script
from tests.hosts.wsman import Envelope, fault, parse_envelope, respond
from tests.serving import serve_in_thread

# cmd.exe, which WinRM's cmd shell runs each Command through, refuses longer lines.
CMD_LINE_LIMIT = 8191

ENCRYPTED = b"--Encrypted Boundary"
SPNEGO_ENCRYPTED = "application/HTTP-SPNEGO-session-encrypted"
_POWERSHELL_STDIN = re.compile(r"(?i)^\S*powershell(\.exe)?\s.*-command\s+-\s*$")
_NTLM_USERS: dict[str, str] = {}
_NTLM_LOCK = threading.Lock()


def _register_ntlm_users(users: dict[str, str]) -> None:
    """pyspnego's NTLM acceptor reads accounts from the file named by $NTLM_USER_FILE."""
    with _NTLM_LOCK:
        _NTLM_USERS.update(users)
        path = Path(tempfile.gettempdir()) / f"bulwark-ntlm-users-{os.getpid()}"
        path.write_text("".join(f":{u}:{p}\n" for u, p in _NTLM_USERS.items()))
        path.chmod(0o600)
        os.environ["NTLM_USER_FILE"] = str(path)


class FakeCommand:
    """One command in a shell: an interactive PowerShell fed by Send, or a one-shot run."""

    def __init__(self, server: WinRMServer, line: str) -> None:
        self.server = server
        self.line = line
        self.id = str(uuid.uuid4()).upper()
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.stdin = bytearray()
        self.done = False
        self.exit_code = 0
        self.interactive = bool(_POWERSHELL_STDIN.match(line))
        self.script_on_stdin = reads_script_from_stdin(line)
        if len(line) > CMD_LINE_LIMIT:  # cmd.exe runs the command and refuses it, as on Windows
            self.interactive = False
            self.stderr += b"The command line is too long.\r\n"
            self.exit_code = 1
            self.done = True
        elif not self.interactive and not self.script_on_stdin:
            machine = server.machine
            status, output = run_command(machine, machine.expand(line))
            self.stdout += output
            if status == "noexec":
                self.stderr += f"'{line.split()[0]}' is not recognized as a command.\r\n".encode()
                self.exit_code = 1
            else:
                self.exit_code = int(status[3:]) if status.startswith("rc=") else 1
            self.done = True

    def feed(self, data: bytes, end: bool) -> None:
        """stdin arrives (called with the server lock held)."""
        if self.script_on_stdin and not self.done:
            self.stdin += data
            if end:
                status, output = run_script(self.server.machine, self.stdin.decode("utf-8"))
                self.stdout += output
                self.exit_code = int(status[3:]) if status.startswith("rc=") else 1
                self.done = True
                self.server.changed.notify_all()
            return
        if not self.interactive or self.done:
            return
        self.stdin += data
        while b"\n" in self.stdin:
            line, _, rest = bytes(self.stdin).partition(b"\n")
            self.stdin = bytearray(rest)
            self._statement(line)
        if end:
            self._statement(bytes(self.stdin))
            self.done = True
        self.server.changed.notify_all()

    def _statement(self, raw: bytes) -> None:
        text = raw.rstrip(b"\r").decode("latin-1")
        if not text.strip():
            return
        self.server.statements.append(text)
        answer = self.server.machine.answer_line(text)
        if answer is None:
            self.stderr += b"The term is not recognized as a cmdlet, function or program.\r\n"
        elif self.server.stage_delay:
            timer = threading.Timer(self.server.stage_delay, self._late, (answer,))
            timer.daemon = True
            timer.start()
        else:
            self.stdout += answer

    def _late(self, answer: bytes) -> None:
        with self.server.changed:
            self.stdout += answer
            self.server.changed.notify_all()


class WinRMServer:
    """A WS-Management endpoint at https?://127.0.0.1:<port>/wsman serving one machine."""

    def __init__(
        self,
        machine: WindowsMachine,
        *,
        users: dict[str, str] | None = None,
        auth: tuple[str, ...] = ("basic", "ntlm"),
        tls: tuple[Path, Path] | None = None,
        host: str = "127.0.0.1",
        max_envelope: int = 512000,
        chunk: int = 32768,
        stage_delay: float = 0.0,
    ) -> None:
        self.machine = machine
        self.users = users or {"bulwark": "Audit-Pass-1"}
        self.auth = auth
        self.max_envelope = max_envelope
        self.chunk = chunk
        self.stage_delay = stage_delay
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.shells: dict[str, dict[str, FakeCommand]] = {}
        self.shells_created = 0
        self.commands: list[str] = []  # command lines started, in order
        self.statements: list[str] = []  # stdin lines run by interactive PowerShells
        self.actions: list[str] = []  # WS-Management actions served (last path part)
        self.largest_request = 0
        self.encrypted_requests = 0  # SOAP requests that came NTLM-sealed
        self._tls: ssl.SSLContext | None = None
        if tls is not None:
            self._tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls.load_cert_chain(str(tls[0]), str(tls[1]))
        if "ntlm" in auth:
            _register_ntlm_users(self.users)
        self._http = _HTTPServer((host, 0), _Handler)
        self._http.winrm = self
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{self._http.server_address[0]}:{self.port}/wsman"

    def start(self) -> Self:
        self._thread = serve_in_thread(self._http)
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        with self.changed:
            self.changed.notify_all()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- WS-Management ---------------------------------------------------------------------------

    def handle(self, body: bytes) -> tuple[int, bytes]:
        """One SOAP request -> (HTTP status, SOAP response)."""
        self.largest_request = max(self.largest_request, len(body))
        try:
            request = parse_envelope(body)
        except ValueError as exc:
            return fault(None, "s:Sender", "w:InvalidMessage", 2150858752, str(exc))
        if len(body) > self.max_envelope:
            return fault(request, "s:Sender", "w:EncodingLimit", 2150858817, "envelope too large")
        self.actions.append(request.action.rsplit("/", 1)[-1])
        with self.changed:
            return self._dispatch(request)

    def _dispatch(self, request: Envelope) -> tuple[int, bytes]:
        kind = request.action.rsplit("/", 1)[-1]
        if kind == "Create":
            shell_id = str(uuid.uuid4()).upper()
            self.shells[shell_id] = {}
            self.shells_created += 1
            return respond(request, "CreateResponse", _created(shell_id))
        shell = self.shells.get(request.shell_id or "")
        if shell is None:
            return fault(request, "s:Sender", "w:InvalidSelectors", 2150858843, "no such shell")
        if kind == "Delete":
            for command in shell.values():
                command.done = True
            del self.shells[request.shell_id or ""]
            self.changed.notify_all()
            return respond(request, "DeleteResponse", "")
        if kind == "Command":
            line = f"{request.text('rsp:Command')} {request.text('rsp:Arguments')}".strip()
            command = FakeCommand(self, line)
            shell[command.id] = command
            self.commands.append(line)
            body = f"<rsp:CommandResponse><rsp:CommandId>{command.id}</rsp:CommandId>"
            return respond(request, "CommandResponse", body + "</rsp:CommandResponse>")
        command = shell.get(request.command_id or "")
        if command is None:
            return fault(request, "s:Sender", "w:InvalidParameter", 2150858754, "no command")
        if kind == "Send":
            data = base64.b64decode(request.text("rsp:Stream") or "")
            command.feed(data, request.stream_end)
            return respond(request, "SendResponse", "<rsp:SendResponse/>")
        if kind == "Signal":
            command.done = True
            self.changed.notify_all()
            return respond(request, "SignalResponse", "<rsp:SignalResponse/>")
        if kind == "Receive":
            return self._receive(request, command)
        return fault(request, "s:Sender", "w:ActionNotSupported", 2150858801, kind)

    def _receive(self, request: Envelope, command: FakeCommand) -> tuple[int, bytes]:
        self.changed.wait_for(
            lambda: command.stdout or command.stderr or command.done,
            timeout=request.operation_timeout,
        )
        if not (command.stdout or command.stderr or command.done):
            return fault(request, "s:Receiver", "w:TimedOut", 2150858793, "operation timed out")
        parts, budget = [], 3 * self.chunk
        for name, buffer in (("stdout", command.stdout), ("stderr", command.stderr)):
            while buffer and budget > 0:
                piece = bytes(buffer[: min(self.chunk, budget)])
                del buffer[: len(piece)]
                budget -= len(piece)
                data = base64.b64encode(piece).decode()
                stream = f'<rsp:Stream Name="{name}" CommandId="{command.id}">'
                parts.append(f"{stream}{data}</rsp:Stream>")
        finished = command.done and not command.stdout and not command.stderr
        state = "Done" if finished else "Running"
        uri = f"http://schemas.microsoft.com/wbem/wsman/1/windows/shell/CommandState/{state}"
        if finished:
            for name in ("stdout", "stderr"):
                parts.append(f'<rsp:Stream Name="{name}" CommandId="{command.id}" End="true"/>')
            code = f"<rsp:ExitCode>{command.exit_code}</rsp:ExitCode>"
            parts.append(f'<rsp:CommandState CommandId="{command.id}" State="{uri}">{code}')
            parts.append("</rsp:CommandState>")
        else:
            parts.append(f'<rsp:CommandState CommandId="{command.id}" State="{uri}"/>')
        body = "<rsp:ReceiveResponse>" + "".join(parts) + "</rsp:ReceiveResponse>"
        return respond(request, "ReceiveResponse", body)


def _created(shell_id: str) -> str:
    return (
        "<x:ResourceCreated><a:Address>http://localhost/wsman</a:Address>"
        "<a:ReferenceParameters><w:ResourceURI>"
        "http://schemas.microsoft.com/wbem/wsman/1/windows/shell/cmd</w:ResourceURI>"
        f'<w:SelectorSet><w:Selector Name="ShellId">{shell_id}</w:Selector></w:SelectorSet>'
        f"</a:ReferenceParameters></x:ResourceCreated><rsp:Shell><rsp:ShellId>{shell_id}"
        "</rsp:ShellId></rsp:Shell>"
    )


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    winrm: WinRMServer

    def finish_request(self, request: Any, client_address: Any) -> None:
        context = self.winrm._tls
        if context is not None:
            try:
                request = context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return  # the client refused our certificate, or went away
        super().finish_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """One TCP connection: NTLM authenticates the connection, Basic every request."""

    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.ntlm: Any = None
        self.ntlm_done = False

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        winrm = self.server.winrm
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if not self._authenticated(winrm):
            return
        encrypted = self.headers.get("Content-Type", "").startswith("multipart/encrypted")
        if encrypted:
            body = self._decrypt(body)
            winrm.encrypted_requests += 1 if body else 0
        if not body:  # pywinrm's empty POST that sets up message encryption
            self._send(200, b"", {})
            return
        status, answer = winrm.handle(body)
        headers = {"Content-Type": "application/soap+xml;charset=UTF-8"}
        if encrypted:
            answer = self._encrypt(answer)
            headers["Content-Type"] = (
                f'multipart/encrypted;protocol="{SPNEGO_ENCRYPTED}";boundary="Encrypted Boundary"'
            )
        self._send(status, answer, headers)

    def _authenticated(self, winrm: WinRMServer) -> bool:
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic" and "basic" in winrm.auth:
            user, _, password = base64.b64decode(token).decode("utf-8", "replace").partition(":")
            if winrm.users.get(user) == password:
                return True
        elif scheme.lower() in ("negotiate", "ntlm") and "ntlm" in winrm.auth:
            if self.ntlm is None or self.ntlm.complete:
                self.ntlm = spnego.server(protocol="ntlm")
                self.ntlm_done = False
            try:
                out = self.ntlm.step(base64.b64decode(token))
            except SpnegoError:
                self.ntlm = None
            else:
                if self.ntlm.complete:
                    self.ntlm_done = True
                    return True
                challenge = f"{scheme} {base64.b64encode(out or b'').decode()}"
                self._send(401, b"", {"WWW-Authenticate": challenge})
                return False
        elif not scheme and self.ntlm_done:
            return True  # NTLM authenticated this connection earlier
        offers = (["Negotiate"] if "ntlm" in winrm.auth else []) + (
            ['Basic realm="WSMAN"'] if "basic" in winrm.auth else []
        )
        self._send(401, b"", {"WWW-Authenticate": ", ".join(offers)})
        return False

    def _decrypt(self, body: bytes) -> bytes:
        parts = [p for p in body.split(ENCRYPTED + b"\r\n") if p]
        payload = parts[1].removesuffix(ENCRYPTED + b"--\r\n")
        payload = payload.replace(b"\tContent-Type: application/octet-stream\r\n", b"", 1)
        size = struct.unpack("<i", payload[:4])[0]
        signature, sealed = payload[4 : 4 + size], payload[4 + size :]
        return bytes(self.ntlm.unwrap(signature + sealed).data)

    def _encrypt(self, message: bytes) -> bytes:
        wrapped = self.ntlm.wrap(message, encrypt=True).data
        signature, sealed = wrapped[:16], wrapped[16:]
        return (
            ENCRYPTED + b"\r\n\tContent-Type: " + SPNEGO_ENCRYPTED.encode() + b"\r\n"
            b"\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length="
            + str(len(message)).encode() + b"\r\n" + ENCRYPTED + b"\r\n"
            b"\tContent-Type: application/octet-stream\r\n"
            + struct.pack("<i", len(signature)) + signature + sealed
            + ENCRYPTED + b"--\r\n"
        )  # fmt: skip

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
