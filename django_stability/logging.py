"""Structured logging: structlog and the standard library through one pipeline."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from contextvars import ContextVar, Token
from typing import IO

import structlog
from django.http import HttpRequest
from django.utils.functional import LazyObject
from structlog.types import EventDict, Processor, WrappedLogger

from django_stability.correlation import get_correlation_id

__all__ = [
    "add_request_context",
    "bind_request",
    "configure",
    "get_logger",
    "loaded_user_id",
    "unbind_request",
]

_request: ContextVar[HttpRequest | None] = ContextVar(
    "django_stability.request", default=None
)


def bind_request(request: HttpRequest) -> Token[HttpRequest | None]:
    """Make ``request`` the source of ``method``, ``path`` and ``user_id`` in log lines.

    ``AccessLogMiddleware`` does this for every request; call it yourself only
    without that middleware.

    Returns:
        A token for :func:`unbind_request`.
    """
    return _request.set(request)


def unbind_request(token: Token[HttpRequest | None]) -> None:
    """Undo :func:`bind_request`."""
    _request.reset(token)


def loaded_user_id(request: HttpRequest) -> str | None:
    """The primary key (as a string) of the request's user, if already loaded and authenticated.

    Never loads the user itself: ``request.user`` is lazy, and evaluating it
    costs a session read and a database query that the view may not need. The
    user counts as loaded once the view (or a middleware) used ``request.user``
    or ``await request.auser()``, or after :func:`django.contrib.auth.login`.
    """
    state = request.__dict__
    user = state.get("_cached_user") or state.get("_acached_user")
    if user is None:
        user = state.get("user")
        # Django's lazy user is unevaluated unless the cache above is filled.
        if user is None or isinstance(user, LazyObject):
            return None
    if not getattr(user, "is_authenticated", False):
        return None
    return str(user.pk)


def add_request_context(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    """Processor adding ``correlation_id``, ``method``, ``path`` and ``user_id``.

    Values come from the current context; a standard-library record carrying a
    ``request`` (Django's ``django.request`` lines, logged after the middleware
    has finished) supplies them itself. Keys already in the event win. Add it to
    your own processor chain if you configure structlog yourself.
    """
    cid = get_correlation_id()
    request = _request.get()
    if request is None:
        request = getattr(event_dict.get("_record"), "request", None)
        if not isinstance(request, HttpRequest):
            if cid is not None:
                event_dict.setdefault("correlation_id", cid)
            return event_dict
    if cid is None:
        cid = getattr(request, "correlation_id", None)
    if cid is not None:
        event_dict.setdefault("correlation_id", cid)
    event_dict.setdefault("method", request.method)
    event_dict.setdefault("path", request.path)
    if "user_id" not in event_dict:
        user_id = loaded_user_id(request)
        if user_id is not None:
            event_dict["user_id"] = user_id
    return event_dict


# One chain, built once, shared by every configuration: structlog caches a
# logger's processors on first use, so they must not change when configure()
# runs again. What does change (level, renderer, stream) lives in the stdlib
# handler and formatter.
_SHARED: tuple[Processor, ...] = (
    structlog.contextvars.merge_contextvars,
    add_request_context,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
    structlog.processors.StackInfoRenderer(),
)
_STRUCTLOG_CHAIN: list[Processor] = [
    structlog.stdlib.filter_by_level,
    structlog.stdlib.PositionalArgumentsFormatter(),
    *_SHARED,
    structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
]
_FOREIGN_CHAIN: list[Processor] = [
    structlog.stdlib.ExtraAdder(["status_code"]),
    *_SHARED,
]

# Django's default LOGGING gives these loggers their own console handlers (and
# stops django.server from propagating); configure() hands them to the root.
_DJANGO_LOGGERS = ("django", "django.server")


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler installed by :func:`configure` (so a second call can replace it)."""


_LEADING_KEYS = ("timestamp", "level", "logger", "event", "correlation_id")


def _leading_keys_first(
    logger: WrappedLogger, method_name: str, event_dict: EventDict
) -> EventDict:
    """Put the keys people scan for first in the JSON object (machines do not mind)."""
    ordered = {key: event_dict.pop(key) for key in _LEADING_KEYS if key in event_dict}
    ordered.update(event_dict)
    return ordered


def _formatter(json: bool, stream: IO[str]) -> structlog.stdlib.ProcessorFormatter:
    renderer: Sequence[Processor]
    if json:
        renderer = (
            structlog.processors.format_exc_info,
            _leading_keys_first,
            structlog.processors.JSONRenderer(),
        )
    else:
        colors = bool(getattr(stream, "isatty", lambda: False)())
        renderer = (structlog.dev.ConsoleRenderer(colors=colors),)
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_FOREIGN_CHAIN,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *renderer,
        ],
    )


def configure(
    json: bool = True, level: str | int = "INFO", *, stream: IO[str] | None = None
) -> logging.Handler:
    """Set up structlog and the standard library's root logger together.

    Safe to call more than once: each call replaces the handler the previous
    one installed. Call it from ``settings.py`` with ``LOGGING_CONFIG = None``,
    or after Django has set logging up (``wsgi.py``/``asgi.py``).

    Args:
        json: one JSON object per line (production); ``False`` for
            structlog's console renderer (development, coloured on a terminal).
        level: the root level, a name such as ``"INFO"`` or a number.
        stream: where lines go; ``sys.stdout`` (looked up at call time) by default.

    Returns:
        The root handler installed, e.g. to remove it again in tests.

    Raises:
        ValueError: unknown level name.
    """
    numeric = (
        level
        if isinstance(level, int)
        else logging.getLevelNamesMapping().get(level.upper())
    )
    if numeric is None:
        raise ValueError(f"unknown log level {level!r}")
    stream = sys.stdout if stream is None else stream
    structlog.configure(
        processors=_STRUCTLOG_CHAIN,
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = _Handler(stream)
    handler.setFormatter(_formatter(json, stream))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in _DJANGO_LOGGERS:
        django_logger = logging.getLogger(name)
        django_logger.propagate = True
        for default in [
            h for h in django_logger.handlers if type(h) is logging.StreamHandler
        ]:
            django_logger.removeHandler(default)
    return handler


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` (use ``__name__``), routed as :func:`configure` says.

    Example::

        log = get_logger(__name__)
        log.info("order_paid", order_id=order.pk, amount=str(order.total))
    """
    return structlog.stdlib.get_logger(name)
