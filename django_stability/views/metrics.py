"""``GET stability/metrics``: the Prometheus text exposition, for a scraper with the token or on loopback."""

from __future__ import annotations

import os

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

from django_stability import metrics as _metrics  # noqa: F401 - creates the stability_* metrics
from django_stability._process_metrics import process_metrics
from django_stability.conf import conf
from django_stability.errors import problem_response
from django_stability.health import record_pool_metrics
from django_stability.ratelimit._client_ip import client_ip, parse_address
from django_stability.views._auth import Token, token_check, token_throttled

__all__ = ["metrics"]

_SAFE = ("GET", "HEAD")
# The text format every Prometheus version reads; our metric and label names are
# all legacy-valid, so nothing needs the 1.0.0 escaping newer clients announce.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _registry() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """401 or 403 problem unless the caller may read metrics."""
    if conf.metrics_token:
        answer = token_check(request)
        if answer is Token.VALID:
            return None
        if answer is Token.THROTTLED:
            return token_throttled(request)
        return problem_response(
            401,
            detail="Send the metrics token as 'Authorization: Bearer <token>'.",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    address = parse_address(client_ip(request))
    if address is not None and address.is_loopback:
        return None
    return problem_response(
        403,
        detail="Metrics are readable from loopback only unless STABILITY_METRICS_TOKEN is set.",
    )


# Read-only whatever the method: exempt so that a POST gets the honest 405, not a CSRF 403.
@csrf_exempt
def metrics(request: HttpRequest) -> HttpResponse:
    """The Prometheus text format (0.0.4) of every metric in the registry.

    With ``STABILITY_METRICS_TOKEN`` set, the caller must send
    ``Authorization: Bearer <token>`` (else 401); without it, only loopback
    clients (``127.0.0.1``, ``::1``, as seen through trusted proxies) may read
    (else 403). Other methods than GET and HEAD get a 405 problem. After
    ``TOKEN_FAILURES`` wrong tokens from one address in a minute, token checks
    from it are refused with a 429 problem until the minute ends.

    .. versionadded:: 0.1
    """
    if request.method not in _SAFE:
        return problem_response(405, headers={"Allow": ", ".join(_SAFE)})
    if (refused := _refusal(request)) is not None:
        return refused
    record_pool_metrics()  # the pool gauges are read, not pushed: refresh them now
    process_metrics.refresh()  # so are this process's memory and CPU
    response = HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response
