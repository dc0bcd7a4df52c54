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
    # English or Japanese from the browser (Accept-Language); a user's own setting wins below.
    "django.middleware.locale.LocaleMiddleware",
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
AXES_LOCKOUT_CALLABLE = "bulwark.core.signin.locked_out"  # the lock-out page, translated
AXES_CLIENT_IP_CALLABLE = "bulwark.core.signin.client_ip"
# Single sign-on through OpenID Connect (bulwark/web/sso.py, docs/security.md): off by default.
# The provider's endpoints come from OIDC_DISCOVERY_URL (or OIDC_OP_*_ENDPOINT one by one).
OIDC_ENABLED = env_bool("OIDC_ENABLED", False)
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("bulwark.web.sso.OIDCBackend")
OIDC_DISCOVERY_URL = env("OIDC_DISCOVERY_URL")
for _name in (
    "OIDC_OP_AUTHORIZATION_ENDPOINT",
    "OIDC_OP_TOKEN_ENDPOINT",
    "OIDC_OP_USER_ENDPOINT",
    "OIDC_OP_JWKS_ENDPOINT",
    "OIDC_OP_ISSUER",
):
    if env(_name):
        globals()[_name] = env(_name)
OIDC_RP_CLIENT_ID = env("OIDC_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_secret("OIDC_CLIENT_SECRET")  # or OIDC_CLIENT_SECRET_FILE
OIDC_RP_SIGN_ALGO = env("OIDC_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env("OIDC_SCOPES", "openid email profile")
OIDC_USE_PKCE = True
OIDC_TIMEOUT = env_float("OIDC_TIMEOUT", 10.0, minimum=1.0)
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", "groups")
OIDC_REQUIRED_GROUP = env("OIDC_REQUIRED_GROUP")
OIDC_SUPERUSER_GROUP = env("OIDC_SUPERUSER_GROUP")
OIDC_MEMBERSHIP_PREFIX = env("OIDC_MEMBERSHIP_PREFIX")
OIDC_USERNAME_PREFIX = env("OIDC_USERNAME_PREFIX", "sso-")
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
    # Every operation also documents its error answers, and each creation links to what can be
    # done with the object it made (bulwark/core/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "bulwark.core.schema.document_errors",
        "bulwark.core.schema.link_created_objects",
    ],
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
AUDIT_RETRY_BACKOFF_MAX = env_float("AUDIT_RETRY_BACKOFF_MAX", 600.0, minimum=0.0)
AUDIT_REAP_INTERVAL = env_float("AUDIT_REAP_INTERVAL", 60.0, minimum=1.0)
# The database is the truth, the broker only a wake-up call: an audit queued this long without
# being claimed (its message lost: broker restarted empty, publish failed) is enqueued again.
AUDIT_REQUEUE_AFTER = env_float("AUDIT_REQUEUE_AFTER", 300.0, minimum=1.0)
# Wall-clock budget of one attempt (connect, collect, evaluate): a host that trickles output
# forever is cut off. Below the lease, so the lease never expires under a live worker.
AUDIT_MAX_SECONDS = env_float("AUDIT_MAX_SECONDS", AUDIT_LEASE_SECONDS * 2 / 3, minimum=1.0)
if AUDIT_MAX_SECONDS >= AUDIT_LEASE_SECONDS:
    raise ConfigurationError(
        f"AUDIT_MAX_SECONDS ({AUDIT_MAX_SECONDS:g}) must be below AUDIT_LEASE_SECONDS "
        f"({AUDIT_LEASE_SECONDS}): the lease must outlive the longest attempt"
    )
# Audits of the machine Bulwark runs on (the `local` transport): off unless asked for, and then
# only superusers add such hosts. The demo turns it on for its own machine.
ALLOW_LOCAL_AUDITS = env_bool("ALLOW_LOCAL_AUDITS", False)
# Where audits may connect (CIDR lists; the most specific entry decides, deny wins a tie; with an
# allow list, nothing else). Checked on save and again on the address connected to.
AUDIT_TARGET_ALLOW = env_list("AUDIT_TARGET_ALLOW")
AUDIT_TARGET_DENY = env_list("AUDIT_TARGET_DENY", ",".join(DEFAULT_DENY))
# A host whose audit finished less than this ago is not audited again: "audit now" clicked ten
# times runs once, a schedule firing right after a manual audit adds nothing (0: no minimum).
AUDIT_MIN_INTERVAL_SECONDS = env_float("AUDIT_MIN_INTERVAL_SECONDS", 300.0, minimum=0.0)
# Per-check results are kept this many days (0: forever); every audit's counts, score and
# category summary, and each host's latest audit in full, are kept whatever its age.
RESULTS_RETENTION_DAYS = env_int("RESULTS_RETENTION_DAYS", 400, minimum=0)
SCORE_WARNING_BELOW = env_float("SCORE_WARNING_BELOW", 80.0, minimum=0.0)
SCORE_CRITICAL_BELOW = env_float("SCORE_CRITICAL_BELOW", 50.0, minimum=0.0)
if SCORE_CRITICAL_BELOW > SCORE_WARNING_BELOW:
    raise ConfigurationError("SCORE_CRITICAL_BELOW must not be above SCORE_WARNING_BELOW")
WEBHOOK_URLS = env_list("WEBHOOK_URLS")
WEBHOOK_TIMEOUT = env_float("WEBHOOK_TIMEOUT", 5.0, minimum=0.1)
# Alert e-mails to the members of the host's group (and superusers) with an address, each in
# the reader's own language and time zone (bulwark/web/alert_mail.py).
ALERT_EMAILS = env_bool("ALERT_EMAILS", False)
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD", "")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "bulwark@localhost")
# Where readers reach the pages (e.g. https://bulwark.example.org): links in e-mails.
PUBLIC_URL = env("PUBLIC_URL", "")
# Accepted risks: the longest an exception may run, and whether a second group admin must
# approve one before it takes effect.
EXCEPTION_MAX_DAYS = env_int("EXCEPTION_MAX_DAYS", 365, minimum=1)
EXCEPTION_APPROVAL = env_bool("EXCEPTION_APPROVAL", False)
# Policy previews: how many latest audits per host keep their facts (0: none), and the cap on
# one audit's facts (compressed bytes; a larger collection is not kept).
FACTS_RETENTION = env_int("FACTS_RETENTION", 1, minimum=0)
FACTS_MAX_BYTES = env_int("FACTS_MAX_BYTES", 4_000_000, minimum=1000)

# -- reports and metrics ------------------------------------------------------------------------

# Bearer token that scrapes /metrics for ALL groups (like a superuser). Empty: only per-user
# tokens (`manage.py metrics_token USER`, scoped to that user's groups) can scrape.
METRICS_TOKEN = env_secret("METRICS_TOKEN")

# -- Celery -----------------------------------------------------------------------------------

CELERY_BROKER_URL = env_secret("CELERY_BROKER_URL")
# No broker: the embedded default (bulwark/embedded.py). EMBEDDED_TASKS=thread runs tasks in a
# background pool of EMBEDDED_WORKERS threads and schedules in-process; eager runs each task in
# the caller when it is enqueued (the test suite).
EMBEDDED_TASKS = "" if CELERY_BROKER_URL else env("EMBEDDED_TASKS", "thread")
if EMBEDDED_TASKS not in ("", "thread", "eager"):
    raise ConfigurationError(f"EMBEDDED_TASKS: {EMBEDDED_TASKS!r} is not thread or eager")
EMBEDDED_WORKERS = env_int("EMBEDDED_WORKERS", 4, minimum=1)
CELERY_TASK_ALWAYS_EAGER = EMBEDDED_TASKS == "eager"
# False: a failing eager task is logged by Celery, never raised into the request that
# enqueued it; audits record their own errors (retries: audits/delivery.py).
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
# Workers and beat outlive a broker restart: reconnect for ever (None), never exit.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# Publishing (web's "audit now", the reaper) gives up quickly when the broker is down: the
# audit is already in the database and the reaper re-drives it (services.enqueue).
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5}
# Redis redelivers an unacknowledged message after this; keep it above the lease so a running
# audit is not handed to a second worker while its lease still holds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", AUDIT_LEASE_SECONDS + 600)
}
# Audits go to their host's zone queue (audits/zones.py), manual ones ahead of scheduled ones.
CELERY_TASK_ROUTES = ["bulwark.audits.zones.route_audit"]
# Every worker writes its WorkerHeartbeat row this often; three missed beats: not alive.
WORKER_HEARTBEAT_SECONDS = env_float("WORKER_HEARTBEAT_SECONDS", 15.0, minimum=0.5)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Beat writes a schedule's last run after each firing, so a restart never fires it again.
CELERY_BEAT_SYNC_EVERY = 1
CELERY_BEAT_SCHEDULE = {
    "reap-expired-audit-leases": {
        "task": "audits.reap_expired_leases",
        "schedule": AUDIT_REAP_INTERVAL,
    },
    # Exceptions past their last day stop applying (re-score, alert); 14-day warnings.
    "expire-exceptions": {"task": "audits.expire_exceptions", "schedule": 3600.0},
    "purge-old-results": {"task": "audits.purge_results", "schedule": 6 * 3600.0},
    # Reduced audits leave the results' index pages sparse: rebuilt weekly (docs/history.md).
    "compact-results": {"task": "audits.compact_results", "schedule": 7 * 24 * 3600.0},
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
