"""Settings for a ``manage.py`` run in a separate process by tests/management/test_breakers.py.

The suite's settings, with the shared state on the Redis the parent test
uses and the breakers it configured, both given through the environment; and
an in-memory SQLite database, so the child never touches a real database.
"""

from __future__ import annotations

import json
import os

from tests.settings import *  # noqa: F403

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
STABILITY_REDIS_URL = os.environ["STABILITY_REDIS_URL"]
STABILITY_BREAKERS = json.loads(os.environ.get("STABILITY_TEST_BREAKERS", "{}"))
