"""Settings shared by every environment. Values that differ per deployment come from env."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from glmtts_site.redis_conn import channel_layer_host
from glmtts_site.stack_state import default_redis_url

from .env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    # Before django.contrib.admin: our registration/ and admin/index.html templates win.
    "frontend",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "accounts",
    "synthesis",
    "voices",
    "workers",
]

MIDDLEWARE = [
    # First: the status and time counted are those the client gets.
    "glmtts_site.metrics.middleware.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Error answers under the API are JSON, whichever view or middleware made them.
    "glmtts_site.middleware.ApiErrorsMiddleware",
    "glmtts_site.middleware.ContentSecurityPolicyMiddleware",
    "glmtts_site.middleware.PrivateByDefaultMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Per-address limit of the costly POST routes (before the cache-hit answer: hits count too).
    "glmtts_site.middleware.ClientRateLimitMiddleware",
    # Last and sync on purpose: answers plain cache hits, and keeps the chain sync under ASGI.
    "synthesis.hotpath.middleware.CacheHitMiddleware",
]

ROOT_URLCONF = "glmtts_site.urls"
ASGI_APPLICATION = "glmtts_site.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0, minimum=0),
        # A kept connection is checked before a request uses it: one killed by a database restart is
        # replaced instead of failing the request.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and tests write to one SQLite file: wait for a lock instead of failing at once. A
    # transaction takes the write lock when it begins (IMMEDIATE): a deferred one that read first and then
    # writes beside another writer gets "database is locked" at once, the busy timeout never applies (seen
    # with a worker running several jobs at once, bench/serving.py).
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
CSRF_FAILURE_VIEW = "glmtts_site.api_errors.csrf_failure"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 14 * 24 * 3600, minimum=60)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
# --- Metrics, object storage, CDN purge: glmtts_site/settings/operations.py ----------------
from .operations import *  # noqa: E402,F403

STORAGES = {
    "default": DEFAULT_FILE_STORAGE_BACKEND,  # noqa: F405
    # Hashed names let the browser cache static files for a year.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# --- Request limits (docs/limits.md); all enforced before a body is buffered.
# The web server (glmtts_site.serve) refuses bodies over MAX_REQUEST_BODY_BYTES before reading them;
# the ASGI middleware (glmtts_site.body_limits) refuses, by Content-Length and as bytes arrive, bodies
# over DATA_UPLOAD_MAX_MEMORY_SIZE except on the upload routes; an uploaded clip is at most 10 MB.
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 11 * 1024 * 1024, minimum=64 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024, minimum=16 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # larger uploaded files are spooled to a temporary file
DATA_UPLOAD_MAX_NUMBER_FILES = 4
# The whole request (line, headers, body) must arrive within this; idle keep-alive connections close after
# HTTP_IDLE_TIMEOUT_S. Responses (SSE, streamed audio) are not limited by either.
REQUEST_READ_TIMEOUT_S = env_float("REQUEST_READ_TIMEOUT_S", 30.0)
HTTP_IDLE_TIMEOUT_S = env_int("HTTP_IDLE_TIMEOUT_S", 60, minimum=1)
# Websocket client messages are control messages: larger ones are closed with 4413 by the consumer; the
# server itself drops anything over WS_SERVER_MAX_MESSAGE_BYTES unread (1009).
WS_MAX_MESSAGE_BYTES = env_int("WS_MAX_MESSAGE_BYTES", 32 * 1024, minimum=1024)
WS_SERVER_MAX_MESSAGE_BYTES = env_int("WS_SERVER_MAX_MESSAGE_BYTES", 1024 * 1024, minimum=64 * 1024)
# Open websockets per user across all web nodes (one more is closed with 4429).
WS_MAX_PER_USER = env_int("WS_MAX_PER_USER", 20, minimum=1)

# Rate limits shared by all web nodes (glmtts_site.ratelimit, GCRA in Redis): name -> "N/period" or "off";
# RATE_LIMIT_<NAME> overrides one. Over the limit: 429 with Retry-After.
_DEFAULT_RATES = {
    "submit": "60/min",            # per user: every submit path, cache hits included (REST, seed, OpenAI, socket)
    "ip_costly": "300/min",        # per client IP: POSTs to the costly routes, whoever is signed in
    "transcribe": "20/hour",       # per user: Whisper runs in the worker
    "voice_upload": "60/hour",     # per user: each upload is decoded, re-encoded and analysed
    "token_create": "30/hour",     # per user
    "ws_connect": "60/min",        # per user: websocket handshakes
    "login_failure": "5/15min",    # per username: wrong passwords; beyond it even the right one waits
    "login_failure_ip": "30/15min",  # per client IP
    "password_failure": "5/15min",  # per user: wrong old_password on the password APIs
    "signup": "10/hour",           # per client IP
}
RATE_LIMITS = {name: env_str(f"RATE_LIMIT_{name.upper()}", rate) for name, rate in _DEFAULT_RATES.items()}
# Behind a proxy: the header that carries the client's address (e.g. CF-Connecting-IP for Cloudflare,
# X-Forwarded-For for a load balancer); empty = the socket's peer address. Only set it when every
# request reaches the portal through that proxy, or clients could choose their own address.
CLIENT_IP_HEADER = env_str("CLIENT_IP_HEADER", "")

# --- Redis: cache, channel layer, queue, heartbeats ----------------------------------------
# Unset: the private Redis of a `make run` stack running from this checkout (glmtts_site.stack_state),
# else the local default; so commands in a second terminal reach the stack's Redis.
REDIS_URL = env_str("REDIS_URL", "") or default_redis_url(VAR_DIR)
# Every key this project writes starts with this prefix, so several deployments (or test runs)
# can share one Redis server without touching each other's keys.
REDIS_KEY_PREFIX = env_str("REDIS_KEY_PREFIX", "glmtts")

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": REDIS_KEY_PREFIX,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
        },
    }
}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [channel_layer_host(REDIS_URL)],
            "prefix": f"{REDIS_KEY_PREFIX}:asgi",
            # The layer only carries small notices; raise capacity so bursts are not dropped.
            "capacity": 1000,
            "expiry": 60,
        },
    }
}

# Each web process's event loop shares one bounded pool for sockets and streams (see redis_conn).
REDIS_WEB_MAX_CONNECTIONS = env_int("REDIS_WEB_MAX_CONNECTIONS", 200, minimum=4)

# --- Worker, engines and queue: glmtts_site/settings/worker.py ------------------------------
ENGINE_CACHE_DIR = Path(env_str("ENGINE_CACHE_DIR", str(VAR_DIR / "cache")))
from .worker import *  # noqa: E402,F403

# --- Result cache and quotas --------------------------------------------------------------
CACHE_TTL_S = env_int("CACHE_TTL_S", 86400, minimum=1)
# "shared": identical requests share one result whoever makes them (a user can tell from an instant answer
# that someone asked for that text in that preset voice before); "user": results are per owner.
RESULT_CACHE_SCOPE = env_str("RESULT_CACHE_SCOPE", "shared")
if RESULT_CACHE_SCOPE not in ("shared", "user"):
    raise ImproperlyConfigured(f"RESULT_CACHE_SCOPE must be shared or user, got {RESULT_CACHE_SCOPE!r}.")
# The cache-hit hot path (synthesis/hotpath/): off = every submit goes through the DRF view.
CACHE_HIT_FAST_PATH = env_bool("CACHE_HIT_FAST_PATH", True)
# Hot-path shortcuts of cache hits (0 = off): how long a web process keys lookups with the engine
# versions it read last, and how long hits answered from its L1 wait to be added to the shared stats.
ENGINE_VERSIONS_CACHE_S = env_float("ENGINE_VERSIONS_CACHE_S", 1.0)
CACHE_STATS_FLUSH_S = env_float("CACHE_STATS_FLUSH_S", 1.0)
# Each web process keeps recent results in memory (L1) this long: a purge reaches every web node within it.
RESULT_L1_TTL_S = env_float("RESULT_L1_TTL_S", 30.0)
QUOTA_CHARS_PER_DAY = env_int("QUOTA_CHARS_PER_DAY", 100_000, minimum=1)
QUOTA_CONCURRENT_JOBS = env_int("QUOTA_CONCURRENT_JOBS", 4, minimum=1)
VOICE_MAX_PER_USER = env_int("VOICE_MAX_PER_USER", 50, minimum=1)
VOICE_STORAGE_PER_USER = env_int("VOICE_STORAGE_PER_USER", 100 * 1024 * 1024, minimum=1)
# Audio URL tokens are HMAC(AUDIO_URL_KEY or SECRET_KEY, fingerprint): stable and unguessable.
AUDIO_URL_KEY = env_str("AUDIO_URL_KEY", "")

# --- API ----------------------------------------------------------------------------------
# Seconds a web process remembers a resolved API token (0 = always ask the database); a
# revocation reaches the revoking process at once and every other process within this time.
API_TOKEN_CACHE_TTL_S = env_int("API_TOKEN_CACHE_TTL_S", 5, minimum=0)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer first: its WWW-Authenticate header makes "not signed in" a 401, not a 403.
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "glmtts_site.parsers.JSONParser",  # nesting too deep is a 400, not a 500
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "glmtts_site.schema.OperationAutoSchema",
    "EXCEPTION_HANDLER": "glmtts_site.api_errors.exception_handler",
    "DEFAULT_PAGINATION_CLASS": "glmtts_site.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 20,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "GLM-TTS Portal API",
    "DESCRIPTION": "Zero-shot voice-cloning speech synthesis: voices, syntheses, accounts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SECURITY": [{"bearerAuth": []}, {"cookieAuth": []}],
    # Swagger UI assets are served from our own static files: no CDN, CSP stays 'self'.
    "ENUM_NAME_OVERRIDES": {"SynthesisLanguageEnum": ["auto", "en", "zh"], "VoiceLanguageEnum": ["", "en", "zh"]},
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Security headers (production tightens the rest) --------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = env_str(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}
