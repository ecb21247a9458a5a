"""Run every benchmark and rewrite its section of ``docs/performance.md`` (``make bench``).

Each benchmark owns the text between ``<!-- bench:NAME:begin -->`` and
``<!-- bench:NAME:end -->``; the rest of the page is hand-written and kept.

- ``middleware`` (``benchmarks/middleware.py``): measured in-process; raw
  results go to ``benchmarks/results/middleware.json`` (not committed).
- ``state`` (``benchmarks/state.py``), ``breaker``
  (``benchmarks/breaker.py``) and ``ratelimit`` (``benchmarks/ratelimit.py``): scripts whose printed tables are copied into
  the page. They need Redis (``STABILITY_BENCH_REDIS_URL``, default the test
  suite's database 14 on 127.0.0.1); when Redis does not answer, their
  sections are left as they were and the run says so.
- ``health`` (``benchmarks/health.py``): the readiness probe against a plain
  django-health-check view, on SQLite + LocMem and, when PostgreSQL
  (``STABILITY_BENCH_POSTGRES_URL``) and Redis answer, on PostgreSQL with
  psycopg's pool + Redis; one child process per backend.
- ``purge`` (``benchmarks/purge.py``): a script like those, against
  PostgreSQL (``STABILITY_BENCH_POSTGRES_URL``, default the test suite's
  server), where it creates and drops a database of its own.
- ``realtime`` (``benchmarks/realtime.py``): a script like ``state``, on
  Redis; it starts one uvicorn process per stack it compares.

Usage: ``python benchmarks/run.py [--seconds 90] [--check] [--render-only]
[--only NAME]``; ``--check`` exits 1 when a target is missed, ``--render-only``
rewrites the middleware section from the last saved results without measuring,
``--only`` runs one benchmark (``middleware``, ``health`` or a script's name: ``state``, ``breaker``, ``ratelimit``, ``purge``, ``realtime``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
# Run as a script (`python benchmarks/run.py`): make the `benchmarks` package importable.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import health, middleware  # noqa: E402
from benchmarks._machine import machine_facts  # noqa: E402

PAGE = ROOT / "docs" / "performance.md"
RESULTS = ROOT / "benchmarks" / "results"
REDIS_URL = os.environ.get("STABILITY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
POSTGRES_URL = os.environ.get(
    "STABILITY_BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"
)
HEALTH_TIMEOUT = 300  # seconds, per backend of the health benchmark
# Seconds, per script benchmark (purge inserts and deletes 2.2M rows).
SCRIPT_TIMEOUT = 300


def replace_section(page: str, name: str, body: str) -> str:
    """``page`` with the ``name`` section's body replaced (or appended if absent)."""
    begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(page):
        return pattern.sub(lambda _: block, page)
    return page.rstrip() + "\n\n" + block + "\n"


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1
        ):
            return True
    except OSError:
        return False


def middleware_section(args: argparse.Namespace) -> tuple[str, bool]:
    """The middleware section, and whether every target was met."""
    saved = RESULTS / "middleware.json"
    # --render-only: rewrite the page from the last run, e.g. after a wording change.
    if args.render_only:
        result = json.loads(saved.read_text())
        facts = result.pop("facts")
    else:
        facts = machine_facts()
        print(f"{facts['machine']}; {facts['versions']}", flush=True)
        result = middleware.run(args.seconds)
        RESULTS.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps({"facts": facts, **result}, indent=1))
    met = middleware.verdicts(result["summary"])
    return middleware.markdown(result, facts), met


# name -> (script, heading, what the figures are)
SCRIPTS = {
    "state": ("state.py", "Shared-state operations", "Redis on the loopback interface"),
    "breaker": (
        "breaker.py",
        "Circuit breaker: cost of a protected call",
        "Redis on the loopback interface; pybreaker and circuitbreaker from the bench group",
    ),
    "ratelimit": (
        "ratelimit.py",
        "Rate limiting: overhead per request",
        "Redis on the loopback interface; django-ratelimit on LocMemCache and django-redis",
    ),
    "purge": (
        "purge.py",
        "Purging expired drafts: purge_drafts against clearsessions",
        "PostgreSQL on the loopback interface, one run",
    ),
    "realtime": (
        "realtime.py",
        "Realtime: memory per idle connection and broadcast latency",
        "uvicorn per stack, Redis on the loopback interface, clients in one process; "
        "a plain Channels consumer and django-eventstream from the bench group; one run",
    ),
}
# The server each script needs (given as its first argument); Redis unless listed.
SCRIPT_SERVERS = {"purge": POSTGRES_URL}


def script_section(name: str) -> str | None:
    """The section printed by benchmark script ``name``, or None when it cannot run."""
    script, heading, setup = SCRIPTS[name]
    url = SCRIPT_SERVERS.get(name, REDIS_URL)
    if not _reachable(url):
        print(f"{name}: skipped, its server does not answer at {url}")
        return None
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / script), url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:  # subprocess.run kills the child before raising
        print(f"{name}: skipped, took longer than {SCRIPT_TIMEOUT} s")
        return None
    if done.returncode != 0:
        print(f"{name}: failed (exit {done.returncode}):\n{done.stderr}")
        return None
    facts = machine_facts()
    return "\n".join(
        [
            f"## {heading}",
            "",
            f"`benchmarks/{script}`, measured {facts['date']} on {facts['machine']}; "
            f"{facts['versions'].split(',')[0]}; {setup}.",
            "",
            "```text",
            done.stdout.rstrip(),
            "```",
        ]
    )


def health_section() -> str | None:
    """The readiness-probe section from ``benchmarks/health.py``, or None when it cannot run."""
    backends = ["sqlite"]
    if _reachable(health.POSTGRES_URL) and _reachable(REDIS_URL):
        backends.append("postgres")
    else:
        print("health: PostgreSQL or Redis does not answer, SQLite only")
    results = []
    for backend in backends:
        try:
            done = subprocess.run(
                [sys.executable, str(ROOT / "benchmarks" / "health.py"), backend],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=HEALTH_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            print(f"health ({backend}): skipped, took longer than {HEALTH_TIMEOUT} s")
            return None
        if done.returncode != 0:
            print(
                f"health ({backend}): failed (exit {done.returncode}):\n{done.stderr}"
            )
            return None
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return health.markdown(results, machine_facts())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run every benchmark; rewrite docs/performance.md."
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=90.0,
        help="time budget of the middleware rounds",
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a target is missed"
    )
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite the middleware section from the last saved results, measure nothing",
    )
    parser.add_argument(
        "--only",
        choices=["middleware", "health", *SCRIPTS],
        help="run this benchmark only",
    )
    args = parser.parse_args(argv)

    def wanted(name: str) -> bool:
        return args.only in (None, name)

    page = PAGE.read_text() if PAGE.exists() else "# Performance\n"
    met = True
    if wanted("middleware"):
        section, met = middleware_section(args)
        print(section)
        page = replace_section(page, "middleware", section)
    for name in () if args.render_only else SCRIPTS:
        if wanted(name) and (table := script_section(name)) is not None:
            print(table)
            page = replace_section(page, name, table)
    if (
        not args.render_only
        and wanted("health")
        and (probes := health_section()) is not None
    ):
        print(probes)
        page = replace_section(page, "health", probes)
    PAGE.write_text(page)
    print(f"updated {PAGE.relative_to(ROOT)}")
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    raise SystemExit(main())
