"""The address policy for WinRM: requests resolves names itself, so the check is made on the
socket's peer address right after it connects, before a byte (TLS hello included) is sent."""

from __future__ import annotations

import socket
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from workers.transports.address_policy import AddressPolicy, TargetForbidden


class _Guarded:
    """Mixin for urllib3 connections: refuse a peer outside the policy."""

    address_policy: AddressPolicy | None = None

    def _new_conn(self) -> socket.socket:
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        peer = str(sock.getpeername()[0])
        policy = self.address_policy
        if policy is not None and not policy.allows(peer):
            sock.close()
            raise TargetForbidden(f"address {peer} is not allowed for audits")
        return sock


def _pools(policy: AddressPolicy) -> dict[str, type[Any]]:
    guarded_http = type("GuardedHTTP", (_Guarded, HTTPConnection), {"address_policy": policy})
    guarded_https = type("GuardedHTTPS", (_Guarded, HTTPSConnection), {"address_policy": policy})
    http_pool = type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": guarded_http})
    https_pool = type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": guarded_https})
    return {"http": http_pool, "https": https_pool}


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections obey an AddressPolicy."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        manager: urllib3.PoolManager = self.poolmanager
        manager.pool_classes_by_scheme = _pools(self._policy)


def guard(winrm_transport: Any, policy: AddressPolicy) -> None:
    """Make every session pywinrm builds for this transport use the guarded adapter. pywinrm
    sends its first request from inside build_session when it sets up message encryption, so
    the adapter goes on there too, before that request."""
    build, setup_encryption = winrm_transport.build_session, winrm_transport.setup_encryption

    def mount(session: requests.Session) -> requests.Session:
        if not getattr(session, "bulwark_guarded", False):
            adapter = GuardedAdapter(policy)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            session.bulwark_guarded = True  # type: ignore[attr-defined]
        return session

    def setup_encryption_guarded(session: requests.Session) -> None:
        setup_encryption(mount(session))

    winrm_transport.setup_encryption = setup_encryption_guarded
    winrm_transport.build_session = lambda: mount(build())
