"""Suite-wide guard: tests talk only to this machine and to the test hosts' own namespaces.

This workplace watches for traffic to any other address (private ranges included), so a test
that would connect elsewhere fails at once instead, naming the address.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.durations import longest_first, recorded
from tests.parallel import assign_groups
from tests.parallel import xdist_groups as xdist_groups  # autouse: what require_group asks
from tests.slow import refuse_heavy, unmarked_heavy_tests

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


# Heavy tests (hosts, browsers, whole Bulwarks) must be marked slow: tests/slow.py.
# tryfirst: before `-m` deselects anything (every run checks every test) and before xdist reads
# the groups.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    unmarked = unmarked_heavy_tests(items)
    if unmarked:
        raise pytest.UsageError(
            "tests that start hosts or a browser must be marked slow "
            "(`pytestmark = pytest.mark.slow`):\n  " + "\n  ".join(unmarked)
        )
    assign_groups(items)  # before xdist reads the groups: tests/parallel.py
    if os.environ.get("PYTEST_XDIST_WORKER"):
        longest_first(items, recorded())  # the order xdist hands the work out: tests/durations.py


@pytest.fixture(autouse=True)
def heavy_only_when_slow(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """In a test not marked slow, starting a test host or a Bulwark process fails."""
    if request.node.get_closest_marker("slow"):
        return
    refuse_heavy(request.node.nodeid, monkeypatch)
