"""Broadcast numbered events for the soak, from its own process, through the workers' Redis.

``python -m tests.system._broadcaster CHANNEL SECONDS INTERVAL OUT`` calls
``django_stability.realtime.broadcast(CHANNEL, {"n": n})`` every INTERVAL
seconds for SECONDS (and at most 100,000 times), appending one line per call
to OUT: ``n id time`` when the call returned (the event is acknowledged), or
``n ERR time kind`` when it raised (the outcome is unknown: the event may or
may not have been stored). The file is flushed after every line.
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.system.settings")

import django  # noqa: E402

django.setup()

from django_stability.realtime import broadcast  # noqa: E402

MAX_EVENTS = 100_000


def main(channel: str, seconds: float, interval: float, out: str) -> None:
    until = time.monotonic() + seconds
    with open(out, "a", encoding="utf-8") as log:
        for n in range(MAX_EVENTS):
            if time.monotonic() >= until:
                break
            started = time.time()
            try:
                event_id = broadcast(channel, {"n": n})
            except Exception as exc:  # any failure: record it, go on
                log.write(f"{n} ERR {started:.3f} {type(exc).__name__}\n")
            else:
                log.write(f"{n} {event_id} {started:.3f}\n")
            log.flush()
            time.sleep(max(0.0, interval - (time.time() - started)))


if __name__ == "__main__":
    main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4])
