"""Loopback listeners that play an attacker's endpoint and record what Bulwark sends them.

`RecordingSSHServer` accepts any login (password or key), records the passwords and the stdin
of every command; `RecordingHTTPServer` answers every WinRM request with a 401 asking for Basic
or Negotiate and records the Authorization headers. Tests assert that no secret reaches them.
"""

from __future__ import annotations

import http.server
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import paramiko

from tests.serving import serve_in_thread


@dataclass
class Recorded:
    """What a listener received."""

    connections: int = 0
    usernames: list[str] = field(default_factory=list)
    passwords: list[str] = field(default_factory=list)
    publickey_attempts: int = 0
    commands: list[str] = field(default_factory=list)
    stdin: bytearray = field(default_factory=bytearray)
    headers: list[str] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)

    def text(self) -> str:
        """Everything received, as one string to search for secrets."""
        parts = [*self.usernames, *self.passwords, *self.commands, *self.headers]
        raw = bytes(self.stdin) + b"".join(self.bodies)
        return "\n".join(parts) + raw.decode(errors="replace")


class _Interface(paramiko.ServerInterface):
    def __init__(self, recorded: Recorded) -> None:
        self.recorded = recorded

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_password(self, username: str, password: str) -> int:
        self.recorded.usernames.append(username)
        self.recorded.passwords.append(password)
        return paramiko.AUTH_SUCCESSFUL

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        self.recorded.usernames.append(username)
        self.recorded.publickey_attempts += 1
        return paramiko.AUTH_SUCCESSFUL

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: Any, command: bytes) -> bool:
        self.recorded.commands.append(command.decode(errors="replace"))
        threading.Thread(target=self._drain, args=(channel,), daemon=True).start()
        return True

    def _drain(self, channel: paramiko.Channel) -> None:
        channel.settimeout(5)
        try:
            while data := channel.recv(65536):
                self.recorded.stdin += data
        except (TimeoutError, OSError, EOFError):
            pass
        channel.send_exit_status(1)
        channel.close()


class RecordingSSHServer:
    """An SSH server on 127.0.0.1 with its own host key, accepting any credential."""

    def __init__(self) -> None:
        self.key = paramiko.Ed25519Key.from_private_key(_fresh_key())
        self.recorded = Recorded()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._transports: list[paramiko.Transport] = []

    @property
    def host_key_line(self) -> str:
        return f"{self.key.get_name()} {self.key.get_base64()}"

    def __enter__(self) -> RecordingSSHServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for transport in self._transports:
            transport.close()
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.recorded.connections += 1
            transport = paramiko.Transport(conn)
            transport.add_server_key(self.key)
            self._transports.append(transport)
            try:
                transport.start_server(server=_Interface(self.recorded))
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()


def _fresh_key() -> Any:
    import io

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = (
        ed25519.Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )
    return io.StringIO(pem)


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _HTTP

    def do_POST(self) -> None:
        recorded = self.server.recorded
        recorded.connections += 1
        recorded.headers += [f"{k}: {v}" for k, v in self.headers.items()]
        length = int(self.headers.get("Content-Length") or 0)
        recorded.bodies.append(self.rfile.read(length) if length else b"")
        self.send_response(401)
        self.send_header("WWW-Authenticate", "Negotiate")
        self.send_header("WWW-Authenticate", 'Basic realm="WSMAN"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HTTP(http.server.ThreadingHTTPServer):
    recorded: Recorded


class RecordingHTTPServer:
    """A plain HTTP listener on 127.0.0.1 playing a WinRM endpoint that wants a password."""

    def __init__(self) -> None:
        self._http = _HTTP(("127.0.0.1", 0), _Handler)
        self._http.recorded = self.recorded = Recorded()
        self.port = self._http.server_address[1]

    def __enter__(self) -> RecordingHTTPServer:
        self._thread = serve_in_thread(self._http)
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(5)
