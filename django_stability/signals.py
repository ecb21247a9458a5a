"""Signals django-stability sends; connect receivers to react to its events.

.. versionadded:: 0.1
"""

from __future__ import annotations

from django.dispatch import Signal

# Circuit breakers ----------------------------------------------------------

#: Sent by the process that made a breaker change its effective state, with
#: ``name`` (the breaker), ``old`` and ``new`` (``"closed"``, ``"open"`` or
#: ``"half_open"``). Sync and async receivers both work (``asend`` on the async path).
breaker_state_changed = Signal()

# Shutdown ------------------------------------------------------------------

#: Sent when the process begins shutting down (SIGTERM or an operator's drain),
#: with no arguments. Realtime connections served by this process close with
#: code 1012 ("service restart") so clients reconnect to another worker.
shutdown_started = Signal()
