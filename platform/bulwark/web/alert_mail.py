"""Alert e-mails (ALERT_EMAILS): each alert goes to the active users with an e-mail address who
are members of its host's group, and to superusers, each in the reader's own language and time
zone (web.Preference; else LANGUAGE_CODE and TIME_ZONE)."""

from __future__ import annotations

import logging
import zoneinfo
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from bulwark.audits.alerts import describe
from bulwark.audits.models import AlertEvent
from bulwark.web.models import Preference

log = logging.getLogger(__name__)


def recipients(alert: AlertEvent) -> list[Any]:
    """Who may see the alert's host and has an address: its group's members and superusers."""
    users = get_user_model().objects.filter(is_active=True).exclude(email="")
    chosen = users.filter(
        Q(is_superuser=True) | Q(bulwark_memberships__group_id=alert.host.group_id)
    ).distinct()
    return list(chosen.order_by("pk"))


def message_for(alert: AlertEvent, user: Any) -> EmailMessage:
    """The alert as `user` reads it: their language, their time zone."""
    preference = Preference.objects.filter(user=user).first()
    language = (preference.language if preference else "") or settings.LANGUAGE_CODE
    zone = _zone(preference.time_zone if preference else "")
    with translation.override(language), timezone.override(zone):
        context = {
            "alert": alert,
            "text": describe(alert),
            "link": settings.PUBLIC_URL.rstrip("/") + reverse("web:host", args=[alert.host_id]),
        }
        subject = render_to_string("web/mail/alert_subject.txt", context).strip()
        body = render_to_string("web/mail/alert_body.txt", context)
    return EmailMessage(" ".join(subject.split()), body, to=[user.email])


def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def send(alert_id: int) -> int:
    """E-mail the alert to each recipient; returns how many messages were sent. A failing
    mail server is logged, never raised: the alert itself is stored already."""
    alert = AlertEvent.objects.select_related("host").filter(pk=alert_id).first()
    if alert is None:
        return 0
    messages = [message_for(alert, user) for user in recipients(alert)]
    if not messages:
        return 0
    try:
        return get_connection().send_messages(messages) or 0
    except OSError as exc:
        log.warning("alert %s: e-mail not sent: %s", alert_id, exc)
        return 0
