"""``manage.py runserver`` of the example: Daphne's, so one process serves HTTP, WebSocket and SSE.

Django's own runserver speaks WSGI only: the page's WebSocket would get a 404
and never go live. This is Daphne's runserver (``ASGI_APPLICATION``, with
autoreload), with three changes for a demo:

- Daphne's own line per request is dropped: ``AccessLogMiddleware`` writes the
  one structured line, and the realtime layer logs subscriptions. Refused
  WebSocket handshakes, which nothing else reports, keep Daphne's line.
- Static files are not intercepted in front of Django: while DEBUG is on,
  ``urls.py`` serves them through the middleware, so they get the same line.
- Once the server listens, it says what to do next (Daphne's own start-up lines,
  which the banner repeats, are left out).

``--noasgi`` still runs Django's WSGI server (the smoke test checks WSGI with it).
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path
from typing import Any

from daphne.management.commands.runserver import (  # type: ignore[import-untyped]
    Command as DaphneRunserver,
)
from daphne.management.commands.runserver import get_default_application
from daphne.server import Server  # type: ignore[import-untyped]

MANAGE_PY = Path(__file__).resolve().parents[3] / "manage.py"


class Command(DaphneRunserver):  # type: ignore[misc]
    help = "Serve the example over HTTP, WebSocket and SSE (Daphne), with autoreload."

    def inner_run(self, *args: Any, **options: Any) -> None:
        self.server_cls = functools.partial(Server, ready_callable=self.next_steps)
        # "Listening on TCP address ..." and the like: the banner says it already.
        logging.getLogger("daphne.server").setLevel(logging.WARNING)
        # Django's WSGI server (--noasgi) logs every request too; keep its errors only.
        logging.getLogger("django.server").setLevel(logging.ERROR)
        super().inner_run(*args, **options)

    def on_bind(self, server_port: int) -> None:
        """Django's WSGI server (``--noasgi``) is listening."""
        super().on_bind(server_port)
        self.next_steps()

    def get_application(self, options: dict[str, Any]) -> Any:
        return get_default_application()

    def log_action(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        if protocol == "websocket" and action == "rejected":
            super().log_action(protocol, action, details)

    def next_steps(self) -> None:
        host = f"[{self.addr}]" if self._raw_ipv6 else self.addr
        base = f"{self.protocol}://{host}:{self.port}"
        python = os.path.relpath(sys.executable)
        manage = os.path.relpath(MANAGE_PY)
        self.stdout.write(
            "\n"
            + self.style.SUCCESS("Next steps")
            + "\n"
            + "  1. Create a user, in another terminal (from this directory):\n"
            + f"       {python} {manage} createsuperuser\n"
            + f"  2. Log in at {base}/admin/login/?next=/, then open\n"
            + f"     {base}/ in two tabs: a note saved in one appears in the other.\n"
            + f"  Admin             {base}/admin/\n"
            + f"  Circuit breakers  {base}/admin/django_stability/breaker/\n"
            + f"  Readiness probe   {base}/stability/health/ready\n"
        )
