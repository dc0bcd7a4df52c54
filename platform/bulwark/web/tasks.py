"""The web app's background task: alert e-mails, sent after the alert's commit."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="web.mail_alert", ignore_result=True)
def mail_alert(alert_id: int) -> int:
    """E-mail one alert to its readers (bulwark/web/alert_mail.py)."""
    from bulwark.web.alert_mail import send

    return send(alert_id)
