"""What an audit error tells the users: a fixed vocabulary, never what the far end said.

A host address can point anywhere a group admin likes, so an error that echoed banners, HTTP
statuses or TLS details would turn audits into a probe of the network. The full message goes
to the worker log only. Messages Bulwark writes itself about its own inventory (a missing
credential, an unconfirmed destination, a pin) carry no remote text and are kept.
"""

from __future__ import annotations

from bulwark.inventory.connections import ConnectionRefused
from workers.transports.address_policy import TargetForbidden
from workers.transports.base import (
    AuthenticationFailed,
    CertificateRejected,
    HostKeyChanged,
    HostKeyUnknown,
    TransportError,
    TransportTimeout,
    Unreachable,
)

REFUSED = "connection refused"
UNREACHABLE = "host unreachable (no route, or the connection was closed)"
TIMED_OUT = "timed out"
NOT_AUDITABLE = "not an SSH or WinRM service we can audit (negotiation failed)"
AUTH_FAILED = "authentication failed"
SUDO_REFUSED = "authentication failed: sudo refused"
CERTIFICATE = "TLS certificate rejected (unknown CA, wrong name or expired)"
FORBIDDEN = "address not allowed for audits (AUDIT_TARGET_ALLOW / AUDIT_TARGET_DENY)"
CONNECTION_ERROR = "connection error"


def public_reason(exc: TransportError) -> str:
    if isinstance(exc, ConnectionRefused | HostKeyChanged | HostKeyUnknown):
        return str(exc)  # our own words: the inventory, or fingerprints we computed
    if isinstance(exc, TargetForbidden):
        return FORBIDDEN
    if isinstance(exc, AuthenticationFailed):
        return SUDO_REFUSED if "sudo refused" in str(exc) else AUTH_FAILED
    if isinstance(exc, CertificateRejected):
        return CERTIFICATE
    if isinstance(exc, TransportTimeout):
        return TIMED_OUT
    if isinstance(exc, Unreachable):
        return REFUSED if _caused_by(exc, ConnectionRefusedError) else UNREACHABLE
    return NOT_AUDITABLE if exc.permanent else CONNECTION_ERROR


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen = 0
    cause: BaseException | None = exc
    while cause is not None and seen < 6:
        if isinstance(cause, kind):
            return True
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return False
