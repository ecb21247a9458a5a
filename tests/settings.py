"""Settings for the test suite.

The default database is the real PostgreSQL server when it answers (always in
CI), and SQLite otherwise so that a laptop without services can still run the
suite; tests that depend on PostgreSQL itself are marked ``postgres``.
"""

from __future__ import annotations

import os
import tempfile
from urllib.parse import urlsplit

from tests import services

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1", "[::1]"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "tests.urls"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "health_check",
    "django_stability",
]

MIDDLEWARE = [
    "django_stability.middleware.CorrelationIdMiddleware",
    "django_stability.middleware.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_stability.middleware.CacheHeadersMiddleware",
    "django_stability.middleware.ProblemDetailsMiddleware",
]

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

if services.postgres_up():
    _pg = urlsplit(services.POSTGRES_URL)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _pg.path.lstrip("/") or "test",
            "USER": _pg.username or "postgres",
            "PASSWORD": _pg.password or "",
            "HOST": _pg.hostname or "127.0.0.1",
            "PORT": _pg.port or 5432,
            # Two runs at once (two checkouts, a tox environment beside
            # ``make test``) each need a test database of their own.
            "TEST": {
                "NAME": os.environ.get(
                    "STABILITY_TEST_DB_NAME", "test_django_stability"
                )
            },
        }
    }
else:
    # A file, not SQLite's in-memory test database: Django ignores close() on
    # an in-memory one, so a connection a test opened in asgiref's shared thread
    # (ASGI requests, sync_to_async) would outlive the test, and the next test
    # that reaches close_old_connections() there (every Channels consumer does)
    # would fail on pytest-django's database blocker. With PostgreSQL it closes.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
            "TEST": {
                "NAME": os.path.join(
                    tempfile.gettempdir(),
                    os.environ.get("STABILITY_TEST_DB_NAME", "test_django_stability")
                    + ".sqlite3",
                )
            },
        }
    }

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STATIC_URL = "/static/"
LOGGING_CONFIG = None  # the suite configures logging through django_stability.logging
