"""The middleware of django-stability.

Order in ``MIDDLEWARE``: ``CorrelationIdMiddleware`` first, then
``AccessLogMiddleware``, ``RateLimitMiddleware``, Django's own, then
``CacheHeadersMiddleware`` and ``ProblemDetailsMiddleware`` last. Every class
is sync and async capable.
"""

from __future__ import annotations

from django_stability.middleware._access_log import AccessLogMiddleware
from django_stability.middleware._cache import CacheHeadersMiddleware
from django_stability.middleware._correlation import CorrelationIdMiddleware
from django_stability.middleware._problem import ProblemDetailsMiddleware
from django_stability.ratelimit._middleware import RateLimitMiddleware

__all__ = [
    "AccessLogMiddleware",
    "CacheHeadersMiddleware",
    "CorrelationIdMiddleware",
    "ProblemDetailsMiddleware",
    "RateLimitMiddleware",
]
