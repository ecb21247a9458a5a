"""``POST stability/keepalive``: renew the session of a user who is still typing."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse

from django_stability.views._auth import (
    method_not_allowed,
    no_store,
    unauthorized,
    user_of,
)

__all__ = ["keepalive"]

_ALLOWED = ("POST",)


def keepalive(request: HttpRequest) -> HttpResponse:
    """Renew the caller's session; ``{"expires_in": seconds}`` until it expires if idle.

    Marking the session modified makes ``SessionMiddleware`` save it and send
    the cookie again, which restarts ``SESSION_COOKIE_AGE`` from now. POST
    only, under Django's CSRF protection; anonymous callers get a 401 problem.

    .. versionadded:: 0.1
    """
    if request.method not in _ALLOWED:
        return method_not_allowed(_ALLOWED)
    if user_of(request) is None:
        return unauthorized()
    request.session.modified = True
    return no_store(JsonResponse({"expires_in": request.session.get_expiry_age()}))
