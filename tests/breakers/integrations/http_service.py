"""A real HTTP server on a free loopback port, in a thread, that answers 200, 404, 500 or hangs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

#: How long /hang holds a request at most; the test's client gives up long before.
HANG_LIMIT = 5.0


class Service(ThreadingHTTPServer):
    """The server, with what it saw."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.hits = 0
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: Service

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""

    def _answer(self) -> None:
        self.server.hits += 1
        if self.path == "/hang":
            self.server.release.wait(HANG_LIMIT)
        status = {"/fail": 500, "/missing": 404}.get(self.path, 200)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps(
            {
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": self.rfile.read(length).decode() if length else "",
                "method": self.command,
            }
        ).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (a /hang request)
            pass

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer


@pytest.fixture
def http_service() -> Iterator[Service]:
    """A running HTTP server, shut down (hanging requests released) at teardown."""
    server = Service()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=HANG_LIMIT)
