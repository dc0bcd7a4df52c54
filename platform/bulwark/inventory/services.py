"""Inventory state changes beyond plain edits: testing a host's connection (which shows the
host key it offers) and pinning that key."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from bulwark.core.redaction import redact
from bulwark.inventory import bindings
from bulwark.inventory.connections import open_connection
from bulwark.inventory.models import Host
from workers.transports.base import HostKeyChanged, Transport, TransportError


@dataclass(frozen=True)
class ConnectionCheck:
    """What "test connection" found: whether it logged in, a message, the host key seen."""

    ok: bool
    message: str
    seen_key: str | None = None
    # The failure (None when it logged in): pages show its kind in the reader's language
    # (audits.reasons.kind_of) beside `message`'s detail.
    error: TransportError | None = None


def check_connection(host: Host, *, timeout: float = 10.0) -> ConnectionCheck:
    """Connect, log in and run `id -un`. A host with no pinned key is reached trusting its key
    this once (nothing is stored), so the key can be shown for pinning."""
    secrets: list[str] = []
    transport = None
    try:
        connection = open_connection(host, connect_timeout=timeout, show_unpinned_key=True)
        secrets, transport = connection.secrets, connection.transport
        with transport:
            user = _login_name(transport, timeout)
    except HostKeyChanged as exc:
        return ConnectionCheck(False, redact(str(exc), secrets), _seen(transport), exc)
    except TransportError as exc:
        message = f"{host.name}: {redact(str(exc), secrets)}"
        return ConnectionCheck(False, message, _seen(transport), exc)
    seen = _seen(transport)
    pinned = _("the pinned key matched") if host.host_key else _("no key pinned yet")
    message = _("%(host)s: logged in as %(user)s; %(pinned)s")
    return ConnectionCheck(
        True, message % {"host": host.name, "user": user, "pinned": pinned}, seen
    )


def pin_host_key(host: Host, key: str, *, by: object | None = None) -> None:
    """Store `key` (as seen by check_connection) as the host's pinned key, validated.

    A first pin narrows where the credential's secrets may go (from "whatever key answers at
    this address" to "this key"), so a credential bound to the unpinned destination stays
    bound (docs/security.md). Replacing a pinned key by another is not a narrowing: the
    binding then waits for someone who may set the secrets."""
    first_pin = not host.host_key.strip()
    was_bound = bindings.is_bound(host)
    host.host_key = key
    host.full_clean()
    Host.objects.filter(pk=host.pk).update(host_key=key)
    if first_pin and was_bound:
        bindings.confirm(host, by=by)


def _seen(transport: Transport | None) -> str | None:
    """The key line the host presented (None for transports without host keys, or before the
    key)."""
    return transport.seen_host_keys().host if transport is not None else None


def _login_name(transport: Transport, timeout: float) -> str:
    """`id -un` through the transport: proof that the login worked (its first line, capped)."""
    process = transport.start("id -un")
    try:
        process.close_stdin()
        output = process.read(256, timeout)
        process.finish(timeout)
    except TransportError:
        process.kill()
        raise
    return output.decode(errors="replace").strip().splitlines()[0] if output.strip() else "?"
