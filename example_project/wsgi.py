"""WSGI entry point: ``gunicorn example_project.wsgi`` (from the repository root)."""

from __future__ import annotations

import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example_project.settings")

application = get_wsgi_application()

from django_stability.health import install_sigterm_handler  # noqa: E402

# SIGTERM drains first (readiness 503 "draining" for DRAIN_SECONDS while requests
# are still served), then goes to the server's own handler. gunicorn's workers
# load the application after installing their handlers, so this chains to them.
# Only from the main thread: a server that imports the application elsewhere
# keeps its own handling.
if threading.current_thread() is threading.main_thread():
    install_sigterm_handler()
