"""Recording security events (sign-ins, lock-outs, API tokens, account changes, credential
and host-destination changes, bindings, memberships, policy imports and switches) into
SecurityEvent. Callers pass names of what changed; values
of secrets never reach this module."""

from __future__ import annotations

import logging
from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import pre_save
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


@receiver(user_locked_out)
def _locked_out(
    sender: Any, request: Any = None, username: str | None = None, **kwargs: Any
) -> None:
    record("signin.locked_out", username or "", request=request, username=username or "")


# What about an account is security-relevant: who it is, whether it may sign in, its powers.
# The password's hash is compared, never recorded.
_ACCOUNT_FIELDS = ("username", "password", "is_active", "is_staff", "is_superuser")


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def _account_changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance.pk is None:
        return
    before = sender.objects.filter(pk=instance.pk).values(*_ACCOUNT_FIELDS).first()
    if before is None:
        return
    changed = [f for f in _ACCOUNT_FIELDS if before[f] != getattr(instance, f)]
    if changed:
        detail = {f: getattr(instance, f) for f in changed if f.startswith("is_")}
        record("account.changed", instance.get_username(), detail={"fields": changed, **detail})
