"""Pytest plugin for WinRM tests: `pytest_plugins = ("tests.hosts.winrm_fixtures",)`.

`pki` is a session CA (plus an unrelated one) with server certificates; `windows_server` starts
WS-Management test servers for a fixture machine and stops them after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.hosts.pki import ServerCert, TestCA
from tests.hosts.windows_machine import WindowsMachine
from tests.hosts.winrm_server import WinRMServer
from tests.hosts.winrm_support import PASSWORD, PKI, USER, machine


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    folder = tmp_path_factory.mktemp("pki")
    ca, other = TestCA(folder, "bulwark"), TestCA(folder, "other")
    return PKI(
        ca=ca,
        other_ca=other,
        localhost=ca.issue(["localhost", "127.0.0.1"], label="localhost"),
        wrong_name=ca.issue(["elsewhere.example"], label="wrong-name"),
        untrusted=other.issue(["localhost", "127.0.0.1"], label="untrusted"),
    )


@pytest.fixture
def windows_server() -> Iterator[Callable[..., WinRMServer]]:
    """Start a server: windows_server(machine or fixture name, tls=ServerCert|None, ...)."""
    started: list[WinRMServer] = []

    def start(which: WindowsMachine | str = "ws2022_stock", **options: Any) -> WinRMServer:
        cert = options.pop("tls", None)
        if isinstance(cert, ServerCert):
            options["tls"] = (cert.cert, cert.key)
        found = machine(which) if isinstance(which, str) else which
        server = WinRMServer(found, users={USER: PASSWORD}, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
