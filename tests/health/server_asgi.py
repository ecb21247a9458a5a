"""The ASGI application of the throwaway servers (run by uvicorn)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any

from django.core.asgi import get_asgi_application

from tests.health._sigterm_hook import announce_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.health.server_settings")
application: Callable[[Any, Any, Any], Awaitable[None]] = get_asgi_application()
if os.environ.get("STABILITY_TEST_SIGTERM"):
    from django_stability.health import with_graceful_shutdown

    announce_shutdown()
    application = with_graceful_shutdown(application)
if os.environ.get("STABILITY_TEST_PROBES"):
    from django_stability.health import with_health_probes

    application = with_health_probes(application)
