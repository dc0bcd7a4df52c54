"""The Bulwark Django project: settings, URLs, WSGI entry point, Celery application."""

from bulwark.celery_app import app as celery_app

__all__ = ["celery_app"]
