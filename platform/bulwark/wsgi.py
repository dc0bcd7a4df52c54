"""WSGI entry point for gunicorn and runserver (the demo)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.append(str(ROOT / "platform"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bulwark.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402 - needs sys.path set first

application = get_wsgi_application()

# The embedded default (no broker) fires schedules from this process (one per data folder).
from bulwark.embedded import start_scheduler  # noqa: E402 - needs Django set up first

start_scheduler()
