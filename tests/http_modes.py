"""One request through Django's real WSGI handler (test Client) or ASGI handler (AsyncClient).

Tests parametrised over :data:`MODES` (and over the sync and async twin views
of ``tests/urls.py``) cover the four combinations with one body. The WSGI
client runs in a worker thread, as under a threaded WSGI server.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.test import AsyncClient, Client, override_settings

MODES = ("wsgi", "asgi")


async def fetch(
    mode: str, method: str, path: str, *, csrf: bool = False, **extra: Any
) -> Any:
    """``method`` (``"get"``, ``"post"``...) ``path`` in ``mode``; 500s come back as responses.

    Returns the test client's response (an ``HttpResponse`` with ``.json()`` and friends).
    """
    if mode == "asgi":
        aclient = AsyncClient(raise_request_exception=False, enforce_csrf_checks=csrf)
        return await getattr(aclient, method)(path, **extra)
    client = Client(raise_request_exception=False, enforce_csrf_checks=csrf)
    return await sync_to_async(getattr(client, method))(path, **extra)


#: The metrics token ``fetch_detailed`` configures and sends.
DETAIL_TOKEN = "probe-detail-token-0123456789"


async def fetch_detailed(mode: str, path: str) -> Any:
    """GET ``path`` as a metrics-token caller, who sees each health check's ``ms`` and ``detail``."""
    with override_settings(STABILITY_METRICS_TOKEN=DETAIL_TOKEN):
        return await fetch(
            mode, "get", path, headers={"Authorization": f"Bearer {DETAIL_TOKEN}"}
        )
