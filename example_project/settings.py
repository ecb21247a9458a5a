"""Settings of the example project: everything that differs between machines comes from the environment.

With no environment at all it is a development setup: DEBUG on, SQLite in
``example_project/db.sqlite3``, process-local cache and shared state, readable
console logs. Production-like runs set ``DEBUG=0``, ``SECRET_KEY``,
``ALLOWED_HOSTS``, ``DATABASE_URL`` (PostgreSQL, pooled) and ``REDIS_URL``
(cache + shared state for every worker). docs/example.rst lists every variable.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from django_stability import logging as stability_logging
from django_stability.db import database_from_env

BASE_DIR = Path(__file__).resolve().parent
env = os.environ


def _flag(name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(
        f"{name} must be 1/0, true/false, yes/no or on/off, got {raw!r}"
    )


def _int(name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be a whole number, got {raw!r}"
        ) from None


def _list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env.get(name, default).split(",") if item.strip()]


DEBUG = _flag(
    "DEBUG", True
)  # on by default: this is a demo that `make demo` must run as is

SECRET_KEY = env.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "example-project-development-only-key-never-use-it-in-production"

ALLOWED_HOSTS = _list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

INSTALLED_APPS = [
    # First: its `runserver` (Daphne's, so WebSocket and SSE work) replaces those of
    # django.contrib.staticfiles and Django, which serve WSGI only.
    "example_project.notes",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "health_check",
    "django_stability",
]

# DESIGN.md order: correlation first, access log and rate limit next, Django's own,
# then cache headers and problem details last.
MIDDLEWARE = [
    "django_stability.middleware.CorrelationIdMiddleware",
    "django_stability.middleware.AccessLogMiddleware",
    "django_stability.middleware.RateLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_stability.middleware.CacheHeadersMiddleware",
    "django_stability.middleware.ProblemDetailsMiddleware",
]

ROOT_URLCONF = "example_project.urls"
WSGI_APPLICATION = "example_project.wsgi.application"
ASGI_APPLICATION = "example_project.asgi.application"

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

# DATABASE_URL (default: SQLite next to this file) + DB_POOL_* / DB_*_TIMEOUT.
DATABASES = {"default": database_from_env(base_dir=BASE_DIR)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# REDIS_URL switches the cache, the shared-state engine and the channel layer to Redis,
# which is what several workers (or hosts) need to agree; without it all three are
# process-local, fine for one `runserver`.
def _redis_url(name: str) -> str | None:
    # Checked here, not at the first cache call: redis-py's error would quote the URL,
    # password included. The message names the variable and the shape, nothing else.
    raw = env.get(name, "").strip() or None
    if raw is None:
        return None
    try:
        urlsplit(raw).port  # noqa: B018 - urllib validates the port lazily
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} is malformed: expected redis://[[user]:password@]host[:port][/db], "
            "with reserved and non-ASCII characters of the password percent-encoded"
        ) from None
    return raw


REDIS_URL = _redis_url("REDIS_URL")
STABILITY_REDIS_URL = REDIS_URL
CACHES: dict[str, dict[str, Any]]
CHANNEL_LAYERS: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            # Behind the "cache" breaker: a Redis outage becomes cache misses, and
            # after a few failures the app stops waiting on Redis at all.
            "BACKEND": "django_stability.breakers.integrations.BreakerCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {
                "BACKEND": "django_redis.cache.RedisCache",
                "SOCKET_CONNECT_TIMEOUT": 1,
                "SOCKET_TIMEOUT": 1,
            },
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # No socket timeout: redis-py 8's default (5 s) fails idle consumers,
            # and any timeout can swallow a consumer's cancellation (see the docs).
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": None}]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Circuit breakers: "database" guards every query and connection attempt of the
# default database (a dead PostgreSQL answers 503 at once instead of hanging
# requests on connect); "cache" guards the Redis cache above. Operators drive
# them from the admin's "Circuit breakers" page or `manage.py breakers`.
STABILITY_BREAKERS = {
    "database": {"failure_threshold": 5, "window": 10, "reset_timeout": 15},
    "cache": {"failure_threshold": 3, "window": 10, "reset_timeout": 30},
}

# Who may follow which realtime channel: the notes list, for every logged-in user.
# A channel not declared here is refused (4403, SSE 403).
STABILITY_REALTIME = {"CHANNELS": {"notes": "authenticated"}}

STABILITY_APP_VERSION = env.get("APP_VERSION", "").strip() or "dev"

# After SIGTERM, readiness answers 503 "draining" this long while requests are
# still served, so load balancers take the worker out before it stops
# (docs/deployment.rst sets it against the grace periods).
STABILITY_DRAIN_SECONDS = _int("DRAIN_SECONDS", 10)
STABILITY_TRUSTED_PROXIES = _list("TRUSTED_PROXIES", "")
# Per client IP, for every worker together when REDIS_URL is set; "off" disables it.
_ratelimit = env.get("RATELIMIT", "").strip() or "100/s"
STABILITY_RATELIMIT = None if _ratelimit == "off" else _ratelimit
STABILITY_RATELIMIT_FAIL_OPEN = _flag("RATELIMIT_FAIL_OPEN", True)
STABILITY_METRICS_TOKEN = env.get("METRICS_TOKEN", "").strip() or None

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(env.get("STATIC_ROOT", "").strip() or BASE_DIR / "staticfiles")
if not DEBUG:
    # Production serves collectstatic's output itself, with WhiteNoise: hashed names
    # cached for a year ("immutable") and gzip/Brotli variants made at build time, so
    # stability.js and the admin's CSS load under any ASGI/WSGI server, proxy or not.
    # With DEBUG on, urls.py serves the app folders' files instead (no collectstatic).
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        # WhiteNoise's compressed manifest storage, forgiving a skipped collectstatic.
        "staticfiles": {"BACKEND": "example_project.storage.StaticFilesStorage"},
    }

# HTTPS (default: on when DEBUG is off) means the site is served over TLS, directly or
# behind a proxy that sets X-Forwarded-Proto (then also set TRUST_X_FORWARDED_PROTO=1).
HTTPS = _flag("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
# Probes from a load balancer speak plain HTTP to the worker: never redirect them.
SECURE_REDIRECT_EXEMPT = [r"^stability/health/"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = _int("HSTS_SECONDS", 3600 if HTTPS else 0)
# Both commit every subdomain (and, for preload, browsers' built-in lists) to HTTPS for
# months: a decision for the domain's owner, so off unless asked for (security.W005, W021).
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = _flag("HSTS_PRELOAD", False)
if _flag("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Django's dictConfig would replace the handlers set up below.
LOGGING_CONFIG = None
# INFO even with DEBUG on: DEBUG would add every SQL query (django.db.backends) and probe lines.
LOG_LEVEL = env.get("LOG_LEVEL", "").strip().upper() or "INFO"
stability_logging.configure(json=not DEBUG, level=LOG_LEVEL)
# One line per request: the access line reports every 4xx already (at WARNING), so
# Django's own "Not Found: ..." line would be a second one. 5xx keep theirs: it
# carries the traceback.
logging.getLogger("django.request").setLevel(logging.ERROR)
