"""A worker process for the multi-process breaker tests: one breaker, driven line by line.

Started as ``python -m tests.breakers._worker URL NAME OPTIONS_JSON``; reads one
JSON command per line on stdin and answers one JSON line on stdout. The test
sends the time with every command, so every worker lives on the test's clock.

Commands: ``{"op": "state", "now": t}``, ``{"op": "fail", "now": t}`` (one
failing call), ``{"op": "call", "now": t}`` (one successful call: ``ok`` or
``open``), ``{"op": "enter", "now": t}`` (enter ``with breaker`` and stay
inside: ``admitted`` or ``open``), ``{"op": "exit", "now": t, "ok": bool}``.
"""

from __future__ import annotations

import json
import sys

from tests.clock import FakeClock


def main() -> None:
    url, name, options = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django_stability",
        ],
        DATABASES={
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
        },
        USE_TZ=True,
        LOGGING_CONFIG=None,
        STABILITY_REDIS_URL=url,
        STABILITY_BREAKERS={name: options},
    )
    django.setup()
    from django.core.management import call_command

    from django_stability.breakers import CircuitOpenError, breaker
    from django_stability.logging import configure

    configure(json=True, level="WARNING", stream=sys.stderr)  # stdout is for answers
    call_command("migrate", verbosity=0)
    clock = FakeClock(0.0)
    b = breaker(name)
    b.clock = clock
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        clock.now = command["now"]
        op = command["op"]
        answer: object
        if op == "state":
            answer = b.state
        elif op == "fail":
            try:
                with b:
                    raise ConnectionError("dependency down")
            except ConnectionError:
                answer = "failed"
            except CircuitOpenError:
                answer = "open"
        elif op == "call":
            try:
                answer = b.call(lambda: "ok")
            except CircuitOpenError:
                answer = "open"
        elif op == "enter":
            try:
                b.__enter__()
                answer = "admitted"
            except CircuitOpenError:
                answer = "open"
        elif op == "exit":
            error = None if command["ok"] else ConnectionError("still down")
            b.__exit__(type(error) if error else None, error, None)
            answer = "exited"
        else:
            answer = f"unknown op {op}"
        print(json.dumps({"answer": answer}), flush=True)


if __name__ == "__main__":
    main()
