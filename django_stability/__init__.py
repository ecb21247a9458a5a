"""django-stability: production stability for Django, as one reusable app."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from django_stability.correlation import get_correlation_id, outgoing_headers
from django_stability.errors import ApplicationError

try:
    __version__ = version("django-stability")
except (
    PackageNotFoundError
):  # pragma: no cover - only when run from an uninstalled tree
    __version__ = "0+unknown"

__all__ = [
    "ApplicationError",
    "__version__",
    "get_correlation_id",
    "outgoing_headers",
]
