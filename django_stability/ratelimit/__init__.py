"""Per-view rate limits with django-ratelimit's vocabulary, for sync and async views.

::

    from django_stability.ratelimit import ratelimit

    @ratelimit(key="user_or_ip", rate="10/m", method="POST")
    async def comment(request): ...

Arguments mean what they mean for ``django_ratelimit.decorators.ratelimit``
(``group``, ``key``, ``rate``, ``method``, ``block``), with three differences:
a blocked request gets a 429 problem response with ``Retry-After`` and
``RateLimit-*`` headers instead of raising ``Ratelimited`` (a 403 by default
there); the ``ip`` key is the client address from
``STABILITY_TRUSTED_PROXIES``; and each hit is one atomic round trip to the
shared-state engine, also from async views. ``request.limited`` is set as
django-ratelimit sets it, and ``request.ratelimit`` holds the :class:`Usage`
(``limit``, ``hits``, ``remaining``, ``reset``).

``RateLimitMiddleware`` (``STABILITY_RATELIMIT`` per client IP) lives here too
and is imported from :mod:`django_stability.middleware`. The package's
modules: ``_rates`` (the rate grammar), ``_client_ip`` (the client address
behind trusted proxies), ``_settings`` (the global-limit settings, parsed
once), ``_core`` (counting a hit), ``_responses`` (429, 503 and headers),
``_decorator``, ``_middleware`` and ``_checks`` (the system checks of these
settings, registered by the app config).
"""

from __future__ import annotations

from django_stability.ratelimit._core import Usage
from django_stability.ratelimit._decorator import ALL, UNSAFE, ratelimit

__all__ = ["ALL", "UNSAFE", "Usage", "ratelimit"]
