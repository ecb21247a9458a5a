"""The WSGI application of the throwaway servers (``runserver --noreload`` loads it in its main thread)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from tests.health._sigterm_hook import maybe_install

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.health.server_settings")
application = get_wsgi_application()
maybe_install()
