"""The suite-wide network guard (tests/conftest.py) stops a test before it leaves the machine."""

from __future__ import annotations

import socket

import pytest


def test_an_outside_address_is_refused_before_any_packet() -> None:
    with socket.socket() as sock, pytest.raises(OSError, match="only loopback"):
        sock.connect(("10.0.0.9", 5986))


def test_loopback_is_allowed() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.socket() as client:
            client.connect(server.getsockname())
