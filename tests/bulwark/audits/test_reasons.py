"""Finding: `error_reason` echoed what the far end said (banners, HTTP statuses), making audits
a probe of the network. Users now get a fixed vocabulary; the details stay in the worker log."""

from __future__ import annotations

import http.server
import logging
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from bulwark.audits import reasons, services
from bulwark.audits.models import Audit, AuditStatus
from bulwark.inventory.models import Credential, Group, Host
from tests.serving import serve_in_thread

BANNER = "SSH-1.0-internal-billing-db-7.3\r\nsecret-banner\r\n"


@pytest.fixture
def banner_port() -> Iterator[int]:
    """A TCP listener that sends a banner that is not an SSH one, then closes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            conn.sendall(BANNER.encode())
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    server.close()


class _Internal(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = b"internal admin console v2 - secret-banner"
        self.send_response(404, "Not Found secret-banner")
        self.send_header("Server", "secret-banner/1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Internal)
    serve_in_thread(server)
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_an_ssh_host_that_is_some_other_service_says_only_that(
    catalogue: None,
    group: Group,
    make_credential: Callable[..., Credential],
    queued_audit: Callable[[Host], Audit],
    banner_port: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = Host.objects.create(
        name="probe",
        address="127.0.0.1",
        port=banner_port,
        group=group,
        credential=make_credential(kind=Credential.Kind.SSH_PASSWORD),
        host_key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
    )
    audit = queued_audit(host)
    with caplog.at_level(logging.INFO):
        services.run_audit(audit.pk)
    audit.refresh_from_db()
    assert audit.status in (AuditStatus.ERROR, AuditStatus.QUEUED)
    assert "secret-banner" not in audit.error_reason and "billing" not in audit.error_reason
    assert audit.error_reason in (reasons.NOT_AUDITABLE, reasons.UNREACHABLE)
    assert f"127.0.0.1:{banner_port}" in caplog.text  # the details are in the worker log


def test_a_winrm_host_that_is_a_web_console_says_only_that(
    catalogue: None,
    group: Group,
    make_credential: Callable[..., Credential],
    queued_audit: Callable[[Host], Audit],
    http_port: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    host = Host.objects.create(
        name="console",
        address="127.0.0.1",
        port=http_port,
        transport=Host.TransportKind.WINRM,
        winrm_allow_http=True,
        group=group,
        credential=make_credential(kind=Credential.Kind.WINRM),
    )
    audit = queued_audit(host)
    with caplog.at_level(logging.INFO):
        services.run_audit(audit.pk)
    audit.refresh_from_db()
    assert audit.error_reason == reasons.NOT_AUDITABLE
    assert "404" not in audit.error_reason and "secret-banner" not in audit.error_reason
    assert "404" in caplog.text
