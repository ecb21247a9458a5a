"""The Django signals django-stability sends.

Each capability keeps its signals in a block of its own below.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["shutdown_started"]

# Health: graceful shutdown -------------------------------------------------

#: Sent once per process when the drain grace after SIGTERM is over, just
#: before the server's own SIGTERM handling runs: close long-lived connections
#: now (the realtime layer closes WebSockets with 1012). Sent from a helper
#: thread, with ``sender=GracefulShutdown`` and ``drain_seconds`` (the grace
#: that was waited). Receivers must be quick and thread-safe.
#:
#: .. versionadded:: 0.1
shutdown_started = Signal()
