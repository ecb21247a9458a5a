"""One benchmark worker process: ``python -m benchmarks._worker STACK``.

It configures Django for one stack, then answers commands read from stdin, one
JSON object per line on stdout:

- ``probe``: one request through each handler; status, response headers, log lines.
- ``wsgi N`` / ``asgi N``: time N sequential requests; mean microseconds per request.

Requests go through Django's real entry points, called the way a server calls
them: ``WSGIHandler(environ, start_response)`` with the body consumed and
``close()`` called (which fires ``request_finished``), and
``await ASGIHandler(scope, receive, send)`` on one event loop. No network, no
test client.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import statistics
import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

STATUS_OK = 200
PATH = "/notes/42/"

_ENVIRON = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "PATH_INFO": PATH,
    "QUERY_STRING": "",
    "SERVER_NAME": "testserver",
    "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_HOST": "testserver",
    "HTTP_USER_AGENT": "benchmark/1.0",
    "HTTP_ACCEPT": "application/json",
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "http",
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": False,
    "wsgi.multiprocess": True,
    "wsgi.run_once": False,
}

_SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.3"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": PATH,
    "raw_path": PATH.encode(),
    "query_string": b"",
    "root_path": "",
    "headers": [
        (b"host", b"testserver"),
        (b"user-agent", b"benchmark/1.0"),
        (b"accept", b"application/json"),
    ],
    "client": ("127.0.0.1", 50000),
    "server": ("testserver", 80),
}
_BODY_MESSAGE = {"type": "http.request", "body": b"", "more_body": False}


class Worker:
    def __init__(self, stack_name: str) -> None:
        import django
        from django.conf import settings

        from benchmarks._stacks import (
            BY_NAME,
            CountingSink,
            configure_logging,
            django_settings,
        )

        stack = BY_NAME[stack_name]
        settings.configure(**django_settings(stack))
        django.setup()
        self.sink = CountingSink()
        configure_logging(stack, self.sink)

        from django.core.handlers.asgi import ASGIHandler
        from django.core.handlers.wsgi import WSGIHandler

        self.wsgi = WSGIHandler()
        self.asgi = ASGIHandler()
        self.loop = asyncio.new_event_loop()
        self.last_status = ""
        self.last_headers: list[tuple[str, str]] = []

    # -- WSGI -------------------------------------------------------------------------------

    def _start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        self.last_status = status
        self.last_headers = headers
        return None

    def wsgi_request(self) -> None:
        environ = {**_ENVIRON, "wsgi.input": io.BytesIO()}
        response = self.wsgi(environ, self._start_response)
        try:
            for _chunk in response:
                pass
        finally:
            response.close()

    def wsgi_batch(self, n: int) -> dict[str, float]:
        request = self.wsgi_request
        clock = time.perf_counter_ns
        times = [0] * n
        gc.collect()
        for i in range(n):
            started = clock()
            request()
            times[i] = clock() - started
        return _stats(times)

    # -- ASGI -------------------------------------------------------------------------------

    async def asgi_request(self) -> None:
        done = asyncio.Event()
        sent = False
        messages: list[Mapping[str, Any]] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return _BODY_MESSAGE
            await done.wait()  # the client never disconnects; Django cancels this wait
            return {"type": "http.disconnect"}

        async def send(message: Mapping[str, Any]) -> None:
            messages.append(message)

        await self.asgi(dict(_SCOPE), receive, send)
        done.set()
        start = messages[0]
        self.last_status = str(start["status"])
        self.last_headers = [
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]
        ]

    async def _asgi_batch(self, n: int) -> dict[str, float]:
        request = self.asgi_request
        clock = time.perf_counter_ns
        times = [0] * n
        for i in range(n):
            started = clock()
            await request()
            times[i] = clock() - started
        return _stats(times)

    def asgi_batch(self, n: int) -> dict[str, float]:
        gc.collect()
        return self.loop.run_until_complete(self._asgi_batch(n))

    # -- commands ---------------------------------------------------------------------------

    def probe(self) -> dict[str, Any]:
        report: dict[str, Any] = {}
        for mode in ("wsgi", "asgi"):
            before = self.sink.lines
            if mode == "wsgi":
                self.wsgi_request()
            else:
                self.loop.run_until_complete(self.asgi_request())
            if not self.last_status.startswith(str(STATUS_OK)):
                raise RuntimeError(f"{mode}: status {self.last_status}")
            report[mode] = {
                "status": self.last_status,
                "headers": sorted({name.lower() for name, _ in self.last_headers}),
                "log_lines": self.sink.lines - before,
            }
        return report

    def serve(self, commands: TextIO, out: TextIO) -> None:
        for line in commands:
            verb, *args = line.split()
            result: Any
            if verb == "probe":
                result = self.probe()
            elif verb == "wsgi":
                result = self.wsgi_batch(int(args[0]))
            elif verb == "asgi":
                result = self.asgi_batch(int(args[0]))
            elif verb == "quit":
                break
            else:
                raise ValueError(f"unknown command {verb!r}")
            out.write(json.dumps(result) + "\n")
            out.flush()
        self.loop.close()


def _stats(times_ns: list[int]) -> dict[str, float]:
    """Mean and median of one batch, in microseconds."""
    return {
        "mean": statistics.fmean(times_ns) / 1000,
        "median": statistics.median(times_ns) / 1000,
    }


def main() -> None:
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but results may reach the parent's pipe
    Worker(sys.argv[1]).serve(sys.stdin, out)


if __name__ == "__main__":
    main()
