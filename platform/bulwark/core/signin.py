"""Who is signing in, for the failed-login limits: the peer address, or the client address
that TRUSTED_PROXY_COUNT proxies in front of Bulwark put in X-Forwarded-For."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def client_ip(request: HttpRequest) -> str | None:
    peer = request.META.get("REMOTE_ADDR")
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0))
    if proxies <= 0:
        return peer
    # Each trusted proxy appends the address it saw; anything further left is client-supplied.
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [h for h in hops if h]
    return hops[-proxies] if len(hops) >= proxies else peer


class LockoutBackend(AxesStandaloneBackend):
    """axes' lock-out check for sign-ins that come with a request (pages, admin, API). Code
    that authenticates without one (the test client's login(), a shell) is not an attacker
    at the door: it skips the check instead of failing."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)  # type: ignore[no-any-return]


def locked_out(request: HttpRequest, *args: Any) -> HttpResponse:
    """axes' answer to a locked-out sign-in (AXES_LOCKOUT_CALLABLE): a page in the reader's
    language (axes' own is an English sentence), with the same status (429)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "cooloff_minutes": minutes}
    return render(request, "web/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
