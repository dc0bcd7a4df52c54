"""The SSH transport: run the collector on a host over one paramiko session channel.

Host keys are pinned (or trusted on first use when asked for), the TCP socket is ours (connect
timeout, TCP_NODELAY), and every paramiko or socket failure becomes one of base.py's typed errors.
"""

from __future__ import annotations

import contextlib
import shlex
import socket
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum

import paramiko
from paramiko.ssh_exception import IncompatiblePeer

from workers.transports.address_policy import AddressPolicy, TargetForbidden, is_ip_literal
from workers.transports.base import (
    AuthenticationFailed,
    HostKeyUnknown,
    RemoteProcess,
    SeenHostKeys,
    Transport,
    TransportError,
    TransportTimeout,
    Unreachable,
)
from workers.transports.ssh_keys import load_private_key, parse_pins, verify_host_key

STDERR_CAP = 64 * 1024
# Written by the sudo wrappers below when sudo will not run our command; never host output.
SUDO_REFUSED = b"bulwark-sudo-refused"
SUDO_REFUSED_STATUS = 125

# `sudo -n`: check first, so a refusal is told apart from the command's own failure.
_NOPASSWD_WRAPPER = (
    "sudo -n true 2>/dev/null || { echo bulwark-sudo-refused >&2; exit 125; }; "
    'exec sudo -n -- sh -c "$1"'
)
# The password is the first line of stdin. It reaches sudo only through pipes fed by the shell
# builtin printf: never a command line, never the environment. `-v` first so a wrong password
# fails once instead of sudo retrying on the script's lines; `-k` so sudo always reads the line
# it is given (a cached timestamp would hand it to the command). When sudo needs no password
# at all the line is just dropped.
_SUDO_STDIN_WRAPPER = (
    "IFS= read -r p || exit 125; "
    'if sudo -n -k true 2>/dev/null; then exec sudo -n -- sh -c "$1"; fi; '
    "printf '%s\\n' \"$p\" | sudo -S -k -p '' -v "
    "|| { echo bulwark-sudo-refused >&2; exit 125; }; "
    "{ printf '%s\\n' \"$p\"; unset p; exec cat; } | sudo -S -k -p '' -- sh -c \"$1\""
)


class SudoMode(StrEnum):
    """How the collector gets root: not at all, `sudo -n`, or sudo with a password on stdin."""

    NONE = "none"
    NOPASSWD = "nopasswd"
    PASSWORD = "password"  # noqa: S105 - a mode, not a secret


@dataclass(frozen=True)
class SSHTarget:
    """Where and how to log in to one host. Secrets are fields with repr=False.

    `host_key` holds pinned keys, one per line: OpenSSH public key lines ("ssh-ed25519 AAAA...")
    or known_hosts lines; `known_hosts_file` adds a file of the latter.
    """

    host: str
    port: int = 22
    user: str = "root"
    private_key: str | None = field(default=None, repr=False)
    private_key_file: str | None = None
    passphrase: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    host_key: str | None = None
    known_hosts_file: str | None = None
    trust_on_first_use: bool = False
    sudo: SudoMode = SudoMode.NONE
    # Defaults to `password` when sudo is PASSWORD and this is None.
    sudo_password: str | None = field(default=None, repr=False)
    jump: SSHTarget | None = None
    # Checked on every address connected to (after DNS resolution); None: anywhere.
    address_policy: AddressPolicy | None = None
    connect_timeout: float = 10.0
    banner_timeout: float = 10.0
    auth_timeout: float = 15.0
    # Opening a channel, each blocked write, and how long unacknowledged data means a dead peer.
    io_timeout: float = 30.0
    keepalive_interval: int = 30

    def __post_init__(self) -> None:
        object.__setattr__(self, "sudo", SudoMode(self.sudo))
        if not 0 < self.port < 65536:
            raise ValueError(f"port out of range: {self.port}")
        if self.private_key is not None and self.private_key_file is not None:
            raise ValueError("give private_key or private_key_file, not both")
        if self.private_key is None and self.private_key_file is None and self.password is None:
            raise ValueError("no credential: give a private key or a password")
        if self.sudo is SudoMode.PASSWORD:
            secret = self.sudo_secret
            if not secret:
                raise ValueError("sudo mode 'password' needs sudo_password or password")
            if "\n" in secret or "\r" in secret or "\0" in secret:
                raise ValueError("the sudo password cannot contain a line break or NUL")
        for timeout in (self.connect_timeout, self.banner_timeout, self.auth_timeout):
            if timeout <= 0:
                raise ValueError("timeouts must be positive")
        parse_pins(self)  # fail early on a malformed pin

    @property
    def sudo_secret(self) -> str | None:
        return self.sudo_password if self.sudo_password is not None else self.password

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def secrets(self) -> list[str]:
        """Every secret of this target and its jump host, to scrub from messages."""
        own = [self.password, self.passphrase, self.sudo_password]
        return [s for s in own if s] + (self.jump.secrets() if self.jump else [])


class SSHProcess(RemoteProcess):
    """A command on an exec channel: stdout streamed, stderr drained to a cap as we go."""

    def __init__(self, channel: paramiko.Channel, target: SSHTarget) -> None:
        self._channel = channel
        self._target = target
        self._stderr = bytearray()

    def write(self, data: bytes) -> None:
        self._channel.settimeout(self._target.io_timeout)
        try:
            self._channel.sendall(data)
        except TimeoutError as exc:
            raise TransportTimeout(
                f"{self._target.address} took no input for {self._target.io_timeout:g} s"
            ) from exc
        except OSError as exc:
            self._raise_if_lost()
            raise TransportError("the remote process no longer reads its input") from exc

    def close_stdin(self) -> None:
        if not self._channel.closed:
            self._channel.shutdown_write()

    def read(self, max_bytes: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            self._drain_stderr()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TransportTimeout(f"no output within {timeout:.1f} s")
            # Short slices so stderr keeps being drained: it shares the channel's window.
            self._channel.settimeout(min(remaining, 0.2))
            try:
                data: bytes = self._channel.recv(max_bytes)
            except TimeoutError:
                continue
            if data:
                return data
            self._raise_if_lost()
            if self._target.sudo is not SudoMode.NONE:
                self._channel.status_event.wait(min(max(deadline - time.monotonic(), 0.1), 5))
                self._drain_stderr()
                self._raise_if_sudo_refused()
            return b""

    def finish(self, timeout: float) -> tuple[int | None, bytes]:
        deadline = time.monotonic() + timeout
        while not self._channel.status_event.wait(0.2):
            self._drain_stderr()
            if time.monotonic() >= deadline:
                self.kill()
                raise TransportTimeout(f"process did not exit within {timeout:.1f} s")
        self._drain_stderr()
        self._raise_if_lost()
        self._raise_if_sudo_refused()
        status = self._channel.recv_exit_status()
        self._channel.close()
        return (status if status >= 0 else None), bytes(self._stderr)

    def kill(self) -> None:
        # Closing the channel is all SSH offers without a pty: the collector then sees EOF on
        # stdin and SIGPIPE on stdout, and its own per-command timeouts end the rest.
        if not self._channel.closed:
            self._channel.close()

    def _drain_stderr(self) -> None:
        while self._channel.recv_stderr_ready():
            chunk = self._channel.recv_stderr(65536)
            if not chunk:
                return
            self._stderr += chunk[: max(STDERR_CAP - len(self._stderr), 0)]

    def _raise_if_lost(self) -> None:
        transport = self._channel.get_transport()
        alive = transport is not None and transport.is_active()
        # Not exit_status_ready(): a channel closed by a dying connection is "ready" too.
        if not alive and self._channel.exit_status < 0:
            raise Unreachable(f"connection to {self._target.address} lost")

    def _raise_if_sudo_refused(self) -> None:
        if (
            self._target.sudo is not SudoMode.NONE
            and self._channel.exit_status_ready()
            and self._channel.recv_exit_status() == SUDO_REFUSED_STATUS
            and SUDO_REFUSED in self._stderr
        ):
            how = "the sudo password" if self._target.sudo is SudoMode.PASSWORD else "sudo -n"
            raise AuthenticationFailed(
                f"{self._target.user}@{self._target.address}: sudo refused {how}"
            )


@dataclass(eq=False)
class SSHTransport(Transport):
    """One SSH connection (opened lazily, reused) to one host, optionally through a jump host.

    `channels_opened` counts session channels on the target; `seen_host_key` and
    `seen_jump_host_key` hold what the hosts presented, as OpenSSH public key lines.
    """

    target: SSHTarget
    channels_opened: int = field(default=0, init=False)
    seen_host_key: str | None = field(default=None, init=False)
    seen_jump_host_key: str | None = field(default=None, init=False)
    _ssh: paramiko.Transport | None = field(default=None, init=False, repr=False)
    _jump: paramiko.Transport | None = field(default=None, init=False, repr=False)
    _processes: list[SSHProcess] = field(default_factory=list, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def connect(self) -> None:
        """Open the connection now (it is otherwise opened by the first start())."""
        with self._lock:
            if self._ssh is not None and self._ssh.is_active():
                return
            self._close_connections()
            try:
                self._ssh = self._open()
            except BaseException:
                self._close_connections()
                raise

    def _open(self) -> paramiko.Transport:
        target = self.target
        if target.jump is None:
            return self._login(target, _tcp_connect(target), "host")
        jump = target.jump
        if target.address_policy is not None and is_ip_literal(target.host):
            # Behind a jump host only a literal can be checked here: the jump host resolves names.
            target.address_policy.check(target.host, where=f"host {target.address}")
        self._jump = self._login(jump, _tcp_connect(jump), "jump host")
        try:
            channel = self._jump.open_channel(
                "direct-tcpip",
                (target.host, target.port),
                ("127.0.0.1", 0),
                timeout=target.connect_timeout,
            )
        except paramiko.ChannelException as exc:
            raise Unreachable(
                f"jump host {jump.address} could not connect to {target.address}: {exc.text}"
            ) from exc
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise TransportTimeout(
                f"jump host {jump.address} did not reach {target.address} "
                f"within {target.connect_timeout:g} s"
            ) from exc
        return self._login(target, channel, "host")

    def _login(
        self, target: SSHTarget, sock: socket.socket | paramiko.Channel, role: str
    ) -> paramiko.Transport:
        ssh = _negotiate(target, sock, role)
        try:
            key = ssh.get_remote_server_key()
            line = f"{key.get_name()} {key.get_base64()}"
            if role == "host":
                self.seen_host_key = line
            else:
                self.seen_jump_host_key = line
            pinned = verify_host_key(target, key, role)
            if not pinned and _sends_a_password(target, role):
                # A key accepted on first use proves nothing about who we talk to: a password
                # sent now (login or sudo) could go to anyone who took over the address.
                raise HostKeyUnknown(
                    f"host key of {role} {target.address} is not pinned: a password is only "
                    "sent to a host whose key is pinned (pin it, or log in with a key)"
                )
            _authenticate(ssh, target, role, allow_password=pinned)
            if target.keepalive_interval > 0:
                ssh.set_keepalive(target.keepalive_interval)
        except BaseException:
            ssh.close()
            raise
        return ssh

    def seen_host_keys(self) -> SeenHostKeys:
        return SeenHostKeys(self.seen_host_key, self.seen_jump_host_key)

    def _start(self, command: str) -> RemoteProcess:
        self.connect()
        ssh = self._ssh
        target = self.target
        if ssh is None:
            raise Unreachable(f"connection to {target.address} lost")
        try:
            channel = ssh.open_session(timeout=target.io_timeout)
        except paramiko.ChannelException as exc:
            raise TransportError(f"{target.address} refused a session: {exc.text}") from exc
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise Unreachable(f"cannot open a session on {target.address}: {exc}") from exc
        with self._lock:
            self.channels_opened += 1
        try:
            channel.exec_command(_remote_command(command, target.sudo))
            secret = target.sudo_secret
            if target.sudo is SudoMode.PASSWORD and secret is not None:
                channel.settimeout(target.io_timeout)
                channel.sendall(secret.encode() + b"\n")
        except (paramiko.SSHException, EOFError, OSError) as exc:
            channel.close()
            raise Unreachable(f"cannot start the command on {target.address}") from exc
        process = SSHProcess(channel, target)
        with self._lock:
            self._processes = [p for p in self._processes if not p._channel.closed]
            self._processes.append(process)
        return process

    def close(self) -> None:
        with self._lock:
            for process in self._processes:
                process.kill()
            self._processes.clear()
            self._close_connections()

    def _close_connections(self) -> None:
        for ssh in (self._ssh, self._jump):
            if ssh is not None:
                ssh.close()
        self._ssh = self._jump = None


def _remote_command(command: str, sudo: SudoMode) -> str:
    if sudo is SudoMode.NONE:
        return command
    wrapper = _NOPASSWD_WRAPPER if sudo is SudoMode.NOPASSWD else _SUDO_STDIN_WRAPPER
    # The command travels as $1: no second level of quoting inside the wrapper.
    return f"sh -c {shlex.quote(wrapper)} bulwark-sudo {shlex.quote(command)}"


class _QuickAckSocket(socket.socket):
    """A socket that acknowledges what it receives at once.

    After login sshd sends a message we do not answer, then holds its next small reply (Nagle)
    until we ACK; our kernel delays that ACK ~40 ms. Measured: the first channel open took 44 ms,
    with this 1 ms.
    """

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        data = super().recv(bufsize, flags)
        if data and _TCP_QUICKACK is not None:
            with contextlib.suppress(OSError):
                self.setsockopt(socket.IPPROTO_TCP, _TCP_QUICKACK, 1)
        return data


_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)  # Linux only


def _tcp_connect(target: SSHTarget) -> socket.socket:
    """Our own socket: paramiko never sets TCP_NODELAY, and Nagle costs ~44 ms an exchange."""
    deadline = time.monotonic() + target.connect_timeout
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Unreachable(f"cannot resolve {target.host}: {exc.strerror}") from exc
    error: OSError | None = None
    policy = target.address_policy
    forbidden = [
        str(a[4][0]) for a in infos if policy is not None and not policy.allows(str(a[4][0]))
    ]
    for family, kind, proto, _, address in infos:
        if address[0] in forbidden:
            continue  # we connect to the very address checked: no second resolution to fool
        sock = _QuickAckSocket(family, kind, proto)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if hasattr(socket, "TCP_USER_TIMEOUT"):
                # A dead peer fails the socket once our data (keepalives included) stays
                # unacknowledged this long; paramiko alone would wait for TCP's ~15 minutes.
                timeout_ms = int(target.io_timeout * 1000)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, timeout_ms)
            sock.settimeout(max(deadline - time.monotonic(), 0.001))
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    if error is None and forbidden:
        raise TargetForbidden(f"{target.address}: address {forbidden[0]} is not allowed for audits")
    if isinstance(error, TimeoutError):
        raise TransportTimeout(
            f"connecting to {target.address} timed out after {target.connect_timeout:g} s"
        ) from error
    reason = error.strerror if error is not None and error.strerror else str(error)
    raise Unreachable(f"cannot connect to {target.address}: {reason}") from error


def _negotiate(
    target: SSHTarget, sock: socket.socket | paramiko.Channel, role: str
) -> paramiko.Transport:
    """Exchange banners and keys; translate failures (a silent peer is a timeout)."""
    ssh = paramiko.Transport(sock)
    ssh.banner_timeout = target.banner_timeout
    ssh.handshake_timeout = target.banner_timeout
    ssh.auth_timeout = target.auth_timeout
    _prefer_pinned_key_types(ssh, target)
    _offer_standard_curve25519_name(ssh)
    done = threading.Event()
    where = f"{role} {target.address}"
    try:
        ssh.start_client(event=done)
        if not done.wait(target.banner_timeout * 2 + 1):
            raise TransportTimeout(f"SSH negotiation with {where} did not finish in time")
        if not ssh.is_active():
            raise _negotiation_error(ssh.get_exception(), where, target)
    except BaseException:
        ssh.close()
        raise
    return ssh


def _negotiation_error(exc: Exception | None, where: str, target: SSHTarget) -> TransportError:
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 5:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    error: TransportError
    if any(isinstance(e, TimeoutError) for e in chain):
        error = TransportTimeout(f"{where} sent no SSH banner within {target.banner_timeout:g} s")
    elif isinstance(exc, IncompatiblePeer):
        error = TransportError(f"{where} speaks no SSH we accept: {exc}", permanent=True)
    elif any(isinstance(e, EOFError | ConnectionError) for e in chain):
        error = Unreachable(f"{where} closed the connection during SSH negotiation")
    else:
        error = Unreachable(_scrub(f"SSH negotiation with {where} failed: {exc}", target))
    error.__cause__ = exc
    return error


def _offer_standard_curve25519_name(ssh: paramiko.Transport) -> None:
    """Also offer `curve25519-sha256` (RFC 8731), the same exchange paramiko knows only as
    `curve25519-sha256@libssh.org`: a host hardened with `KexAlgorithms curve25519-sha256`
    alone (a common CIS remediation) would otherwise refuse us."""
    kex_info = paramiko.Transport._kex_info  # type: ignore[attr-defined]
    if "curve25519-sha256" not in kex_info and "curve25519-sha256@libssh.org" in kex_info:
        kex_info["curve25519-sha256"] = kex_info["curve25519-sha256@libssh.org"]
    options = ssh.get_security_options()
    offered = list(options.kex)
    if "curve25519-sha256" not in offered and "curve25519-sha256@libssh.org" in offered:
        offered.insert(offered.index("curve25519-sha256@libssh.org") + 1, "curve25519-sha256")
        options.kex = tuple(offered)


def _prefer_pinned_key_types(ssh: paramiko.Transport, target: SSHTarget) -> None:
    """Ask first for the key types we pinned, so a host with several keys shows a pinned one."""
    wanted: list[str] = []
    for key in parse_pins(target):
        name = key.get_name()
        wanted += ["rsa-sha2-512", "rsa-sha2-256", name] if name == "ssh-rsa" else [name]
    options = ssh.get_security_options()
    available = list(options.key_types)
    options.key_types = tuple(dict.fromkeys([k for k in wanted if k in available] + available))


def _sends_a_password(target: SSHTarget, role: str) -> bool:
    if target.password is not None and target.private_key is None and not target.private_key_file:
        return True
    return role == "host" and target.sudo is SudoMode.PASSWORD


def _authenticate(
    ssh: paramiko.Transport, target: SSHTarget, role: str, *, allow_password: bool
) -> None:
    key = load_private_key(target, role)
    where = f"{target.user}@{target.address} ({role})"
    tried: list[str] = []
    for method in ("publickey", "password"):
        try:
            if method == "publickey" and key is not None:
                tried.append(method)
                ssh.auth_publickey(target.user, key)
            elif method == "password" and target.password is not None and allow_password:
                tried.append(method)
                ssh.auth_password(target.user, target.password)
        except paramiko.BadAuthenticationType:
            continue
        except paramiko.AuthenticationException as exc:
            text = str(exc)
            if "timeout" in text:
                raise TransportTimeout(
                    f"{where} did not answer authentication within {target.auth_timeout:g} s"
                ) from exc
            if "transport shut down" in text:
                raise Unreachable(f"{where} closed the connection during login") from exc
            continue
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise Unreachable(f"connection to {where} lost during login") from exc
        if ssh.is_authenticated():
            return
    raise AuthenticationFailed(f"{where} refused our credentials (tried {', '.join(tried)})")


def _scrub(text: str, target: SSHTarget) -> str:
    for secret in target.secrets():
        text = text.replace(secret, "***")
    return text
