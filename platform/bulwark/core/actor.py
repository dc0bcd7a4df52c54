"""Who is acting: the signed-in user of the current web request, or no one (a command, a shell,
a worker), so that models can tell a trusted change from one a group member made."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

# The HttpRequest being served. DRF's token and session authentication write the user they
# find back onto it, so `.user` is right for the pages, the admin and the API alike.
_request: ContextVar[HttpRequest | None] = ContextVar("bulwark_request", default=None)


class ActorMiddleware:
    """Remember the request for the length of the response (put after AuthenticationMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


def current_request() -> HttpRequest | None:
    return _request.get()


def in_request() -> bool:
    return _request.get() is not None


def current_user() -> Any | None:
    """The user of the current request (possibly anonymous), None outside any request."""
    request = _request.get()
    return getattr(request, "user", None) if request is not None else None


def is_trusted() -> bool:
    """No web request (management commands, the shell, workers: whoever runs them already holds
    the credential keys) or a superuser's request."""
    if not in_request():
        return True
    user = current_user()
    return bool(user is not None and user.is_authenticated and user.is_superuser)
