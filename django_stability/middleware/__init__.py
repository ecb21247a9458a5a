"""The middleware of django-stability."""

from __future__ import annotations

from django_stability.middleware._access_log import AccessLogMiddleware
from django_stability.middleware._cache import CacheHeadersMiddleware
from django_stability.middleware._correlation import CorrelationIdMiddleware
from django_stability.middleware._deadline import DeadlineMiddleware
from django_stability.middleware._problem import ProblemDetailsMiddleware
from django_stability.ratelimit._middleware import RateLimitMiddleware

__all__ = [
    "AccessLogMiddleware",
    "CacheHeadersMiddleware",
    "CorrelationIdMiddleware",
    "DeadlineMiddleware",
    "ProblemDetailsMiddleware",
    "RateLimitMiddleware",
]
