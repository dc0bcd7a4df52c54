"""The Celery application (named celery_app, never celery.py, not to shadow the library).

Workers: `celery -A bulwark.celery_app worker`; beat: `celery -A bulwark.celery_app beat`.
Settings come from Django's, prefixed CELERY_ (see settings.py).
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bulwark.settings")

# The task class sends tasks to the embedded pool when no broker is set (bulwark/embedded.py).
app = Celery("bulwark", task_cls="bulwark.embedded:EmbeddedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
