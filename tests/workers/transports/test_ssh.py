"""The SSH transport against real sshd test hosts: streams, keys, host keys, errors, sudo, jumps."""

from __future__ import annotations

import base64
import logging
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from lab.commands import run_command
from lab.harness import HostSpec, TestHost, TestHosts, TestUser
from workers.transports.base import (
    AuthenticationFailed,
    HostKeyChanged,
    HostKeyUnknown,
    RemoteProcess,
    TransportError,
    TransportTimeout,
    Unreachable,
)
from workers.transports.ssh import SSHTarget, SSHTransport, SudoMode

pytestmark = pytest.mark.slow  # make test-fast leaves it out

pytest_plugins = ("tests.hosts.fixtures",)

BOB_PASSWORD = "bob-Pw 7#q'$(x)"  # quotes, spaces and $( ): it must never reach a shell line
NINA_PASSWORD = "nina-pw-2"
PAT_PASSWORD = "pat-pw-3"
PASSPHRASE = "correct horse battery"


def _key(kind: str, passphrase: str | None = None, pem: bool = False) -> tuple[str, str]:
    """A fresh (private text, public line) pair; `pem` gives the legacy PEM format."""
    key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    formats = serialization.PrivateFormat
    private_format = formats.TraditionalOpenSSL if pem else formats.OpenSSH
    private = key.private_bytes(serialization.Encoding.PEM, private_format, encryption).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, public.decode()


KEYS = {
    "ed25519": _key("ed25519"),
    "rsa": _key("rsa"),
    "ecdsa": _key("ecdsa"),
    "ed25519-passphrase": _key("ed25519", PASSPHRASE),
    "rsa-pem-passphrase": _key("rsa", PASSPHRASE, pem=True),
}
UNAUTHORIZED_KEY = _key("ed25519")


@pytest.fixture(scope="module")
def host(test_hosts: TestHosts) -> Iterator[TestHost]:
    spec = HostSpec(
        "ssh-target",
        users=[
            TestUser("bob", password=BOB_PASSWORD, sudo="password"),
            TestUser("nina", password=NINA_PASSWORD, sudo="nopasswd"),
            TestUser("pat", password=PAT_PASSWORD),
        ],
        authorized_keys=[public for _, public in KEYS.values()],
    )
    started = test_hosts.start(spec)
    yield started
    started.stop()


def _read_until(process: RemoteProcess, marker: bytes, timeout: float = 10.0) -> bytes:
    data = b""
    while marker not in data:
        chunk = process.read(65536, timeout)
        if not chunk:
            raise AssertionError(f"EOF before {marker!r}: {data!r}")
        data += chunk
    return data


def _read_all(process: RemoteProcess, timeout: float = 10.0) -> bytes:
    data = b""
    while chunk := process.read(65536, timeout):
        data += chunk
    return data


def test_it_runs_a_command_and_round_trips_stdin(host: TestHost) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB, every byte value: more than one window
    with SSHTransport(host.ssh_target()) as transport:
        result = run_command(transport, "id -u; hostname; cat", stdin=payload, timeout=30)
    assert result.exit_status == 0
    assert result.stdout == b"0\nssh-target\n" + payload


def test_it_streams_stages_over_one_channel(host: TestHost) -> None:
    with SSHTransport(host.ssh_target()) as transport:
        process = transport.start("sh -s")
        process.write(b"echo stage-one; echo '--end 1--'\n")
        assert _read_until(process, b"--end 1--\n") == b"stage-one\n--end 1--\n"
        with pytest.raises(TransportTimeout):
            process.read(100, 0.3)  # nothing more until the next stage is written
        process.write(b"echo stage-two >&2; echo stage-two\n")
        process.write(b"exit 3\n")
        process.close_stdin()
        assert _read_all(process) == b"stage-two\n"
        status, stderr = process.finish(5)
        assert (status, stderr) == (3, b"stage-two\n")
        assert transport.executions == 1
        assert transport.channels_opened == 1


def test_it_opens_one_channel_per_start_on_one_connection(host: TestHost) -> None:
    with SSHTransport(host.ssh_target()) as transport:
        for expected in (1, 2, 3):
            assert run_command(transport, "true").exit_status == 0
            assert transport.channels_opened == expected
        ssh = transport._ssh
        assert ssh is not None
        run_command(transport, "true")
        assert transport._ssh is ssh  # the connection is reused, not reopened


def test_it_sets_tcp_nodelay_on_its_socket(host: TestHost) -> None:
    with SSHTransport(host.ssh_target()) as transport:
        transport.connect()
        assert transport._ssh is not None
        sock = transport._ssh.sock
        assert isinstance(sock, socket.socket)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


@pytest.mark.parametrize("name", sorted(KEYS))
def test_it_logs_in_with_each_key_type(host: TestHost, name: str) -> None:
    private, _ = KEYS[name]
    target = host.ssh_target(
        private_key=private, passphrase=PASSPHRASE if "passphrase" in name else None
    )
    with SSHTransport(target) as transport:
        assert run_command(transport, "echo ok").stdout == b"ok\n"


def test_it_reads_a_private_key_file(host: TestHost, tmp_path: Path) -> None:
    private, _ = KEYS["ed25519-passphrase"]
    path = tmp_path / "key"
    path.write_text(private)
    target = host.ssh_target(private_key=None, private_key_file=str(path), passphrase=PASSPHRASE)
    with SSHTransport(target) as transport:
        assert run_command(transport, "echo ok").stdout == b"ok\n"


def test_it_logs_in_with_a_password(host: TestHost) -> None:
    target = host.ssh_target(user="pat", private_key=None, password=PAT_PASSWORD)
    with SSHTransport(target) as transport:
        assert run_command(transport, "id -un").stdout == b"pat\n"


def test_it_keeps_secrets_out_of_repr(host: TestHost) -> None:
    target = host.ssh_target(password=BOB_PASSWORD, passphrase=PASSPHRASE)
    text = repr(target) + repr(SSHTransport(target))
    assert BOB_PASSWORD not in text and PASSPHRASE not in text and "PRIVATE KEY" not in text


def test_it_refuses_an_unknown_host_key_by_default(host: TestHost) -> None:
    transport = SSHTransport(host.ssh_target(host_key=None))
    with pytest.raises(HostKeyUnknown) as caught:
        run_command(transport, "true")
    assert caught.value.permanent
    assert transport.channels_opened == 0
    fingerprint = paramiko.Ed25519Key(data=_blob(host.host_key_line)).fingerprint
    assert fingerprint in str(caught.value)


def test_it_refuses_a_changed_host_key_naming_both_fingerprints(host: TestHost) -> None:
    _, other = _key("ed25519")
    transport = SSHTransport(host.ssh_target(host_key=other, trust_on_first_use=True))
    with pytest.raises(HostKeyChanged) as caught:
        run_command(transport, "true")
    error = caught.value
    pinned = paramiko.Ed25519Key(data=_blob(other)).fingerprint
    seen = paramiko.Ed25519Key(data=_blob(host.host_key_line)).fingerprint
    assert (error.expected, error.seen) == (pinned, seen)
    assert pinned in str(error) and seen in str(error) and seen.startswith("SHA256:")
    assert error.permanent


def test_trust_on_first_use_returns_the_key_to_pin(host: TestHost) -> None:
    with SSHTransport(host.ssh_target(host_key=None, trust_on_first_use=True)) as transport:
        assert run_command(transport, "true").exit_status == 0
        seen = transport.seen_host_keys().host
    assert seen is not None and host.host_key_line.startswith(seen)
    with SSHTransport(host.ssh_target(host_key=seen)) as pinned:
        assert run_command(pinned, "true").exit_status == 0


def test_it_accepts_known_hosts_lines_and_files(host: TestHost, tmp_path: Path) -> None:
    name = f"[{host.address}]:{host.port}"
    hashed = paramiko.HostKeys.hash_host(name)
    for line in (f"{name} {host.host_key_line}", f"{hashed} {host.host_key_line}"):
        with SSHTransport(host.ssh_target(host_key=line)) as transport:
            assert run_command(transport, "true").exit_status == 0
    known_hosts = tmp_path / "known_hosts"
    _, other = _key("ed25519")
    known_hosts.write_text(f"other.example {host.host_key_line}\n{name} {host.host_key_line}\n")
    with SSHTransport(host.ssh_target(host_key=None, known_hosts_file=str(known_hosts))) as t:
        assert run_command(t, "true").exit_status == 0
    # A known_hosts line for another name pins nothing for this host.
    with pytest.raises(HostKeyUnknown):
        run_command(SSHTransport(host.ssh_target(host_key=f"other.example {other}")), "true")


@pytest.mark.parametrize(
    "overrides",
    [
        {"user": "pat", "private_key": None, "password": "not-" + PAT_PASSWORD},
        {"private_key": UNAUTHORIZED_KEY[0]},
        {"private_key": KEYS["ed25519-passphrase"][0], "passphrase": "wrong " + PASSPHRASE},
        {"private_key": KEYS["ed25519-passphrase"][0]},
    ],
    ids=["wrong-password", "wrong-key", "wrong-passphrase", "missing-passphrase"],
)
def test_a_refused_credential_is_a_permanent_authentication_failure(
    host: TestHost, overrides: dict[str, object]
) -> None:
    transport = SSHTransport(host.ssh_target(**overrides))
    with pytest.raises(AuthenticationFailed) as caught:
        run_command(transport, "true")
    assert caught.value.permanent
    for secret in (PAT_PASSWORD, PASSPHRASE):
        assert secret not in str(caught.value)


def test_a_closed_port_is_transient_unreachable(host: TestHost) -> None:
    started = time.monotonic()
    with pytest.raises(Unreachable) as caught:
        run_command(SSHTransport(host.ssh_target(port=host.port + 1)), "true")
    assert not caught.value.permanent
    assert time.monotonic() - started < 2


def test_an_address_without_a_link_times_out_within_the_connect_timeout(
    test_hosts: TestHosts,
) -> None:
    dead = test_hosts.start(HostSpec("link-down"))
    try:
        assert dead.run_local(f"ip link set {dead.interface} down").returncode == 0
        started = time.monotonic()
        with pytest.raises((TransportTimeout, Unreachable)) as caught:
            run_command(SSHTransport(dead.ssh_target(connect_timeout=1.0)), "true")
        assert not caught.value.permanent
        assert time.monotonic() - started < 3
    finally:
        dead.stop()


def test_a_connection_that_dies_mid_stream_is_transient(test_hosts: TestHosts) -> None:
    dying = test_hosts.start(HostSpec("dying"))
    try:
        transport = SSHTransport(dying.ssh_target(io_timeout=1.5))
        process = transport.start("sh -s")
        process.write(b"echo one\n")
        assert process.read(100, 5) == b"one\n"
        dying.run_local(f"ip link set {dying.interface} down")
        started = time.monotonic()
        with pytest.raises((TransportTimeout, Unreachable)) as caught:
            process.write(b"echo two\n")
            process.read(100, 3)
        assert not caught.value.permanent
        with pytest.raises((TransportTimeout, Unreachable)):
            transport.start("true")  # the dead connection fails within io_timeout, not TCP's
        assert time.monotonic() - started < 8
        transport.close()
    finally:
        dying.stop()


def test_a_removed_host_is_transient_unreachable(test_hosts: TestHosts) -> None:
    gone = test_hosts.start(HostSpec("removed"))
    target = gone.ssh_target(connect_timeout=1.0)
    gone.stop()  # its veth is gone; the harness's unreachable route keeps 10.77/16 at home
    started = time.monotonic()
    with pytest.raises((Unreachable, TransportTimeout)) as caught:
        run_command(SSHTransport(target), "true")
    assert not caught.value.permanent
    assert time.monotonic() - started < 3


def test_a_peer_that_never_speaks_ssh_is_a_transient_timeout(host: TestHost) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts the TCP connection; nobody ever writes a banner
        target = host.ssh_target(host="127.0.0.1", port=silent.getsockname()[1], banner_timeout=1)
        started = time.monotonic()
        with pytest.raises(TransportTimeout) as caught:
            run_command(SSHTransport(target), "true")
    assert not caught.value.permanent
    assert time.monotonic() - started < 4


def test_a_peer_that_hangs_up_during_negotiation_is_transient(host: TestHost) -> None:
    with socket.socket() as rude:
        rude.bind(("127.0.0.1", 0))
        rude.listen()

        def hang_up() -> None:
            connection, _ = rude.accept()
            connection.close()

        threading.Thread(target=hang_up, daemon=True).start()
        target = host.ssh_target(host="127.0.0.1", port=rude.getsockname()[1])
        with pytest.raises(Unreachable) as caught:
            run_command(SSHTransport(target), "true")
    assert not caught.value.permanent


def test_sudo_with_a_password_never_shows_the_password(
    host: TestHost, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    target = host.ssh_target(user="bob", sudo=SudoMode.PASSWORD, sudo_password=BOB_PASSWORD)
    with SSHTransport(target) as transport:
        process = transport.start("sh -s")
        process.write(b"id -u; echo started; sleep 2; echo done\n")
        process.close_stdin()
        assert _read_until(process, b"started\n") == b"0\nstarted\n"
        exposed = _processes_showing(BOB_PASSWORD.encode())
        assert _read_all(process) == b"done\n"
        status, stderr = process.finish(5)
    assert exposed == []
    # The scan itself works: it finds a marker that is on a command line.
    with subprocess.Popen(["sh", "-c", "sleep 5; :", "bwk-scan-control"]) as control:
        try:
            # Popen returns within execve, a moment before the new command line is readable.
            cmdline = Path(f"/proc/{control.pid}/cmdline")
            deadline = time.monotonic() + 5
            while not cmdline.read_bytes() and time.monotonic() < deadline:
                time.sleep(0.01)
            assert f"{control.pid}/cmdline" in _processes_showing(b"bwk-scan-control")
        finally:
            control.kill()
    assert status == 0
    assert BOB_PASSWORD.encode() not in stderr
    assert BOB_PASSWORD not in caplog.text
    assert BOB_PASSWORD not in host.log_path.read_text()


def test_sudo_refusing_the_password_is_a_permanent_failure_without_the_secret(
    host: TestHost,
) -> None:
    wrong = BOB_PASSWORD + "-wrong"
    target = host.ssh_target(user="bob", sudo=SudoMode.PASSWORD, sudo_password=wrong)
    with SSHTransport(target) as transport, pytest.raises(AuthenticationFailed) as caught:
        run_command(transport, "id -u", timeout=20)
    assert caught.value.permanent
    assert wrong not in str(caught.value) and BOB_PASSWORD not in str(caught.value)


def test_sudo_nopasswd_runs_the_command_as_root(host: TestHost) -> None:
    target = host.ssh_target(user="nina", sudo=SudoMode.NOPASSWD)
    with SSHTransport(target) as transport:
        result = run_command(
            transport, "sh -s", stdin=b"id -u\ncat /etc/shadow >/dev/null && echo read\n"
        )
    assert (result.exit_status, result.stdout) == (0, b"0\nread\n")


def test_a_password_is_dropped_when_sudo_asks_for_none(host: TestHost) -> None:
    # nina needs no password: the first stdin line must not reach the command.
    target = host.ssh_target(user="nina", sudo=SudoMode.PASSWORD, sudo_password=NINA_PASSWORD)
    with SSHTransport(target) as transport:
        result = run_command(transport, "cat", stdin=b"script line\n")
    assert result.stdout == b"script line\n"


def test_sudo_nopasswd_without_the_right_is_a_permanent_failure(host: TestHost) -> None:
    target = host.ssh_target(user="bob", sudo=SudoMode.NOPASSWD)
    with SSHTransport(target) as transport, pytest.raises(AuthenticationFailed) as caught:
        run_command(transport, "id -u")
    assert caught.value.permanent


def test_a_jump_host_reaches_the_target_and_pins_both_keys(test_hosts: TestHosts) -> None:
    jump, inner = test_hosts.start_many([HostSpec("jump"), HostSpec("inner")])
    try:
        test_hosts.link(jump, inner)
        target = inner.ssh_target(jump=jump.ssh_target())
        with SSHTransport(target) as transport:
            assert run_command(transport, "hostname").stdout == b"inner\n"
            assert transport.channels_opened == 1
            seen = transport.seen_host_keys()
            assert seen.jump and jump.host_key_line.startswith(seen.jump)
            assert seen.host and inner.host_key_line.startswith(seen.host)
        wrong_jump = inner.ssh_target(jump=jump.ssh_target(host_key=inner.host_key_line))
        with pytest.raises(HostKeyChanged, match="jump host"):
            run_command(SSHTransport(wrong_jump), "true")
        with pytest.raises(HostKeyUnknown, match="jump host"):
            run_command(SSHTransport(inner.ssh_target(jump=jump.ssh_target(host_key=None))), "true")
        wrong_inner = inner.ssh_target(host_key=jump.host_key_line, jump=jump.ssh_target())
        with pytest.raises(HostKeyChanged) as caught:
            run_command(SSHTransport(wrong_inner), "true")
        assert "jump host" not in str(caught.value)
        closed = inner.ssh_target(port=inner.port + 1, jump=jump.ssh_target())
        with pytest.raises(Unreachable):
            run_command(SSHTransport(closed), "true")
    finally:
        jump.stop()
        inner.stop()


def test_it_rejects_a_target_without_credentials() -> None:
    with pytest.raises(ValueError):
        SSHTarget("10.77.0.2")
    with pytest.raises(ValueError):
        SSHTarget("10.77.0.2", password="x", sudo=SudoMode.PASSWORD, sudo_password="a\nb")
    with pytest.raises(ValueError):
        SSHTarget("10.77.0.2", password="x", host_key="ssh-ed25519 not-base64!")


def test_errors_are_transport_errors() -> None:
    for error in (AuthenticationFailed, HostKeyUnknown, Unreachable, TransportTimeout):
        assert issubclass(error, TransportError)


def _blob(line: str) -> bytes:
    return base64.b64decode(line.split()[1])


def _processes_showing(secret: bytes) -> list[str]:
    """Every process on this machine whose command line or environment holds `secret`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        for part in ("cmdline", "environ"):
            try:
                if secret in (proc / part).read_bytes():
                    found.append(f"{proc.name}/{part}")
            except OSError:
                continue
    return found


def test_it_reaches_a_host_that_allows_only_the_rfc_curve25519_name(
    test_hosts: TestHosts,
) -> None:
    strict = test_hosts.start(
        HostSpec(
            name="kexstrict", files={"/etc/ssh/sshd_config": "KexAlgorithms curve25519-sha256\n"}
        )
    )
    with SSHTransport(strict.ssh_target()) as transport:
        assert run_command(transport, "echo ok").stdout == b"ok\n"
