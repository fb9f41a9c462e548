"""Settings for lcm: 12-factor, every value from the environment.

Every variable read here is listed, with its default, in `.env.example`.
A `.env` file in the project folder is read when present (never committed).
"""

from datetime import timedelta
from pathlib import Path

import environ

from lcm import conf as lcm_conf  # lcm's settings and their defaults

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# --- Core -------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)

# A development key exists only while DEBUG is on: a production process
# without SECRET_KEY refuses to start instead of signing with a public key.
if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="django-insecure-lcm-development-only")
else:
    SECRET_KEY = env("SECRET_KEY")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",  # titled "API tokens" in config/urls.py
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "lcm",
]

# Background jobs (lcm.tasks: imports of any size): django-tasks' database
# backend, no broker. `manage.py db_worker` runs them (`make run` starts one;
# docs/scaling.md for production).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# The config.middleware classes are Django's and lcm's own, stepped over by
# token-authenticated API requests, which never use them (config/middleware.py).
# Sessions and CSRF stay Django's, by name: `check --deploy` looks for those
# strings (security.W003, W012).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "lcm.logs.RequestLogMiddleware",  # times every /api/ request; see Logging
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "config.middleware.AuthenticationMiddleware",
    "config.middleware.MessageMiddleware",
    "config.middleware.FloorTimeZoneMiddleware",  # the console's times in the floor's zone
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.csp.CSPMiddleware",  # django-csp's, the site policy built once
    "lcm.faults.DatabaseFaultMiddleware",  # a database fault in a page: the 503 page
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],  # the project's own: the axes lockout page
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# DATABASE_URL, e.g. postgres://lcm:secret@127.0.0.1:5432/lcm. The embedded
# default is SQLite in the project folder so that `make run` needs nothing.

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # the service owns the transaction
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite allows one writer. IMMEDIATE transactions take the write lock at
    # BEGIN, so concurrent writers queue on the busy timeout instead of
    # failing with "database is locked" when a read lock cannot be upgraded;
    # WAL lets readers go on while one request writes.
    # https://docs.djangoproject.com/en/5.2/ref/databases/#sqlite-transaction-behavior
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_TIMEOUT", default=20),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    # Server-side binding sends parameters apart from the SQL text, so that
    # psycopg 3 prepares a statement on the server after `prepare_threshold`
    # uses on a connection: PostgreSQL then skips parsing and planning it on
    # every request (more than half of its time on the SetNewModeNumber hot
    # path, docs/benchmarks.md). Set DATABASE_PREPARED_STATEMENTS=false behind
    # a pooler that cannot keep prepared statements (PgBouncer in transaction
    # mode without max_prepared_statements).
    # https://docs.djangoproject.com/en/5.2/ref/databases/#server-side-parameters-binding
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": 5}
    )

# DATABASE_PREPARED_STATEMENTS=false also turns off server-side cursors:
# behind PgBouncer in transaction mode, a cursor opened in one transaction
# may be fetched from on another server connection (Django's
# DISABLE_SERVER_SIDE_CURSORS). `.iterator()` then reads whole results.
# https://docs.djangoproject.com/en/5.2/ref/databases/#transaction-pooling-server-side-cursors
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True

# DATABASE_REPLICA_URL: a PostgreSQL streaming replica of DATABASE_URL (hot
# standby). When set, the auditors' reads — the audit log in the admin and
# the API (CSV export, proofs), `manage.py verify_audit` — go to it, through
# lcm.replica; every write and every other read stays on the primary. Its
# options (prepared statements, pooling) are the primary's. In tests it is
# a TEST MIRROR of default, and config/settings_test.py keeps the auditors
# on default unless tests/test_replica.py runs against a real replica.
# docs/scaling.md, "The auditors on a read replica".
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {
        **DATABASES["default"],
        **env.db("DATABASE_REPLICA_URL"),
        "TEST": {"MIRROR": "default"},
    }
    DATABASES["replica"]["OPTIONS"] = dict(DATABASES["default"].get("OPTIONS", {}))
    DATABASE_ROUTERS = ["lcm.replica.AuditorReadsRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Failed logins (django-axes): after AXES_FAILURE_LIMIT failures for one
# username from one address, logins are refused for AXES_COOLOFF_MINUTES.
# Behind a proxy every client shares the proxy's address, so the lockout is
# then effectively per username. https://django-axes.readthedocs.io/
AUTHENTICATION_BACKENDS = [
    "lcm.auth.LoginLockoutBackend",  # django-axes, see lcm/auth.py
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/lockout.html"

# --- Internationalisation ---------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
# The console's one date format, with the time zone (config/formats/).
FORMAT_MODULE_PATH = ["config.formats"]

# --- Static files (served by whitenoise under gunicorn too) ------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Django REST framework ---------------------------------------------------

# lcm's views declare their own authentication, parsers, throttle and
# renderers (lcm/api/policy.py); these defaults are for the project's other
# DRF views (the OpenAPI schema) and any a host adds.
REST_FRAMEWORK = {
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "lcm — List and Campaign Manager web services",
    "DESCRIPTION": (
        "The dialer's agent-desktop envelope messages over HTTP, one operation "
        "(`POST /api/webservice/`) whose `subtopic` names the service: contact "
        "modes (SetNewModeNumber, GetContactModes), do-not-call, callbacks, "
        "business outcomes, ComplianceCheck, campaign modes and mode information, "
        "business fields, the inbound look-up and agent state (tag `webservice`); "
        "the dialer's and CTI's endpoints (tag `dialer`): calls, agent sessions, "
        "callbacks, list imports and exports; and the auditors' change history, its "
        "proofs and as-of reads (tag `audit`). "
        "Authenticate with `Authorization: Token <key>`."
    ),
    "VERSION": "1.0.0",
    "TAGS": [
        {"name": "webservice", "description": "The agent desktop's envelope services."},
        {
            "name": "dialer",
            "description": "Calls, agent sessions, callbacks, list imports "
            "and exports: the dialer's and CTI's endpoints.",
        },
        {
            "name": "audit",
            "description": "The change history, its proofs and the "
            "as-of reads (auditors; the list and its CSV also supervisors).",
        },
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema and the docs page are public (SERVE_PUBLIC): they read no
    # credentials, so a stale or bad token gets them too, never a 401.
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    # 3.1 says "nullable" as a type (["string", "null"]), which generators such
    # as datamodel-code-generator honour for required fields (docs/api.md).
    "OAS_VERSION": "3.1.0",
    # Swagger UI from the installed sidecar package, not a CDN: works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- lcm's own settings -------------------------------------------------------
# lcm/conf.py lists every setting the app reads, with its default (a host
# project needs none of them); here each comes from an environment variable
# of .env.example. A value that is not even of the right type is passed on
# as text: `manage.py check` then names the setting (lcm.E001) instead of
# this module raising a traceback.
#
# API_MAX_BODY_BYTES: a larger API request body is refused (413) before it is
# read or parsed. API_THROTTLE_RATE: requests per token (per user: DRF gives
# a user one token), as DRF writes rates: "600/min", "20/s", "10000/hour".
# The counters live in the cache, so several workers share one limit only
# when they share the cache (CACHE_URL below).
# IDEMPOTENCY_KEY_TTL_HOURS: a change sent with an `Idempotency-Key` header
# stores its reply; a retry with the same key and body within this time gets
# that reply instead of a second change (lcm.idempotency, docs/api.md
# "Retries and Idempotency-Key"). Older keys count as new; `manage.py
# purge_idempotency_keys` (run it from cron) deletes them.
# LCM_DEFAULT_REGION: an ISO 3166 region (e.g. "US", "ES"). Empty by default:
# no region is assumed. When set, every number must also be valid for that
# region (phonenumbers) and its E.164 form is stored beside the cleaned one.
# LCM_DEFAULT_TIME_ZONE: an IANA zone (e.g. "America/New_York") for modes
# whose zone neither the number, the mode, nor the account (TimeZone, ZIP
# code, Country) tells. Empty by default: such a mode is not callable, never
# silently UTC. A wrong value stops every process at start-up (lcm.apps).
# FLOOR_TIME_ZONE (LCM_FLOOR_TIME_ZONE): the IANA zone of the supervisors'
# floor, in which the console writes every time (UTC on hover) and reads the
# dates typed in its filters and forms. Empty: TIME_ZONE. docs/admin.md.
# LCM_PERMISSION_CACHE_SECONDS: how long each process remembers whether a
# user may act for any agent (lcm.act_for_any_agent), sparing two queries per
# integration request. A granted or revoked permission takes effect within
# this time; 0 disables.
# LCM_IMPORT_UPLOAD_MAX_BYTES: the largest account list the console's
# "Import accounts" page accepts (bytes).


def lcm_env(variable: str, setting: str, cast=str):
    """lcm's `setting` from the environment `variable`, else lcm's default."""
    raw = env.str(variable, default=None)
    if raw is None:
        return lcm_conf.SETTINGS[setting].default
    try:
        return cast(raw)
    except ValueError:
        return raw  # reported by `manage.py check` as lcm.E001


LCM_API_MAX_BODY_BYTES = lcm_env("API_MAX_BODY_BYTES", "LCM_API_MAX_BODY_BYTES", int)
LCM_API_THROTTLE_RATE = lcm_env("API_THROTTLE_RATE", "LCM_API_THROTTLE_RATE")
LCM_IDEMPOTENCY_KEY_TTL_HOURS = lcm_env(
    "IDEMPOTENCY_KEY_TTL_HOURS", "LCM_IDEMPOTENCY_KEY_TTL_HOURS", int
)
LCM_DEFAULT_REGION = lcm_env("LCM_DEFAULT_REGION", "LCM_DEFAULT_REGION")
LCM_DEFAULT_TIME_ZONE = lcm_env("LCM_DEFAULT_TIME_ZONE", "LCM_DEFAULT_TIME_ZONE")
LCM_FLOOR_TIME_ZONE = lcm_env("FLOOR_TIME_ZONE", "LCM_FLOOR_TIME_ZONE")
LCM_PERMISSION_CACHE_SECONDS = lcm_env(
    "LCM_PERMISSION_CACHE_SECONDS", "LCM_PERMISSION_CACHE_SECONDS", int
)
LCM_IMPORT_UPLOAD_MAX_BYTES = lcm_env(
    "LCM_IMPORT_UPLOAD_MAX_BYTES", "LCM_IMPORT_UPLOAD_MAX_BYTES", int
)
LCM_IMPORT_DIR = lcm_env("LCM_IMPORT_DIR", "LCM_IMPORT_DIR")
LCM_IMPORT_JOB_STALE_SECONDS = lcm_env(
    "LCM_IMPORT_JOB_STALE_SECONDS", "LCM_IMPORT_JOB_STALE_SECONDS", int
)
LCM_EXPORT_KEEP_HOURS = lcm_env("LCM_EXPORT_KEEP_HOURS", "LCM_EXPORT_KEEP_HOURS", int)
# Django's own cap (an HTML 400 for the admin's forms) must not undercut it.
if isinstance(LCM_API_MAX_BODY_BYTES, int):
    DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, LCM_API_MAX_BODY_BYTES)

# --- Cache ------------------------------------------------------------------
# CACHE_URL (django-environ): the default local-memory cache is per process,
# enough for `make run`. With several workers use a shared one, e.g. the
# database cache `dbcache://lcm_cache` (then run `manage.py createcachetable`
# after migrate) or `rediscache://…`.

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

# --- Audit log: signed checkpoints and their witness ------------------------
# docs/audit.md, "Signed checkpoints". Signing is on when
# AUDIT_SIGNING_KEY_FILE names an Ed25519 private key (PEM, made by
# `manage.py audit_keygen`); start-up stops if that file is missing or wrong.
# The key never enters the database. AUDIT_WITNESS is where each checkpoint
# is also handed: an absolute file path (append-only JSON lines) or an
# https:// URL (AUDIT_WITNESS_CA_FILE: its CA, when private). verify_audit
# checks with AUDIT_PUBLIC_KEY_FILE (or the public half of the signing key).

LCM_AUDIT_SIGNING_KEY_FILE = lcm_env("AUDIT_SIGNING_KEY_FILE", "LCM_AUDIT_SIGNING_KEY_FILE")
LCM_AUDIT_PUBLIC_KEY_FILE = lcm_env("AUDIT_PUBLIC_KEY_FILE", "LCM_AUDIT_PUBLIC_KEY_FILE")
LCM_AUDIT_WITNESS = lcm_env("AUDIT_WITNESS", "LCM_AUDIT_WITNESS")
LCM_AUDIT_WITNESS_CA_FILE = lcm_env("AUDIT_WITNESS_CA_FILE", "LCM_AUDIT_WITNESS_CA_FILE")
LCM_AUDIT_WITNESS_TIMEOUT = lcm_env("AUDIT_WITNESS_TIMEOUT", "LCM_AUDIT_WITNESS_TIMEOUT", float)
LCM_AUDIT_CHECKPOINT_EVERY = lcm_env("AUDIT_CHECKPOINT_EVERY", "LCM_AUDIT_CHECKPOINT_EVERY", int)
LCM_AUDIT_CHECKPOINT_MINUTES = lcm_env(
    "AUDIT_CHECKPOINT_MINUTES", "LCM_AUDIT_CHECKPOINT_MINUTES", int
)
LCM_AUDIT_LOG_NAME = lcm_env("AUDIT_LOG_NAME", "LCM_AUDIT_LOG_NAME")
# Where the auditors read: "replica" when DATABASE_REPLICA_URL is set (above).
LCM_AUDIT_READS_DATABASE = (
    "replica" if "replica" in DATABASES else lcm_conf.SETTINGS["LCM_AUDIT_READS_DATABASE"].default
)
# AUDIT_REPLICA_MAX_LAG: seconds the replica may lag behind the primary before
# the auditors' pages, API and proofs answer 503 instead of an old log.
LCM_AUDIT_REPLICA_MAX_LAG = lcm_env("AUDIT_REPLICA_MAX_LAG", "LCM_AUDIT_REPLICA_MAX_LAG", float)

# --- Faults -------------------------------------------------------------------
# DATABASE_LOCK_TIMEOUT: the most seconds any statement waits for a lock
# another transaction holds (PostgreSQL's lock_timeout, set by lcm on each
# connection): past it the request fails, as a 503 the client retries with its
# Idempotency-Key, instead of waiting as long as a frozen worker holding the
# account or the audit chain's head stays frozen. 0: no bound. Behind PgBouncer
# in transaction mode, also set it on the role (docs/operations.md, "Faults").

LCM_DATABASE_LOCK_TIMEOUT = lcm_env("DATABASE_LOCK_TIMEOUT", "LCM_DATABASE_LOCK_TIMEOUT", float)

# --- Logging ----------------------------------------------------------------
# One JSON object per line. `lcm.request` writes one line per /api/ request
# (lcm.logs.RequestLogMiddleware). Every line passes MaskSecretsFilter: runs
# of digits that may be phone numbers keep only their last 3 digits, and
# API tokens are replaced, whatever logger wrote them.

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_secrets": {"()": "lcm.logs.MaskSecretsFilter"}},
    "formatters": {"json": {"()": "lcm.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "filters": ["mask_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # django-axes announces itself on every start; its lockouts still log.
    "loggers": {"axes.apps": {"level": "WARNING"}},
}

# --- Deployment safety (HTTPS, cookies, headers) -----------------------------
# `manage.py check --deploy` is clean with DEBUG=false and these defaults.
# TLS is expected in front of the app; plain HTTP is redirected to HTTPS,
# except /healthz and /healthz/live (load balancers probe them over HTTP).
# BEHIND_TLS_PROXY=true trusts X-Forwarded-Proto: set it only when the proxy
# that terminates TLS overwrites that header on every request.
# https://docs.djangoproject.com/en/5.2/ref/settings/#secure-proxy-ssl-header

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz(/live)?$"]
if env.bool("BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp) on every page: the admin and the
# Swagger UI under /api/docs/ load scripts only from our own static files.
# Inline styles stay allowed: the admin and Swagger UI set style attributes.
# https://django-csp.readthedocs.io/

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
