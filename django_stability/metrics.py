"""The Prometheus metric objects of django-stability, all named ``stability_*``.

Each capability updates its metrics here; the metrics endpoint (or any
exposition the project already has, django-prometheus included) reads them
from prometheus-client's default registry. Metrics are created once, at
import, in the default registry; with ``PROMETHEUS_MULTIPROC_DIR`` set,
prometheus-client writes them to per-process files and the gauges aggregate
as their ``multiprocess_mode`` says.

Labels are bounded: ``breaker`` takes the names of the breakers the code
uses, ``route`` the URL patterns, ``group`` the rate-limit groups, and
methods, states or outcomes come from fixed sets.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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

# HTTP ---------------------------------------------------------------------

#: Methods counted under their own name; any other becomes ``"other"`` (bounded labels).
HTTP_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")
)

http_requests = Counter(
    "stability_http_requests",
    "HTTP requests answered, by method, URL pattern (route) and status.",
    ["method", "route", "status"],
)
http_request_duration = Histogram(
    "stability_http_request_duration_seconds",
    "Time from the access-log middleware receiving a request to its response being sent, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# Rate limits --------------------------------------------------------------

ratelimited = Counter(
    "stability_ratelimited",
    'Requests refused by a rate limit, by group ("global" for the middleware, else the '
    "view's group) and reason: limited (429) or unavailable (503, failing closed).",
    ["group", "reason"],
)

# Database pool ------------------------------------------------------------
# Read from psycopg_pool's statistics by the database health check and by
# django_stability.health.record_pool_metrics(); summed over live processes.

db_pool_size = Gauge(
    "stability_db_pool_size",
    "Connections the process's psycopg pool holds (in use and idle).",
    ["database"],
    multiprocess_mode="livesum",
)
db_pool_available = Gauge(
    "stability_db_pool_available",
    "Idle connections ready in the psycopg pool.",
    ["database"],
    multiprocess_mode="livesum",
)
db_pool_waiting = Gauge(
    "stability_db_pool_waiting",
    "Requests waiting for a connection from the psycopg pool.",
    ["database"],
    multiprocess_mode="livesum",
)
db_pool_max = Gauge(
    "stability_db_pool_max",
    "The psycopg pool's max_size, per process.",
    ["database"],
    multiprocess_mode="livesum",
)

# Drafts -------------------------------------------------------------------

drafts_purged = Counter(
    "stability_drafts_purged",
    "Expired drafts deleted by purge_drafts (or purge_expired), by the process that deleted them.",
)

# Realtime -----------------------------------------------------------------

realtime_connections = Gauge(
    "stability_realtime_connections",
    "Open realtime subscriptions, by transport (websocket or sse).",
    ["transport"],
    # Every worker's open connections add up; a dead worker's go with it.
    multiprocess_mode="livesum",
)
realtime_dropped = Counter(
    "stability_realtime_dropped_slow",
    "Realtime connections closed because the client did not take a message within SEND_TIMEOUT.",
    ["transport"],
)
realtime_replayed = Counter(
    "stability_realtime_replayed",
    "Events sent from the replay log to a subscriber resuming after a gap.",
    ["transport"],
)
