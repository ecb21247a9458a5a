"""The Prometheus metric objects of django-stability, all named ``stability_*``.

Each capability updates its metrics here; the metrics endpoint (or any
exposition the project already has, django-prometheus included) reads them
from prometheus-client's default registry. Metrics are created once, at
import, in the default registry; with ``PROMETHEUS_MULTIPROC_DIR`` set,
prometheus-client writes them to per-process files and the gauges aggregate
as their ``multiprocess_mode`` says.

Labels are bounded: ``breaker`` takes the names of the breakers the code
uses, and states or outcomes come from fixed sets.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

# Circuit breakers ---------------------------------------------------------

#: The numeric value of each breaker state in ``stability_breaker_state``.
BREAKER_STATE_VALUES = {"closed": 0, "open": 1, "half_open": 2}

breaker_state = Gauge(
    "stability_breaker_state",
    "State of a circuit breaker as this process last saw it: 0 closed, 1 open, 2 half-open.",
    ["breaker"],
    # The latest observation wins across processes; dead workers' values go.
    multiprocess_mode="livemostrecent",
)
breaker_calls = Counter(
    "stability_breaker_calls",
    "Calls through a circuit breaker, by outcome: success, failure, slow, ignored, rejected, fallback.",
    ["breaker", "outcome"],
)
breaker_transitions = Counter(
    "stability_breaker_transitions",
    "State transitions a circuit breaker made (counted by the process that made them).",
    ["breaker", "to"],
)

# Realtime -----------------------------------------------------------------

realtime_connections = Gauge(
    "stability_realtime_connections",
    "Open realtime subscriptions, by transport (websocket or sse).",
    ["transport"],
    # Every worker's open connections add up; a dead worker's go with it.
    multiprocess_mode="livesum",
)
realtime_replayed = Counter(
    "stability_realtime_replayed",
    "Events sent from the replay log to a subscriber resuming after a gap.",
    ["transport"],
)
