"""Views the middleware tests run against: each exists as a sync and an async twin."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotAllowed,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django_ratelimit.exceptions import Ratelimited

from django_stability.correlation import get_correlation_id
from django_stability.errors import ApplicationError, register_problem


def ok(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True, "correlation_id": get_correlation_id()})


async def aok(request: HttpRequest) -> HttpResponse:
    await asyncio.sleep(0)
    return JsonResponse({"ok": True, "correlation_id": get_correlation_id()})


def text(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello " * 20, content_type="text/plain")


async def atext(request: HttpRequest) -> HttpResponse:
    return HttpResponse("hello " * 20, content_type="text/plain")


def with_cache_control(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("view decides")
    response["Cache-Control"] = "private, max-age=5"
    return response


async def awith_cache_control(request: HttpRequest) -> HttpResponse:
    return with_cache_control(request)


def stream(request: HttpRequest) -> StreamingHttpResponse:
    return StreamingHttpResponse(iter([b"a", b"b", b"c"]))


async def astream(request: HttpRequest) -> StreamingHttpResponse:
    async def chunks() -> AsyncIterator[bytes]:
        for chunk in (b"a", b"b", b"c"):
            yield chunk

    return StreamingHttpResponse(chunks())


def _deep(level: int) -> None:
    if level == 0:
        raise ZeroDivisionError("secret internal detail 42")
    _deep(level - 1)


_ERRORS: dict[str, Callable[[], Exception]] = {
    "404": lambda: Http404("no such thing"),
    "403": lambda: PermissionDenied("not yours"),
    "400": lambda: BadRequest("bad"),
    "suspicious": lambda: SuspiciousOperation("weird"),
    "app": lambda: ApplicationError(
        "the order is closed", code="order_closed", status=409
    ),
}


def fail(request: HttpRequest, kind: str) -> HttpResponse:
    if kind == "500":
        _deep(10)
    raise _ERRORS[kind]()


async def afail(request: HttpRequest, kind: str) -> HttpResponse:
    await asyncio.sleep(0)
    if kind == "500":
        _deep(10)
    raise _ERRORS[kind]()


# --- Problem details: exceptions with their own status, and error responses views build ---
# (for tests/middleware/test_problem*.py)


class UpstreamDown(Exception):
    """A project exception mapped through register_problem, with a retry hint."""

    retry_after = 7.2


register_problem(
    UpstreamDown,
    status=503,
    code="upstream_down",
    detail="The upstream service is down.",
)


def _more(kind: str) -> HttpResponseBase:
    if kind == "ratelimited":
        raise Ratelimited("limit of 5/m reached for 10.1.2.3")
    if kind == "upstream":
        raise UpstreamDown("connection refused by db-internal-7:5432")
    if kind == "retry":
        raise ApplicationError(
            "The ledger is busy.", code="ledger_busy", status=503, retry_after=2.5
        )
    if kind == "markup":
        raise ApplicationError("<script>alert(1)</script>", code="markup")
    if kind == "plain":
        return HttpResponse("plain words", status=400, content_type="text/plain")
    if kind == "json":
        return JsonResponse({"error": "the view's own"}, status=422)
    if kind == "html":
        response = HttpResponseBadRequest("<p>bad</p>")
        response["X-Custom"] = "kept"
        response["Content-Length"] = "10"
        response.set_cookie("crumb", "1")
        return response
    if kind == "stream":
        return StreamingHttpResponse(iter([b"<p>partial</p>"]), status=500)
    if kind == "405":
        return HttpResponseNotAllowed(["GET"])
    raise LookupError(f"unknown kind {kind!r}")


def more(request: HttpRequest, kind: str) -> HttpResponseBase:
    return _more(kind)


async def amore(request: HttpRequest, kind: str) -> HttpResponseBase:
    await asyncio.sleep(0)
    return _more(kind)


# Correlation IDs and logging (tests/middleware/test_correlation.py, test_logging.py, middleware/test_access_log.py).
# Imports stay inside the views: this block is appended to the module.

#: Set by ``ahang`` once it runs, so a test can disconnect the client at the right time.
HANG_STARTED: dict[str, asyncio.Event] = {}


def _logged_inside(where: str) -> str | None:
    from django_stability.logging import get_logger

    get_logger("tests.endpoints").info("inside", where=where)
    return get_correlation_id()


async def _alogged_inside(where: str) -> str | None:
    return _logged_inside(where)


def log_inside(request: HttpRequest) -> HttpResponse:
    import logging

    from asgiref.sync import async_to_sync

    logging.getLogger("tests.endpoints.stdlib").warning("stdlib %s", "inside")
    return JsonResponse(
        {
            "view": _logged_inside("view"),
            "attribute": request.correlation_id,  # type: ignore[attr-defined]
            "async_to_sync": async_to_sync(_alogged_inside)("async_to_sync"),
        }
    )


async def alog_inside(request: HttpRequest) -> HttpResponse:
    import logging

    from asgiref.sync import sync_to_async

    logging.getLogger("tests.endpoints.stdlib").warning("stdlib %s", "inside")
    return JsonResponse(
        {
            "view": _logged_inside("view"),
            "attribute": request.correlation_id,  # type: ignore[attr-defined]
            "sync_to_async": await sync_to_async(_logged_inside)("sync_to_async"),
        }
    )


def whoami(request: HttpRequest) -> HttpResponse:
    authenticated = request.user.is_authenticated
    _logged_inside("whoami")
    return JsonResponse({"authenticated": authenticated})


async def awhoami(request: HttpRequest) -> HttpResponse:
    user = await request.auser()
    _logged_inside("whoami")
    return JsonResponse({"authenticated": user.is_authenticated})


def stream_logging(request: HttpRequest) -> StreamingHttpResponse:
    from collections.abc import Iterator

    def chunks() -> Iterator[bytes]:
        for chunk in (b"one", b"two"):
            _logged_inside("stream")
            yield chunk

    return StreamingHttpResponse(chunks())


async def astream_logging(request: HttpRequest) -> StreamingHttpResponse:

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in (b"one", b"two"):
            _logged_inside("stream")
            yield chunk

    return StreamingHttpResponse(chunks())


def exposed(request: HttpRequest) -> HttpResponse:
    response = HttpResponse("cors")
    response["Access-Control-Expose-Headers"] = request.GET.get("expose", "")
    return response


def gone(request: HttpRequest) -> HttpResponse:
    return HttpResponse("gone", status=410, content_type="text/plain")


async def agone(request: HttpRequest) -> HttpResponse:
    return gone(request)


async def ahang(request: HttpRequest) -> HttpResponse:
    HANG_STARTED["event"].set()
    await asyncio.Event().wait()
    raise AssertionError("unreachable: the client disconnects first")


def item(request: HttpRequest, pk: int) -> HttpResponse:
    return JsonResponse({"pk": pk})


async def aitem(request: HttpRequest, pk: int) -> HttpResponse:
    return JsonResponse({"pk": pk})
