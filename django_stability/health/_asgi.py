"""``with_health_probes()``: answer ``live``, ``ready`` and ``startup`` before Django's request cycle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from django.http import HttpResponse
from django.urls import NoReverseMatch, reverse

from django_stability._process_metrics import process_metrics
from django_stability.conf import cached_on_settings
from django_stability.correlation import response_header_items, scope_correlation_id
from django_stability.health._responses import aprobe_report, probe_answer

_ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
_KINDS = {"health-live": "live", "health-ready": "ready", "health-startup": "startup"}


@cached_on_settings
def _probe_paths() -> dict[str, str]:
    """The probe paths of the URLconf, found by name."""
    found = {}
    for name, kind in _KINDS.items():
        try:
            found[reverse(f"stability:{name}")] = kind
        except NoReverseMatch:
            continue  # not included: Django answers that path
    return found


_CREDENTIALS = (b"authorization", b"cookie")


def _credentials(scope: Any) -> bool:
    """Whether the probe carries a session cookie or a token, which only Django's view can judge."""
    return any(name in _CREDENTIALS for name, _ in scope.get("headers", ()))


async def _respond(
    response: HttpResponse, scope: Any, send: Any, *, head: bool
) -> None:
    body = response.content
    for name, value in response_header_items(scope_correlation_id(scope)):
        response[name] = value
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in response.items()
    ]
    headers.append((b"content-length", str(len(body)).encode("ascii")))
    await send(
        {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": headers,
        }
    )
    await send({"type": "http.response.body", "body": b"" if head else body})


def with_health_probes(application: _ASGIApp) -> _ASGIApp:
    """Wrap an ASGI application so ``GET``/``HEAD`` of the probes skip Django's request cycle.

    Put it outermost in ``asgi.py``, around Django's application or a Channels
    router (and inside :func:`with_graceful_shutdown`, or around it: the order
    does not matter). The probe paths are those of ``stability:health-live``,
    ``health-ready`` and ``health-startup`` in the URLconf, under the
    server's ``root_path``.

    Args:
        application: The ASGI application that serves everything else.

    .. versionadded:: 0.1
    """

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            path = scope["path"]
            root = scope.get("root_path", "")
            if root and path.startswith(root):
                path = path[len(root) :]
            kind = _probe_paths().get(path)
            if kind is not None and not _credentials(scope):
                response = probe_answer(kind, await aprobe_report(kind), detail=False)
                await _respond(response, scope, send, head=scope["method"] == "HEAD")
                # No request_finished here: a worker that only answers probes
                # still refreshes its memory and CPU (a few /proc reads, throttled).
                process_metrics.maybe_refresh()
                return
        await application(scope, receive, send)

    return app
