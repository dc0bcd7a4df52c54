"""Suite-wide guard: tests talk only to this machine and to the test hosts' own namespaces.

This workplace watches for traffic to any other address (private ranges included), so a test
that would connect elsewhere fails at once instead, naming the address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

# Tests that audit whole machines or real hosts (seconds each), in modules other suites own;
# `make test-fast` leaves them out. Suites of their own say `pytestmark = pytest.mark.slow`.
SLOW = (
    "tests/workers/test_ssh_audit.py",
    "tests/workers/test_audit.py::test_cis_debian12_audit_is_one_execution_and_stable",
    "tests/bulwark/audits/test_ssh_audits.py",
    "tests/bulwark/audits/test_commands.py",
    "tests/bulwark/audits/test_services.py::test_a_reaped_audit_runs_again",
    "tests/bulwark/audits/test_tasks.py::test_a_local_host_is_audited_end_to_end",
    "tests/bulwark/audits/test_tasks.py::test_a_group_schedule_is_a_beat_task",
    "tests/bulwark/inventory/test_admin.py::test_audit_now_",
    "tests/workers/collect/test_powershell.py::test_the_script_for_every_windows_policy",
    "tests/bulwark/e2e/",
    "tests/faults/",
    "tests/bulwark/web/test_browser",
    "tests/bulwark/web/test_live_progress.py",
    "tests/bulwark/web/test_operator_walk.py",
    "tests/bulwark/test_embedded.py",
    "tests/bulwark/audits/test_preview.py",
    "tests/bulwark/audits/test_demo_cleanup.py",
    "tests/rulesets/test_one_finding_once.py",
    "tests/workers/exports/test_html_browser.py",
    "tests/workers/remediation/test_fixes_proof.py",
    "tests/workers/remediation/test_windows_fixes_proof.py",
    "tests/workers/cli/test_fleet.py",
)

ALLOWED = [ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1/128", "10.77.0.0/16")]


def _check(address: Any) -> None:
    if not isinstance(address, tuple) or not address:
        return  # a Unix socket path
    host = address[0]
    if host == "localhost":
        return
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        raise OSError(f"test connected to {host!r}: tests resolve no outside names") from None
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if not any(ip in network for network in ALLOWED):
        raise OSError(f"test connected to {ip}: only loopback and test hosts are allowed")


@pytest.fixture(autouse=True, scope="session")
def only_local_network() -> Iterator[None]:
    original_connect, original_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        _check(address)
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check(address)
        return original_connect_ex(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect, socket.socket.connect_ex = original_connect, original_connect_ex  # type: ignore[method-assign]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
