"""``stability/breakers/``: the breakers' live state as JSON, and the operator actions (staff only)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse

from django_stability.breakers import act, all_breakers, breaker, operator_view
from django_stability.breakers._registry import is_known, valid_name
from django_stability.errors import problem_response

_READ = ("GET", "HEAD")
_WRITE = ("POST",)
VIEW = "django_stability.view_breaker"
CHANGE = "django_stability.change_breaker"


def _refused(request: HttpRequest, perm: str) -> HttpResponse | None:
    """The problem answer for a caller who may not use ``perm``, or ``None``."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return problem_response(401)
    if not (user.is_active and user.is_staff and user.has_perm(perm)):
        return problem_response(403)
    return None


def _gate(
    request: HttpRequest, methods: tuple[str, ...], perm: str
) -> HttpResponse | None:
    if request.method not in methods:
        return problem_response(405, headers={"Allow": ", ".join(methods)})
    return _refused(request, perm)


def _unknown(name: str) -> HttpResponse | None:
    # A malformed name is as unknown as a well-formed one nobody configured,
    # and is not echoed back: it may be anything a URL can carry.
    if not valid_name(name):
        return problem_response(404)
    if not is_known(name):
        return problem_response(
            404, detail=f"There is no circuit breaker called {name!r}."
        )
    return None


def _json(body: dict[str, object]) -> JsonResponse:
    response = JsonResponse(body)
    response["Cache-Control"] = "no-store"  # live state: never serve it from a cache
    return response


@operator_view
async def breaker_list(request: HttpRequest) -> HttpResponse:
    """``{"breakers": [<breaker JSON>...]}``: every configured or used breaker, by name.

    .. versionadded:: 0.1
    """
    if (refused := await sync_to_async(_gate)(request, _READ, VIEW)) is not None:
        return refused
    snapshots = [await found.asnapshot() for found in all_breakers()]
    return _json({"breakers": [snapshot.as_json() for snapshot in snapshots]})


@operator_view
async def breaker_detail(request: HttpRequest, name: str) -> HttpResponse:
    """The breaker JSON of ``name``.

    .. versionadded:: 0.1
    """
    if (refused := await sync_to_async(_gate)(request, _READ, VIEW)) is not None:
        return refused
    if (missing := _unknown(name)) is not None:
        return missing
    return _json((await breaker(name).asnapshot()).as_json())


@operator_view
async def breaker_action(request: HttpRequest, name: str, action: str) -> HttpResponse:
    """Apply ``action`` (``open``, ``close``, ``reset``, ``release``) and answer with the breaker JSON.

    The answer adds ``"recorded"``: ``false`` when the database could not
    record the action (it took effect all the same).

    .. versionadded:: 0.1
    """
    if (refused := await sync_to_async(_gate)(request, _WRITE, CHANGE)) is not None:
        return refused
    if (missing := _unknown(name)) is not None:
        return missing
    done = await sync_to_async(act)(name, action, user=request.user, via="api")
    return _json({**done.snapshot.as_json(), "recorded": done.recorded})
