"""A worker process for the multi-process budget test: failing calls to one dependency, retried.

Started as ``python -m tests.retry._worker MODE REDIS_URL NAME PORT CALLS``. It
sets Django up, prints ``{"ready": true}``, waits for a line on stdin (so that
every worker starts together), makes ``CALLS`` calls to the TCP service on
``PORT`` (which hangs up at once: each call fails) and prints ``{"calls": n,
"raised": n}``. ``MODE`` is ``budget`` (``django_stability.retry.retry(NAME)``,
its budget in Redis) or ``stamina`` (plain ``stamina.retry``, same attempts).
"""

from __future__ import annotations

import json
import socket
import sys


def main() -> None:
    mode, url, name, port, calls = sys.argv[1:6]
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["django_stability"],
        DATABASES={},
        USE_TZ=True,
        LOGGING_CONFIG=None,
        STABILITY_REDIS_URL=url,
        STABILITY_RETRIES={
            name: {
                "attempts": 3,
                "budget": 0.1,
                "window": 3600,
                "wait_initial": 0,
                "wait_max": 0,
            }
        },
    )
    django.setup()
    import stamina

    from django_stability.retry import retry

    def dependency() -> None:
        with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as conn:
            if not conn.recv(1):
                raise ConnectionResetError("the dependency hung up")

    if mode == "budget":
        call = retry(name)(dependency)
    else:
        call = stamina.retry(
            on=ConnectionError, attempts=3, wait_initial=0, wait_max=0, wait_jitter=0
        )(dependency)
    stamina.instrumentation.set_on_retry_hooks([])  # no log line per retry
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.readline()
    raised = 0
    for _ in range(int(calls)):
        try:
            call()
        except ConnectionError:
            raised += 1
    print(json.dumps({"calls": int(calls), "raised": raised}), flush=True)


if __name__ == "__main__":
    main()
