"""Django settings, every value from the environment (documented in deploy/env.example).

The embedded default needs nothing: SQLite in var/, tasks run in-process, a credential key
generated into var/ on first use. Production sets DATABASE_URL (PostgreSQL), CELERY_BROKER_URL
(Redis) and CREDENTIAL_KEYS.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from pathlib import Path

from bulwark.envconfig import (
    ConfigurationError,
    database_from_url,
    embedded_secret_key,
    env,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_secret,
)
from workers.transports.address_policy import DEFAULT_DENY

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# HTTPS: all off by default (the embedded demo serves plain HTTP); deploy/env.example turns
# them on. Behind a TLS proxy, SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]  # Prometheus may scrape over the internal network
_proxy_header = env_list("SECURE_PROXY_SSL_HEADER")
if _proxy_header and len(_proxy_header) != 2:
    raise ConfigurationError("SECURE_PROXY_SSL_HEADER: expected HEADER,value")
SECURE_PROXY_SSL_HEADER = (_proxy_header[0], _proxy_header[1]) if _proxy_header else None

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
    # Failed-login tracking and lock-outs for every login (pages, admin, API token).
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin, API docs) served by the app itself, under gunicorn and runserver.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Lets models tell a group member's change from a superuser's or a command's.
    "bulwark.core.actor.ActorMiddleware",
    # Control characters and bidi overrides from hosts and policies shown as escapes in HTML.
    "bulwark.core.display.VisibleTextMiddleware",
    # After authentication: turns a lock-out into its HTTP answer (429).
    "axes.middleware.AxesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
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

# -- sign-in ----------------------------------------------------------------------------------

AUTHENTICATION_BACKENDS = [
    "bulwark.core.signin.LockoutBackend",  # first: refuses locked-out attempts (axes)
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 12, minimum=8)},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Lock-outs count failures per (username, address) and per address, and expire: an attacker
# elsewhere can lock only their own address out, never a real admin's, and not forever.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "bulwark.core.signin.client_ip"
# How many proxies in front of Bulwark append to X-Forwarded-For (0: use the peer address).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# -- database ---------------------------------------------------------------------------------

DATA_DIR = Path(env("BULWARK_DATA_DIR") or BASE_DIR / "var")
DATABASE_URL = env_secret("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL, base_dir=BASE_DIR)}
else:
    # The embedded default: one SQLite file. SQLite needs its folder to exist.
    with contextlib.suppress(OSError):
        DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {"default": database_from_url("sqlite:///bulwark.sqlite3", base_dir=DATA_DIR)}

# Signs sessions and CSRF tokens. Required with a DATABASE_URL; the embedded default (SQLite in
# DATA_DIR, the demo) generates one into DATA_DIR instead of a public constant.
SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY:
    if DATABASE_URL:
        raise ConfigurationError(
            "SECRET_KEY (or SECRET_KEY_FILE) is required outside the embedded default: set it "
            "to a long random string (deploy/env.example)"
        )
    SECRET_KEY = embedded_secret_key(DATA_DIR / "secret-key")
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = env("TIME_ZONE", "UTC")
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
    # Per-process request budgets (Django's cache); sign-in failures are limited by axes.
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_THROTTLE_ANON", "60/minute"),
        "user": env("API_THROTTLE_USER", "1200/minute"),
        "confirm-credential": env("API_THROTTLE_CONFIRM", "10/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Bulwark API",
    "DESCRIPTION": "Agentless CIS hardening audits: inventory, policies, audits, results.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and Swagger UI describe every endpoint and filter: signed-in users only,
    # unless API_DOCS_PUBLIC is set.
    "SERVE_PERMISSIONS": [
        "rest_framework.permissions.AllowAny"
        if env_bool("API_DOCS_PUBLIC", False)
        else "rest_framework.permissions.IsAuthenticated"
    ],
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
# Audits of the machine Bulwark runs on (the `local` transport): off unless asked for, and then
# only superusers add such hosts. The demo turns it on for its own machine.
ALLOW_LOCAL_AUDITS = env_bool("ALLOW_LOCAL_AUDITS", False)
# Where audits may connect (CIDR lists; the most specific entry decides, deny wins a tie; with an
# allow list, nothing else). Checked on save and again on the address connected to.
AUDIT_TARGET_ALLOW = env_list("AUDIT_TARGET_ALLOW")
AUDIT_TARGET_DENY = env_list("AUDIT_TARGET_DENY", ",".join(DEFAULT_DENY))
SCORE_WARNING_BELOW = env_float("SCORE_WARNING_BELOW", 80.0, minimum=0.0)
SCORE_CRITICAL_BELOW = env_float("SCORE_CRITICAL_BELOW", 50.0, minimum=0.0)
if SCORE_CRITICAL_BELOW > SCORE_WARNING_BELOW:
    raise ConfigurationError("SCORE_CRITICAL_BELOW must not be above SCORE_WARNING_BELOW")
WEBHOOK_URLS = env_list("WEBHOOK_URLS")
WEBHOOK_TIMEOUT = env_float("WEBHOOK_TIMEOUT", 5.0, minimum=0.1)

# -- reports and metrics ------------------------------------------------------------------------

# Bearer token that scrapes /metrics for ALL groups (like a superuser). Empty: only per-user
# tokens (`manage.py metrics_token USER`, scoped to that user's groups) can scrape.
METRICS_TOKEN = env_secret("METRICS_TOKEN")

# -- Celery -----------------------------------------------------------------------------------

CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL")
# No broker: the embedded default runs every task in-process when it is enqueued.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
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
