"""From exceptions to problems: ApplicationError, the registry, the mapping table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django_ratelimit.exceptions import Ratelimited

from django_stability.errors._database import (
    DATABASE_DETAIL,
    DATABASE_RETRY_AFTER,
    DATABASE_UNAVAILABLE,
    is_connection_error,
)
from django_stability.errors._problem import ABOUT_BLANK, Problem, check_status


class ApplicationError(Exception):
    """An error whose status, code and detail the client is meant to see.

    Raise it from a view (sync or async). Under the API prefixes, or for a
    client that prefers JSON, ``ProblemDetailsMiddleware`` answers with a
    problem details body built from these arguments; elsewhere with a
    minimal HTML page of the same status. ``detail`` is sent as written, in
    production too, so never put internal information in it.

    Args:
        detail: Human-readable explanation of this occurrence, shown to the client.
        code: Stable machine-readable identifier, e.g. ``"order_closed"``.
        status: HTTP status, 400 to 599.
        title: Short summary of the problem type; defaults to the status phrase.
        type: URI identifying the problem type; ``"about:blank"`` (the RFC 9457
            default) when the status and ``code`` say enough.
        retry_after: Seconds after which a retry may succeed; sent as
            ``Retry-After`` (rounded up to whole seconds).

    Raises:
        ValueError: ``status`` is not an int from 400 to 599, or ``code`` is empty.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        detail: str,
        *,
        code: str,
        status: int = 400,
        title: str | None = None,
        type: str = ABOUT_BLANK,
        retry_after: float | None = None,
    ) -> None:
        if not code:
            raise ValueError(f"ApplicationError needs a non-empty code, not {code!r}")
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.status = check_status(status)
        self.title = title
        self.type = type
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's default pickling calls cls(*args), which loses the keyword-only
        # arguments; restoring the state directly also suits subclasses' own signatures.
        return _restore, (type(self), self.args, self.__dict__)

    def problem(self) -> Problem:
        """The problem details this error is answered with."""
        return Problem.for_status(
            self.status,
            detail=self.detail,
            code=self.code,
            title=self.title,
            type=self.type,
            retry_after=self.retry_after,
        )


def _restore(
    cls: type[ApplicationError], args: tuple[Any, ...], state: dict[str, Any]
) -> ApplicationError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


@dataclass(frozen=True)
class _Mapping:
    status: int
    code: str
    title: str | None
    detail: str | None
    type: str


_registry: dict[type[BaseException], _Mapping] = {}


def register_problem(
    exc_type: type[BaseException],
    *,
    status: int,
    code: str,
    title: str | None = None,
    detail: str | None = None,
    type: str = ABOUT_BLANK,
) -> None:
    """Map an exception class (and its subclasses) to a problem.

    This is the hook through which a capability maps its exceptions without
    the core importing it: ``django_stability.breakers`` registers
    ``CircuitOpenError`` as 503 when it is imported. The most derived
    registered class wins, so a subclass of ``PermissionDenied`` can be
    mapped apart from it. The response carries ``Retry-After`` when the
    exception has a numeric ``retry_after`` attribute (seconds).

    Args:
        exc_type: The exception class.
        status: HTTP status, 400 to 599.
        code: Stable machine-readable identifier, e.g. ``"circuit_open"``.
        title: Defaults to the status phrase.
        detail: Text shown to clients; defaults to the generic text of the status.
            The exception's own message is shown only when ``DEBUG`` is on.
        type: Problem type URI, ``"about:blank"`` by default.

    Raises:
        ValueError: ``status`` is not an int from 400 to 599, or ``code`` is empty.

    .. versionadded:: 0.1
    """
    if not code:
        raise ValueError("register_problem needs a non-empty code")
    _registry[exc_type] = _Mapping(check_status(status), code, title, detail, type)


def _registered(exc: BaseException) -> _Mapping | None:
    for klass in type(exc).__mro__:
        if (mapping := _registry.get(klass)) is not None:
            return mapping
    return None


# django-ratelimit is a required dependency; its Ratelimited subclasses PermissionDenied.
register_problem(Ratelimited, status=429, code="rate_limited")


def answers_itself(exc: BaseException) -> bool:
    """Whether the exception carries its own status (ApplicationError, registered, database down).

    Django does not know these: left to it, they would all become 500s.
    """
    return (
        isinstance(exc, ApplicationError)
        or _registered(exc) is not None
        or is_connection_error(exc)
    )


def problem_for_exception(exc: BaseException) -> Problem:
    """The problem an exception is answered with (the mapping table of ``docs/errors.rst``).

    With ``DEBUG`` off, the detail is the generic text of the status (the
    exception's message never leaves the server), except for
    :class:`ApplicationError`, whose detail is meant for clients. With ``DEBUG``
    on, the detail is the exception's message when it has one; for 500s, the
    class name and the message. Tracebacks never go in a response; they are in the log.

    .. versionadded:: 0.1
    """
    if isinstance(exc, ApplicationError):
        return exc.problem()
    debug_detail = str(exc) if settings.DEBUG else None
    if (mapping := _registered(exc)) is not None:
        return Problem.for_status(
            mapping.status,
            detail=debug_detail or mapping.detail,
            code=mapping.code,
            title=mapping.title,
            type=mapping.type,
            retry_after=getattr(exc, "retry_after", None),
        )
    if is_connection_error(exc):
        # The database is down or unreachable (not the query's fault): a
        # retry may succeed, as it will once the database breaker opens.
        return Problem.for_status(
            503,
            detail=debug_detail or DATABASE_DETAIL,
            code=DATABASE_UNAVAILABLE,
            retry_after=DATABASE_RETRY_AFTER,
        )
    if isinstance(exc, Http404):
        return Problem.for_status(404, detail=debug_detail)
    if isinstance(exc, PermissionDenied):
        return Problem.for_status(403, detail=debug_detail)
    if isinstance(exc, BadRequest | SuspiciousOperation | MultiPartParserError):
        return Problem.for_status(400, detail=debug_detail)
    if debug_detail is not None:
        name = type(exc).__qualname__
        debug_detail = f"{name}: {debug_detail}" if debug_detail else name
    return Problem.for_status(500, detail=debug_detail)
