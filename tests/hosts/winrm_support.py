"""Shared pieces of the WinRM tests: the fixture machines, the test account, targets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.hosts.pki import ServerCert, TestCA
from tests.hosts.windows_machine import WindowsMachine
from tests.hosts.winrm_server import WinRMServer
from workers.transports.winrm import WinRMTarget

FIXTURES = Path(__file__).with_name("windows_fixtures")
USER = "bulwark"
PASSWORD = "Au'dit $Pass`1% \"x"  # quotes, $, backtick, % and a space: never interpreted


@dataclass(frozen=True)
class PKI:
    ca: TestCA
    other_ca: TestCA  # trusted by nobody
    localhost: ServerCert  # for 127.0.0.1 and localhost, signed by `ca`
    wrong_name: ServerCert  # signed by `ca`, for another name
    untrusted: ServerCert  # for 127.0.0.1, signed by `other_ca`


def machine(name: str) -> WindowsMachine:
    return WindowsMachine.load(FIXTURES / f"{name}.yml")


def target(server: WinRMServer, **options: Any) -> WinRMTarget:
    """A target for this server: HTTPS servers get https, HTTP ones allow_http."""
    https = server.url.startswith("https")
    defaults: dict[str, Any] = {
        "user": USER,
        "password": PASSWORD,
        "port": server.port,
        "https": https,
        "allow_http": not https,
        "operation_timeout": 2,
        "read_timeout": 10,
    }
    return WinRMTarget("127.0.0.1", **{**defaults, **options})
