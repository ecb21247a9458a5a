"""The Prometheus metric objects of django-stability, all named ``stability_*``."""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import Counter, Gauge, Histogram


class LazyGauge:
    """A gauge without labels that exists only once something sets it.

    An unlabelled gauge made at import shows 0 from then on, in every process
    (with ``PROMETHEUS_MULTIPROC_DIR``, each process's file holds that 0): a
    worker that has not answered a readiness probe yet would read as unready,
    and an unknown memory limit as a limit of 0 bytes. This one is created,
    in the default registry, by the first :meth:`set`.
    """

    def __init__(self, name: str, documentation: str, **options: Any) -> None:
        self.name = name
        self._arguments = (name, documentation)
        self._options = options
        self._gauge: Gauge | None = None
        self._lock = threading.Lock()

    def set(self, value: float) -> None:
        if self._gauge is None:
            with self._lock:
                if self._gauge is None:
                    self._gauge = Gauge(*self._arguments, **self._options)
        self._gauge.set(value)


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

# Retries ------------------------------------------------------------------

retries = Counter(
    "stability_retries",
    "Retries by name and outcome: retried (one per retry), recovered, exhausted, "
    "budget_exhausted, breaker_open, in_transaction.",
    ["name", "outcome"],
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

# Bulkheads ----------------------------------------------------------------

bulkhead_rejected = Counter(
    "stability_bulkhead_rejected",
    "Calls a bulkhead refused (BulkheadFull): no free place within max_wait, by bulkhead name.",
    ["name"],
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

# Health checks --------------------------------------------------------------
# Recorded by django_stability.health when checks run (probes, the full report,
# check_dependencies), not when a probe answers from its one-second cache.

#: The value of each check status in ``stability_health_check_status``.
HEALTH_STATUS_VALUES = {"ok": 1.0, "warn": 0.5, "fail": 0.0}

health_check_status = Gauge(
    "stability_health_check_status",
    "Last result of a health check in this process: 1 ok, 0.5 warn, 0 failing.",
    ["check"],
    # The most recent run across live processes wins.
    multiprocess_mode="livemostrecent",
)
health_check_duration = Gauge(
    "stability_health_check_duration_seconds",
    "How long the last run of a health check took, in seconds.",
    ["check"],
    multiprocess_mode="livemostrecent",
)
health_ready = LazyGauge(
    "stability_health_ready",
    "1 when this process last answered its readiness probe ready, 0 when failing or draining.",
    # One unready worker makes the instance read 0.
    multiprocess_mode="livemin",
)

# Process ------------------------------------------------------------------
# Written by django_stability._process_metrics: by the process answering a
# scrape, and by every other one from its own activity (at most every 5 s).

process_resident_memory = LazyGauge(
    "stability_process_resident_memory_bytes",
    "Resident memory of the process, in bytes, at its last refresh.",
    # One series per live worker (a pid label); sum them for the instance.
    multiprocess_mode="liveall",
)
process_cpu_seconds = Counter(
    "stability_process_cpu_seconds",
    "User and system CPU time the processes spent, in seconds.",
)
process_memory_limit = LazyGauge(
    "stability_process_memory_limit_bytes",
    "The memory limit of the process's cgroup (the container), in bytes; absent when unlimited.",
    multiprocess_mode="livemax",
)
