"""Per-view rate limits with django-ratelimit's vocabulary, for sync and async views."""

from __future__ import annotations

from django_stability.ratelimit._client_ip import client_ip, from_trusted_proxy
from django_stability.ratelimit._core import Usage
from django_stability.ratelimit._decorator import ALL, UNSAFE, ratelimit

__all__ = ["ALL", "UNSAFE", "Usage", "client_ip", "from_trusted_proxy", "ratelimit"]
