"""What the protected views share: the 401 for anonymous callers, the 405 for other methods,
and the metrics token check, throttled per client address.
"""

from __future__ import annotations

import enum
import hmac
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from django.http import HttpRequest, HttpResponse

from django_stability import metrics
from django_stability.checks._rates import Rate
from django_stability.conf import conf
from django_stability.errors import problem_response
from django_stability.ratelimit._client_ip import client_ip
from django_stability.ratelimit._core import (
    Usage,
    ahit,
    counter_key,
    hit,
    ip_value,
    over_limit_until,
    wall_clock,
)
from django_stability.state import get_engine

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser


#: Failed metrics-token checks allowed per client address and window.
TOKEN_FAILURES: Final = Rate(10, 60)
#: The group of the token failure counters: in their keys and in ``stability_ratelimited_total``.
TOKEN_GROUP: Final = "metrics_token"


class Token(enum.Enum):
    """What a request's ``Authorization: Bearer`` says about the metrics token."""

    ABSENT = "absent"  # no bearer token, or no STABILITY_METRICS_TOKEN to compare with
    VALID = "valid"
    INVALID = "invalid"
    THROTTLED = "throttled"  # too many failures from this address: not compared


class _Check:
    """The pure part of a token check: what to compare, and the counter of its failures."""

    def __init__(self, request: HttpRequest) -> None:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        token = conf.metrics_token
        self.token = token.encode() if token else None
        self.given = given.strip().encode() if scheme.lower() == "bearer" else None
        self.key = counter_key(
            TOKEN_GROUP, TOKEN_FAILURES, ip_value(client_ip(request))
        )
        self.now = wall_clock()
        self.usage: Usage | None = None

    def before(self) -> Token | None:
        """The answer when no comparison is needed; ``None`` to compare."""
        if self.token is None or self.given is None:
            return Token.ABSENT
        if over_limit_until(get_engine(), self.key, self.now) is not None:
            return self._throttled()
        if hmac.compare_digest(self.given, self.token):
            return Token.VALID
        return None

    def after(self, usage: Usage) -> Token:
        """The answer once a failure is counted."""
        self.usage = usage
        return self._throttled() if usage.limited else Token.INVALID

    def _throttled(self) -> Token:
        metrics.ratelimited.labels(TOKEN_GROUP, "limited").inc()
        return Token.THROTTLED


def token_check(request: HttpRequest) -> Token:
    """Compare the request's bearer token with ``STABILITY_METRICS_TOKEN``, counting failures."""
    check = _Check(request)
    if (answer := check.before()) is not None:
        return answer
    return check.after(hit(get_engine(), TOKEN_FAILURES, check.key, check.now))


async def atoken_check(request: HttpRequest) -> Token:
    """The async twin of :func:`token_check`."""
    check = _Check(request)
    if (answer := check.before()) is not None:
        return answer
    usage = await ahit(get_engine(), TOKEN_FAILURES, check.key, check.now)
    return check.after(usage)


def token_throttled(request: HttpRequest) -> HttpResponse:
    """The 429 problem for an address that failed the token check too often."""
    now = wall_clock()
    key = counter_key(TOKEN_GROUP, TOKEN_FAILURES, ip_value(client_ip(request)))
    end = over_limit_until(get_engine(), key, now)
    # Without a remembered end (counted locally while Redis is down): a whole window.
    retry = TOKEN_FAILURES.seconds if end is None else max(1, math.ceil(end - now))
    return problem_response(
        429,
        code="token_throttled",
        detail=f"Too many failed token checks from this address (at most "
        f"{TOKEN_FAILURES.count} per {TOKEN_FAILURES.seconds} s); retry in {retry} s.",
        retry_after=retry,
    )


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
