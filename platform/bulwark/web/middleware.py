"""Activates a signed-in user's own language and time zone (web.Preference) for the request;
without one, the browser's language (LocaleMiddleware) and the server's TIME_ZONE apply."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation


class UserPreferences:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        from bulwark.web.models import Preference

        user = getattr(request, "user", None)
        preference = None
        if user is not None and user.is_authenticated:
            preference = Preference.objects.filter(user=user).first()
        if preference and preference.language:
            translation.activate(preference.language)
            request.LANGUAGE_CODE = preference.language  # type: ignore[attr-defined]
        if preference and preference.time_zone:
            try:
                timezone.activate(zoneinfo.ZoneInfo(preference.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)
