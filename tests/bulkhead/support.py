"""Views behind a bulkhead, sync and async, and the counter of refusals."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from prometheus_client import REGISTRY

from django_stability.bulkhead import bulkhead


@bulkhead("search")
def search(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


@bulkhead("search")
async def asearch(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"ok": True})


urlpatterns = [
    path("api/search/", search),
    path("api/async/search/", asearch),
    path("html/search/", search),
]


def rejected(name: str) -> float:
    """``stability_bulkhead_rejected_total{name}`` now."""
    value = REGISTRY.get_sample_value(
        "stability_bulkhead_rejected_total", {"name": name}
    )
    return value or 0.0
