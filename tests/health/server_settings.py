"""Settings of the throwaway Django servers the cross-process health tests start.

Everything that differs between runs comes from the environment:
``DATABASE_URL`` and ``DB_*`` (through ``database_from_env``),
``STABILITY_REDIS_URL``, ``STABILITY_HEALTH_TIMEOUT`` and
``STABILITY_DRAIN_SECONDS``; ``STABILITY_TEST_SIGTERM`` installs the graceful
shutdown handler (``tests/health/_sigterm_hook.py``).
"""

from __future__ import annotations

import os

from django_stability.db import database_from_env
from tests.settings import *  # noqa: F403

DATABASES = {"default": database_from_env(os.environ)}
STABILITY_REDIS_URL = os.environ.get("STABILITY_REDIS_URL") or None
STABILITY_HEALTH_TIMEOUT = float(os.environ.get("STABILITY_HEALTH_TIMEOUT", "2"))
STABILITY_DRAIN_SECONDS = float(os.environ.get("STABILITY_DRAIN_SECONDS", "10"))
ROOT_URLCONF = "tests.health.server_urls"
WSGI_APPLICATION = "tests.health.server_wsgi.application"
