"""What the logged-in-only views share: the 401 for anonymous callers, the 405 for other methods."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse

from django_stability.errors import problem_response

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

__all__ = ["method_not_allowed", "no_store", "unauthorized", "user_of"]


def user_of(request: HttpRequest) -> AbstractBaseUser | None:
    """The logged-in user of ``request``, or None."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return user  # type: ignore[no-any-return]


def unauthorized() -> HttpResponse:
    return no_store(
        problem_response(
            401,
            detail="Log in first: this endpoint needs a session.",
            code="not_authenticated",
        )
    )


def method_not_allowed(allowed: Sequence[str]) -> HttpResponse:
    return problem_response(405, headers={"Allow": ", ".join(allowed)})


def no_store(response: HttpResponse) -> HttpResponse:
    """Per-user answers: never kept by a browser or a shared cache."""
    response["Cache-Control"] = "no-store"
    return response
