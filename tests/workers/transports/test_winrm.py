"""The WinRM transport against the WS-Management test server: TLS, auth, errors, streaming."""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import Iterator

import pytest

from lab.commands import run_command
from tests.hosts.winrm_support import PASSWORD, PKI, target
from workers.collect.powershell import COMMAND, render_stage
from workers.transports.base import (
    AuthenticationFailed,
    CertificateRejected,
    TransportError,
    TransportTimeout,
    Unreachable,
)
from workers.transports.winrm import WinRMAuth, WinRMTarget, WinRMTransport, kerberos_available

pytest_plugins = ("tests.hosts.winrm_fixtures",)


def _stage_line(text: str = "") -> bytes:
    """A stdin line the test machine answers with an empty stage (just its END frame)."""
    line = render_stage([], boundary="BWK-T", stage=1, fact_cap=10, command_timeout=1, first=False)
    return line.encode() + text.encode()


def _run(transport: WinRMTransport) -> bytes:
    result = run_command(transport, COMMAND, _stage_line(), timeout=20)
    assert result.exit_status == 0
    return result.stdout


# -- targets ----------------------------------------------------------------------------------


def test_it_refuses_plain_http_unless_the_host_allows_it() -> None:
    with pytest.raises(ValueError, match="allow_http"):
        WinRMTarget("win1", "u", "p", https=False)
    allowed = WinRMTarget("win1", "u", "p", https=False, allow_http=True)
    assert allowed.endpoint == "http://win1:5985/wsman"
    assert WinRMTarget("win1", "u", "p").endpoint == "https://win1:5986/wsman"
    assert WinRMTarget("fe80::1", "u", "p", port=443).endpoint == "https://[fe80::1]:443/wsman"


def test_it_keeps_the_password_out_of_repr_and_checks_its_settings() -> None:
    found = WinRMTarget("win1", "admin", PASSWORD)
    assert PASSWORD not in repr(found) and "admin" in repr(found)
    with pytest.raises(ValueError, match="password"):
        WinRMTarget("win1", "admin", None, auth=WinRMAuth.NTLM)
    with pytest.raises(ValueError, match="timeouts"):
        WinRMTarget("win1", "admin", "p", operation_timeout=30, read_timeout=30)
    with pytest.raises(ValueError, match="port"):
        WinRMTarget("win1", "admin", "p", port=70000)
    assert WinRMTarget("win1", "admin", auth="kerberos").auth is WinRMAuth.KERBEROS


@pytest.mark.skipif(kerberos_available(), reason="a Kerberos library is installed here")
def test_kerberos_without_the_extra_is_a_clear_permanent_error() -> None:
    transport = WinRMTransport(WinRMTarget("127.0.0.1", "admin", auth="kerberos"))
    with pytest.raises(TransportError, match=r"pywinrm\[kerberos\]") as caught:
        transport.start(COMMAND)
    assert caught.value.permanent


# -- TLS ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["ntlm", "basic"])
def test_it_runs_over_https_when_the_host_ca_is_given(windows_server, pki: PKI, auth) -> None:
    server = windows_server(tls=pki.localhost)
    with WinRMTransport(target(server, auth=auth, ca_bundle=str(pki.ca.cert_path))) as t:
        assert _run(t) == b"BWK-T END 1 0\n"
        assert (t.shells_opened, t.commands_started, t.executions) == (1, 1, 1)
    assert server.actions[:2] == ["Create", "Command"] and server.actions[-1] == "Delete"


@pytest.mark.parametrize(
    ("cert", "bundle", "reason"),
    [
        ("untrusted", "ca", "unable to get local issuer certificate"),
        ("wrong_name", "ca", "mismatch"),
        ("localhost", None, "unable to get local issuer certificate"),
    ],
)
def test_a_wrong_certificate_is_refused_by_default(
    windows_server, pki: PKI, cert, bundle, reason
) -> None:
    server = windows_server(tls=getattr(pki, cert))
    ca_bundle = str(pki.ca.cert_path) if bundle else None
    transport = WinRMTransport(target(server, ca_bundle=ca_bundle))
    with transport, pytest.raises(CertificateRejected, match=reason) as caught:
        transport.start(COMMAND)
    assert caught.value.permanent
    assert server.shells_created == 0


def test_certificate_checks_can_be_turned_off_per_host(windows_server, pki: PKI) -> None:
    server = windows_server(tls=pki.untrusted)
    with WinRMTransport(target(server, verify_certificate=False)) as transport:
        assert _run(transport).endswith(b"END 1 0\n")


# -- HTTP and message encryption ------------------------------------------------------------------


def test_ntlm_over_http_encrypts_every_message(windows_server) -> None:
    server = windows_server()
    with WinRMTransport(target(server, auth="ntlm")) as transport:
        assert _run(transport).endswith(b"END 1 0\n")
    assert server.encrypted_requests == len(server.actions) > 0


def test_basic_over_http_is_plain_only_because_the_host_allows_it(windows_server) -> None:
    server = windows_server()
    with WinRMTransport(target(server, auth="basic")) as transport:
        assert _run(transport).endswith(b"END 1 0\n")
    assert server.encrypted_requests == 0


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["ntlm", "basic"])
def test_a_wrong_password_is_permanent_and_never_echoed(windows_server, auth) -> None:
    server = windows_server()
    wrong = "wrong-" + PASSWORD
    transport = WinRMTransport(target(server, auth=auth, password=wrong))
    with transport, pytest.raises(AuthenticationFailed) as caught:
        transport.start(COMMAND)
    assert caught.value.permanent
    assert wrong not in str(caught.value) and PASSWORD not in str(caught.value)
    assert caught.value.__cause__ is None  # nothing with request headers attached
    assert server.shells_created == 0


def test_basic_refused_by_an_ntlm_only_host_is_an_authentication_failure(windows_server) -> None:
    server = windows_server(auth=("ntlm",))
    transport = WinRMTransport(target(server, auth="basic"))
    with transport, pytest.raises(AuthenticationFailed):
        transport.start(COMMAND)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_closed_port_is_transient() -> None:
    transport = WinRMTransport(
        WinRMTarget("127.0.0.1", "u", "p", port=_free_port(), https=False, allow_http=True)
    )
    with pytest.raises(Unreachable, match="refused") as caught:
        transport.start(COMMAND)
    assert not caught.value.permanent


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A local port whose accept queue is full: new connections get no answer at all."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    clients = []
    for _ in range(4):
        client = socket.socket()
        client.setblocking(False)
        client.connect_ex(("127.0.0.1", port))
        clients.append(client)
    time.sleep(0.2)
    yield port
    for sock in [*clients, listener]:
        sock.close()


def test_an_unreachable_host_times_out_as_transient(full_backlog: int) -> None:
    spec = WinRMTarget("127.0.0.1", "u", "p", port=full_backlog, https=False, allow_http=True)
    transport = WinRMTransport(dataclasses.replace(spec, connect_timeout=0.5))
    started = time.monotonic()
    with pytest.raises(TransportTimeout, match="connecting") as caught:
        transport.start(COMMAND)
    assert not caught.value.permanent
    assert time.monotonic() - started < 5


@pytest.mark.slow  # a timer: waits out a read timeout
def test_a_silent_server_is_a_read_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts (the kernel does) but never answers
    port = int(listener.getsockname()[1])
    try:
        spec = WinRMTarget("127.0.0.1", "u", "p", port=port, https=False, allow_http=True)
        spec = dataclasses.replace(spec, operation_timeout=1, read_timeout=2)
        with pytest.raises(TransportTimeout) as caught:
            WinRMTransport(spec).start(COMMAND)
        assert not caught.value.permanent
    finally:
        listener.close()


# -- streaming ------------------------------------------------------------------------------------


def test_large_input_goes_out_in_several_send_messages(windows_server) -> None:
    server = windows_server(max_envelope=40_000)
    with WinRMTransport(target(server, auth="basic", send_chunk=16 * 1024)) as transport:
        padding = "#" * 200_000 + "\n"  # a long comment line, then a stage
        out = run_command(transport, COMMAND, padding.encode() + _stage_line(), timeout=20)
    assert out.stdout.endswith(b"END 1 0\n")
    assert server.actions.count("Send") >= 13
    assert server.largest_request < 40_000


@pytest.mark.slow  # a timer: waits out read timeouts
def test_a_read_waits_no_longer_than_asked(windows_server) -> None:
    server = windows_server(stage_delay=3.0)
    with WinRMTransport(target(server, auth="basic", operation_timeout=5)) as transport:
        process = transport.start(COMMAND)
        process.write(_stage_line())
        started = time.monotonic()
        with pytest.raises(TransportTimeout):
            process.read(1024, 1.0)
        assert time.monotonic() - started < 2.5  # the host held the Receive for ~1 s only
        data = process.read(1024, 10.0)
        assert data.endswith(b"END 1 0\n")
        process.close_stdin()
        assert process.finish(10.0)[0] == 0


def test_closing_the_transport_ends_the_command_and_its_shell(windows_server) -> None:
    server = windows_server()
    transport = WinRMTransport(target(server, auth="basic"))
    transport.start(COMMAND)
    assert len(server.shells) == 1
    transport.close()
    assert server.shells == {}
    assert "Signal" in server.actions


def test_errors_from_the_host_are_typed(windows_server) -> None:
    server = windows_server()
    with WinRMTransport(target(server, auth="basic")) as transport:
        process = transport.start(COMMAND)
        server.shells.clear()  # the host forgot the shell (service restart)
        with pytest.raises(TransportError, match="refused") as caught:
            process.write(b"x\n")
        assert not caught.value.permanent
