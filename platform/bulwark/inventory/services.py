"""Inventory state changes beyond plain edits: testing a host's connection (which shows the
host key it offers) and pinning that key."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bulwark.core.redaction import redact
from bulwark.inventory.connections import open_connection
from bulwark.inventory.models import Host
from workers.transports.base import HostKeyChanged, TransportError
from workers.transports.ssh import SSHTransport


@dataclass(frozen=True)
class ConnectionCheck:
    """What "test connection" found: whether it logged in, a message, the host key seen."""

    ok: bool
    message: str
    seen_key: str | None = None


def check_connection(host: Host, *, timeout: float = 10.0) -> ConnectionCheck:
    """Connect, log in and run `id -un`. A host with no pinned key is reached trusting its key
    this once (nothing is stored), so the key can be shown for pinning."""
    secrets: list[str] = []
    transport = None
    try:
        connection = open_connection(host, connect_timeout=timeout)
        secrets, transport = connection.secrets, connection.transport
        if isinstance(transport, SSHTransport) and not host.host_key:
            transport.target = dataclasses.replace(transport.target, trust_on_first_use=True)
        with transport:
            result = transport.run("id -un", timeout=timeout)
    except HostKeyChanged as exc:
        return ConnectionCheck(False, redact(str(exc), secrets), _seen(transport))
    except TransportError as exc:
        return ConnectionCheck(False, f"{host.name}: {redact(str(exc), secrets)}", _seen(transport))
    seen = _seen(transport)
    user = result.stdout.decode(errors="replace").strip() or "?"
    pinned = "the pinned key matched" if host.host_key else "no key pinned yet"
    return ConnectionCheck(True, f"{host.name}: logged in as {user}; {pinned}", seen)


def pin_host_key(host: Host, key: str) -> None:
    """Store `key` (as seen by check_connection) as the host's pinned key, validated."""
    host.host_key = key
    host.full_clean()
    Host.objects.filter(pk=host.pk).update(host_key=key)


def _seen(transport: object) -> str | None:
    """The key line the SSH host presented (None for other transports or before the key)."""
    return transport.seen_host_key if isinstance(transport, SSHTransport) else None
