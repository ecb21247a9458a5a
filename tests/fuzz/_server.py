"""The example project under a real uvicorn process, with three callers to fuzz it as.

The project runs production-like (DEBUG off, so no traceback could leak into an
answer) on its own PostgreSQL database (pooled, as in production), with the rate limit off so that a run is
deterministic and the metrics token set so that ``metrics`` and the full health
report are reachable with a bearer token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.fixtures.redis_server import free_port
from tests.realtime.servers import uvicorn_command

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "example_project"
STARTUP = 30.0  # seconds for the server to answer
METRICS_TOKEN = "fuzz-metrics-token"
# Any 32 alphanumerics are a CSRF secret Django accepts; the header repeats the cookie.
CSRF = "fuzzcsrf" * 4

# Run in the project by manage.py shell: a normal user and a superuser, each with a
# real session in the database, printed as {"user": <session key>, "staff": ...}.
_SESSIONS = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
User = get_user_model()
made = {
    "user": User.objects.create_user("fuzz-user", password="fuzz-password-1"),
    "staff": User.objects.create_superuser("fuzz-staff", password="fuzz-password-2"),
}
keys = {}
for name, user in made.items():
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    keys[name] = session.session_key
print(json.dumps(keys))
"""


@dataclass(frozen=True)
class Caller:
    """Who sends a request: the cookies and headers that make them so."""

    name: str
    cookies: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class ExampleServer:
    """``uvicorn example_project.asgi:application`` on a free loopback port."""

    def __init__(self, tmp: Path, database_url: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "server.log"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "DEBUG": "0",
            "HTTPS": "0",
            "SECRET_KEY": "fuzz-test-secret-key-not-for-production-0123456789",
            "ALLOWED_HOSTS": "127.0.0.1",
            "APP_VERSION": "fuzz-1",
            "RATELIMIT": "off",
            "METRICS_TOKEN": METRICS_TOKEN,
            "LOG_LEVEL": "WARNING",
        }
        for name in (
            "PYTHONDEVMODE",
            "REDIS_URL",
        ):  # the server's own warnings are not the test's
            self.env.pop(name, None)
        self.process: subprocess.Popen[bytes] | None = None
        self.callers: dict[str, Caller] = {}

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        return done.stdout.decode()

    def prepare(self) -> None:
        """Migrate, and make the anonymous, normal-user and staff callers."""
        self.manage("migrate", "--noinput")
        keys = json.loads(
            self.manage("shell", "-c", _SESSIONS).strip().splitlines()[-1]
        )
        csrf = {"X-CSRFToken": CSRF}
        self.callers = {
            # With a CSRF cookie, so that a write gets past CSRF to its 401.
            "anonymous": Caller("anonymous", {"csrftoken": CSRF}, csrf),
            "user": Caller(
                "user", {"sessionid": keys["user"], "csrftoken": CSRF}, csrf
            ),
            "staff": Caller(
                "staff",
                {"sessionid": keys["staff"], "csrftoken": CSRF},
                {**csrf, "Authorization": f"Bearer {METRICS_TOKEN}"},
            ),
        }

    def start(self) -> None:
        command = uvicorn_command("example_project.asgi:application", self.port)
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + STARTUP
        while True:
            assert self.process.poll() is None, self.log.read_text()[-2000:]
            try:
                with urllib.request.urlopen(
                    f"{self.base}/stability/version", timeout=1
                ):
                    return
            except OSError:
                assert time.monotonic() < deadline, "the server did not answer in time"
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:  # pragma: no cover - uvicorn stops on SIGTERM
            self.process.kill()
            self.process.wait(10)
        self.process = None
