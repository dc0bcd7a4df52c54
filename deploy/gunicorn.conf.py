"""gunicorn settings for the Bulwark web process (`gunicorn -c deploy/gunicorn.conf.py`).

Every value can be changed from the environment (documented in deploy/env.example).
"""

from __future__ import annotations

import os

wsgi_app = "bulwark.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Requests are short database reads; threads keep memory low on small machines. With the
# embedded default (no broker), "audit now" runs the audit inside the request: allow for it.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Logs to stdout/stderr, where the container runtime collects them. The access log has no
# bodies and no headers, so no token or credential can reach it.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
