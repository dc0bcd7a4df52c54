"""What an audit error tells the users: a fixed vocabulary, never what the far end said.

A host address can point anywhere a group admin likes, so an error that echoed banners, HTTP
statuses or TLS details would turn audits into a probe of the network. The full message goes
to the worker log only. Messages Bulwark writes itself about its own inventory (a missing
credential, an unconfirmed destination, a pin) carry no remote text and are kept.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext, gettext_lazy

from bulwark.inventory.connections import REFUSALS, ConnectionRefused
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


# Stored reasons stay English (the API, webhooks and logs carry them as they are); pages, alerts
# and e-mails show them through `translated`, which knows the vocabulary above and the other
# reasons Bulwark writes itself. The workers are Django-free: their texts are translated here.
NO_POLICIES = "no enabled policies: run manage.py sync_rulesets"
NOT_ASSIGNED = "no enabled policy is assigned to this host or its group"

_PHRASES = {
    REFUSED: gettext_lazy("connection refused"),
    UNREACHABLE: gettext_lazy("host unreachable (no route, or the connection was closed)"),
    TIMED_OUT: gettext_lazy("timed out"),
    NOT_AUDITABLE: gettext_lazy("not an SSH or WinRM service we can audit (negotiation failed)"),
    AUTH_FAILED: gettext_lazy("authentication failed"),
    SUDO_REFUSED: gettext_lazy("authentication failed: sudo refused"),
    CERTIFICATE: gettext_lazy("TLS certificate rejected (unknown CA, wrong name or expired)"),
    FORBIDDEN: gettext_lazy(
        "address not allowed for audits (AUDIT_TARGET_ALLOW / AUDIT_TARGET_DENY)"
    ),
    CONNECTION_ERROR: gettext_lazy("connection error"),
    NO_POLICIES: gettext_lazy("no enabled policies: run manage.py sync_rulesets"),
    NOT_ASSIGNED: gettext_lazy("no enabled policy is assigned to this host or its group"),
}

# Reasons with values in them: (pattern, message with the pattern's named groups).
_PATTERNS = [
    (
        re.compile(r"gave up after (?P<attempts>\d+) attempts \(worker lost or timed out\)"),
        gettext_lazy("gave up after %(attempts)s attempts (worker lost or timed out)"),
    ),
    (
        re.compile(r"gave up after (?P<attempts>\d+) attempts: the worker stopped answering"),
        gettext_lazy("gave up after %(attempts)s attempts: the worker stopped answering"),
    ),
    (
        re.compile(r"internal error \((?P<kind>\w+)\); see the worker log"),
        gettext_lazy("internal error (%(kind)s); see the worker log"),
    ),
    # workers/transports/ssh_keys.py's words (fingerprints only, nothing the host said).
    (
        re.compile(
            r"host key of (?P<role>host|jump) (?P<where>\S+) has CHANGED: pinned (?P<expected>.+), "
            r"presented (?P<kind>\S+) (?P<seen>\S+); refusing to log in \(possible interception\)"
        ),
        gettext_lazy(
            "host key of %(where)s has CHANGED: pinned %(expected)s, presented %(kind)s "
            "%(seen)s; refusing to log in (possible interception)"
        ),
    ),
    (
        re.compile(
            r"host key of (?P<role>host|jump) (?P<where>\S+) is not pinned \(presented "
            r"(?P<kind>\S+) (?P<seen>\S+)\); pin it or allow trust on first use"
        ),
        gettext_lazy(
            "host key of %(where)s is not pinned (presented %(kind)s %(seen)s); pin it or allow "
            "trust on first use"
        ),
    ),
    (
        re.compile(
            r"host key of (?P<role>host|jump) (?P<where>\S+) is not pinned: a password is only "
            r"sent to a host whose key is pinned \(pin it, or log in with a key\)"
        ),
        gettext_lazy(
            "host key of %(where)s is not pinned: a password is only sent to a host whose key "
            "is pinned (pin it, or log in with a key)"
        ),
    ),
]

# The inventory's refusals (inventory.connections.REFUSALS), by kind. "invalid" carries a
# transport target's own words about a field (workers/transports): translated below when known.
_REFUSALS = {
    "local_off": gettext_lazy(
        "host %(host)s: audits of the Bulwark machine itself are off (ALLOW_LOCAL_AUDITS)"
    ),
    "unconfirmed": gettext_lazy(
        "host %(host)s: its credential is not confirmed for the host's current destination "
        "(address, port, transport or key settings changed): a group admin re-enters the "
        "credential's secrets, or a superuser confirms the host"
    ),
    "no_credential": gettext_lazy("host %(host)s has no credential"),
    "not_ssh": gettext_lazy("credential %(credential)s is not an SSH credential"),
    "no_secret": gettext_lazy("credential %(credential)s has no secret"),
    "not_winrm": gettext_lazy("host %(host)s needs a WinRM credential"),
    "basic_http": gettext_lazy("host %(host)s: Basic authentication needs HTTPS"),
    "invalid": gettext_lazy("host %(host)s: %(problem)s"),
}
_TARGET_PROBLEMS = [
    (
        re.compile(r"port out of range: (?P<port>-?\d+)"),
        gettext_lazy("port out of range: %(port)s"),
    ),
    (
        re.compile(r"no credential: give a private key or a password"),
        gettext_lazy("no credential: give a private key or a password"),
    ),
    (
        re.compile(r"sudo mode 'password' needs sudo_password or password"),
        gettext_lazy("sudo mode 'password' needs sudo_password or password"),
    ),
    (
        re.compile(r"the sudo password cannot contain a line break or NUL"),
        gettext_lazy("the sudo password cannot contain a line break or NUL"),
    ),
    (
        re.compile(r"plain HTTP is refused for this host unless allow_http is set"),
        gettext_lazy("plain HTTP is refused for this host unless allow_http is set"),
    ),
    (
        re.compile(r"(?P<auth>\w+) authentication needs a password"),
        gettext_lazy("%(auth)s authentication needs a password"),
    ),
    (re.compile(r"host and user are required"), gettext_lazy("host and user are required")),
]


def _template_pattern(template: str) -> re.Pattern[str]:
    """`host {host} has no credential` -> a pattern with a named group per field."""
    escaped = re.escape(template)
    return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", escaped), re.S)


_REFUSAL_PATTERNS = [(kind, _template_pattern(REFUSALS[kind])) for kind in REFUSALS]


def _refusal(text: str) -> str | None:
    for kind, pattern in _REFUSAL_PATTERNS:
        if not (found := pattern.fullmatch(text)):
            continue
        values = found.groupdict()
        if kind == "invalid":
            problem = _target_problem(values["problem"])
            if problem is None:
                continue  # not one of ours: shown as stored
            values["problem"] = problem
        return str(_REFUSALS[kind]) % values
    return None


def _target_problem(text: str) -> str | None:
    return _first_match(_TARGET_PROBLEMS, text)


def _first_match(table: list[tuple[re.Pattern[str], Any]], text: str) -> str | None:
    """The message of the first pattern the whole text matches, with the pattern's values."""
    for pattern, message in table:
        if found := pattern.fullmatch(text):
            return str(message) % found.groupdict()
    return None


_GAVE_UP = re.compile(r"gave up after (?P<attempts>\d+) attempts: (?P<reason>.+)", re.S)


def translated(reason: str) -> str:
    """A stored audit error in the active language: the vocabulary and Bulwark's own reasons
    are translated; anything else (a policy's or an older version's text) is shown as stored."""
    text = reason.strip()
    if text in _PHRASES:
        return str(_PHRASES[text])
    if (matched := _first_match(_PATTERNS, text)) is not None:
        return matched
    if (refusal := _refusal(text)) is not None:
        return refusal
    if found := _GAVE_UP.fullmatch(text):
        return gettext("gave up after %(attempts)s attempts: %(reason)s") % {
            "attempts": found["attempts"],
            "reason": translated(found["reason"]),
        }
    return reason


def kind_of(exc: TransportError) -> str:
    """A transport failure's kind in the active language, for messages that also show the
    detail (test connection: the admin checking a host sees what went wrong, and where)."""
    if isinstance(exc, ConnectionRefused):
        return gettext("the inventory does not describe a usable connection")
    if isinstance(exc, HostKeyChanged):
        return gettext("the host key changed")
    if isinstance(exc, HostKeyUnknown):
        return gettext("the host key is not pinned")
    return translated(public_reason(exc))


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
