"""The Django signals django-stability sends; connect receivers to react to its events."""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["breaker_state_changed", "shutdown_started"]

# Circuit breakers ----------------------------------------------------------

#: Sent by the process that made a breaker change its effective state, with
#: ``name`` (the breaker), ``old`` and ``new`` (``"closed"``, ``"open"`` or
#: ``"half_open"``). Sync and async receivers both work (``asend`` on the async path).
breaker_state_changed = Signal()

# Health: graceful shutdown -------------------------------------------------

#: Sent once per process when the drain grace after SIGTERM is over, just
#: before the server's own SIGTERM handling runs: close long-lived connections
#: now (the realtime layer closes WebSockets with 1012). Sent from a helper
#: thread, with ``sender=GracefulShutdown`` and ``drain_seconds`` (the grace
#: that was waited). Receivers must be quick and thread-safe.
#:
#: .. versionadded:: 0.1
shutdown_started = Signal()
