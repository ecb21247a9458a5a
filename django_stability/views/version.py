"""``GET stability/version``: the running application version."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from django_stability.app_version import app_version
from django_stability.errors import problem_response

__all__ = ["version"]

_SAFE = ("GET", "HEAD")


# Read-only whatever the method: exempt so that a POST gets the honest 405, not a CSRF 403.
@csrf_exempt
def version(request: HttpRequest) -> HttpResponse:
    """``{"version": STABILITY_APP_VERSION}``; other methods than GET and HEAD get a 405 problem.

    ``Cache-Control: no-cache`` lets clients keep the answer but revalidate it
    each time (cheaply, with the ETag of ``CacheHeadersMiddleware``), so a new
    deploy is seen at once.

    .. versionadded:: 0.1
    """
    if request.method not in _SAFE:
        return problem_response(405, headers={"Allow": ", ".join(_SAFE)})
    response = JsonResponse({"version": app_version()})
    response["Cache-Control"] = "no-cache"
    return response
