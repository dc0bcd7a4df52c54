"""Django settings, every value from the environment (documented in deploy/env.example).

The embedded default needs nothing: SQLite in var/, tasks run in-process, a credential key
generated into var/ on first use. Production sets DATABASE_URL (PostgreSQL), CELERY_BROKER_URL
(Redis) and CREDENTIAL_KEYS.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from bulwark.envconfig import (
    ConfigurationError,
    database_from_url,
    env,
    env_bool,
    env_float,
    env_int,
    env_list,
)

BASE_DIR = Path(__file__).resolve().parent.parent.parent

SECRET_KEY = env("SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "bulwark.core",
    "bulwark.inventory",
    "bulwark.policies",
    "bulwark.audits",
    "bulwark.reports",
    "bulwark.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin, API docs) served by the app itself, under gunicorn and runserver.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # English or Japanese from the browser (Accept-Language); a user's own setting wins below.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "bulwark.web.middleware.UserPreferences",  # the user's language and time zone
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bulwark.urls"
WSGI_APPLICATION = "bulwark.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# -- database ---------------------------------------------------------------------------------

DATA_DIR = Path(env("BULWARK_DATA_DIR") or BASE_DIR / "var")
DATABASE_URL = env("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL, base_dir=BASE_DIR)}
else:
    # The embedded default: one SQLite file. SQLite needs its folder to exist.
    with contextlib.suppress(OSError):
        DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {"default": database_from_url("sqlite:///bulwark.sqlite3", base_dir=DATA_DIR)}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "platform" / "bulwark" / "locale"]
STATIC_URL = "static/"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"
STATIC_ROOT = Path(env("STATIC_ROOT") or DATA_DIR / "static")
# Whitenoise finds static files in the apps when STATIC_ROOT was not collected (the embedded
# default, the demo); the image runs collectstatic and serves STATIC_ROOT.
WHITENOISE_USE_FINDERS = env_bool("STATIC_USE_FINDERS", True)
with contextlib.suppress(OSError):  # whitenoise warns on every start when it is missing
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# -- REST API -----------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "bulwark.core.api.Pagination",
    "PAGE_SIZE": env_int("API_PAGE_SIZE", 50, minimum=1),
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Bulwark API",
    "DESCRIPTION": "Agentless CIS hardening audits: inventory, policies, audits, results.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Choice sets shared by several fields get one name each in the schema.
    "ENUM_NAME_OVERRIDES": {
        "HostStateEnum": "bulwark.inventory.models.HostState",
        "AuditStatusEnum": "bulwark.audits.models.AuditStatus",
        "ResultStatusEnum": "bulwark.audits.models.Result.Status",
    },
}

# -- credentials ------------------------------------------------------------------------------

# Fernet keys, newest first: the first encrypts, all decrypt (rotate by prepending a key, then
# `manage.py rotate_credentials`). Empty: the embedded default generates one into
# CREDENTIAL_KEYS_FILE on first use.
CREDENTIAL_KEYS = env_list("CREDENTIAL_KEYS")
CREDENTIAL_KEYS_FILE = Path(env("CREDENTIAL_KEYS_FILE") or DATA_DIR / "credential-keys")

# -- audits -----------------------------------------------------------------------------------

RULESETS_DIR = Path(env("RULESETS_DIR") or BASE_DIR / "rulesets")
AUDIT_INTERVAL_DAYS = env_int("AUDIT_INTERVAL_DAYS", 7, minimum=1)
AUDIT_COMMAND_TIMEOUT = env_float("AUDIT_COMMAND_TIMEOUT", 150.0, minimum=1.0)
# A claimed audit belongs to its worker this long; then the reaper (or a redelivered message)
# may run it again. Longer than any audit takes.
AUDIT_LEASE_SECONDS = env_int("AUDIT_LEASE_SECONDS", 1800, minimum=10)
AUDIT_MAX_RETRIES = env_int("AUDIT_MAX_RETRIES", 3, minimum=0)
AUDIT_RETRY_BACKOFF = env_float("AUDIT_RETRY_BACKOFF", 30.0, minimum=0.0)
AUDIT_REAP_INTERVAL = env_float("AUDIT_REAP_INTERVAL", 60.0, minimum=1.0)
SCORE_WARNING_BELOW = env_float("SCORE_WARNING_BELOW", 80.0, minimum=0.0)
SCORE_CRITICAL_BELOW = env_float("SCORE_CRITICAL_BELOW", 50.0, minimum=0.0)
if SCORE_CRITICAL_BELOW > SCORE_WARNING_BELOW:
    raise ConfigurationError("SCORE_CRITICAL_BELOW must not be above SCORE_WARNING_BELOW")
WEBHOOK_URLS = env_list("WEBHOOK_URLS")
WEBHOOK_TIMEOUT = env_float("WEBHOOK_TIMEOUT", 5.0, minimum=0.1)

# -- reports and metrics ------------------------------------------------------------------------

# Bearer token that scrapes /metrics for ALL groups (like a superuser). Empty: only per-user
# tokens (`manage.py metrics_token USER`, scoped to that user's groups) can scrape.
METRICS_TOKEN = env("METRICS_TOKEN")

# -- Celery -----------------------------------------------------------------------------------

CELERY_BROKER_URL = env("CELERY_BROKER_URL")
# No broker: the embedded default (bulwark/embedded.py). EMBEDDED_TASKS=thread runs tasks in a
# background pool of EMBEDDED_WORKERS threads and schedules in-process; eager runs each task in
# the caller when it is enqueued (the test suite).
EMBEDDED_TASKS = "" if CELERY_BROKER_URL else env("EMBEDDED_TASKS", "thread")
if EMBEDDED_TASKS not in ("", "thread", "eager"):
    raise ConfigurationError(f"EMBEDDED_TASKS: {EMBEDDED_TASKS!r} is not thread or eager")
EMBEDDED_WORKERS = env_int("EMBEDDED_WORKERS", 4, minimum=1)
CELERY_TASK_ALWAYS_EAGER = EMBEDDED_TASKS == "eager"
# False: an eager task's Retry must reach Celery's apply(), which runs the retry at once.
# Errors are still logged by Celery; audits record their own.
CELERY_TASK_EAGER_PROPAGATES = False
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # audits are long and acked late: take one at a time
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers an unacknowledged message after this; keep it above the lease so a running
# audit is not handed to a second worker while its lease still holds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", AUDIT_LEASE_SECONDS + 600)
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat writes a schedule's last run after each firing, so a restart never fires it again.
CELERY_BEAT_SYNC_EVERY = 1
CELERY_BEAT_SCHEDULE = {
    "reap-expired-audit-leases": {
        "task": "audits.reap_expired_leases",
        "schedule": AUDIT_REAP_INTERVAL,
    }
}

# -- logging ----------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO").upper()},
    # paramiko's DEBUG output is the protocol; keep it out unless asked for.
    "loggers": {"paramiko": {"level": env("PARAMIKO_LOG_LEVEL", "WARNING").upper()}},
}
