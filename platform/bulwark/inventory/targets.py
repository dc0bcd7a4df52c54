"""Which addresses hosts may have: AUDIT_TARGET_ALLOW and AUDIT_TARGET_DENY as the workers'
AddressPolicy. Host.clean checks literal addresses at once; the worker checks again every
address it connects to, after DNS resolution (a name can change between the two)."""

from __future__ import annotations

import ipaddress
import socket

from django.conf import settings

from workers.transports.address_policy import AddressPolicy, is_ip_literal

LOOPBACK_NAMES = ("localhost", "localhost.localdomain")


def policy() -> AddressPolicy:
    return AddressPolicy.from_lists(settings.AUDIT_TARGET_ALLOW, settings.AUDIT_TARGET_DENY)


def address_problem(address: str) -> str | None:
    """Why `address` may not be audited, or None. Names are only checked at connect time,
    except the loopback ones (RFC 6761) which are judged as 127.0.0.1."""
    text = address.strip().strip("[]").lower().rstrip(".")
    if text in LOOPBACK_NAMES or text.endswith(".localhost"):
        text = "127.0.0.1"
    text = _inet_aton_form(text) or text
    if is_ip_literal(text) and not policy().allows(text):
        return "this address may not be audited (AUDIT_TARGET_ALLOW / AUDIT_TARGET_DENY)"
    return None


def _inet_aton_form(text: str) -> str | None:
    """The address the C resolver gives shorthand IPv4 forms ("127.1", "0x7f000001",
    "2130706433"): getaddrinfo accepts them, so they are judged as what they mean."""
    if not text or not all(c in "0123456789abcdefx." for c in text) or text.count(".") > 3:
        return None
    try:
        return str(ipaddress.IPv4Address(socket.inet_aton(text)))
    except OSError:
        return None
