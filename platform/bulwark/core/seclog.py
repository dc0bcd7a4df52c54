"""Recording security events (sign-ins, credential and host-destination changes, bindings,
memberships, policy imports) into SecurityEvent. Callers pass names of what changed; values
of secrets never reach this module."""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from bulwark.core import actor

log = logging.getLogger("bulwark.security")


def record(
    kind: str,
    target: str = "",
    *,
    detail: dict[str, Any] | None = None,
    user: Any = None,
    request: Any = None,
    username: str = "",
) -> None:
    from bulwark.core.models import SecurityEvent
    from bulwark.core.signin import client_ip

    request = request if request is not None else actor.current_request()
    user = user if user is not None else actor.current_user()
    known = user if getattr(user, "is_authenticated", False) else None
    name = username or (known.get_username() if known is not None else "")
    address = (client_ip(request) or "") if request is not None else ""
    SecurityEvent.objects.create(
        actor=known,
        actor_name=name[:150],
        address=address[:64],
        kind=kind,
        target=target[:255],
        detail=detail or {},
    )
    log.info("%s %s by %s from %s %s", kind, target, name or "-", address or "-", detail or "")


@receiver(user_logged_in)
def _signed_in(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record("signin", user.get_username(), user=user, request=request)


@receiver(user_logged_out)
def _signed_out(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        record("signout", user.get_username(), user=user, request=request)


@receiver(user_login_failed)
def _signin_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    # Django already masks the password in `credentials`; only the username is kept.
    username = str(credentials.get("username") or "")
    record("signin.failed", username, request=request, username=username)
