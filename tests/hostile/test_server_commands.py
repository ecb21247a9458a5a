"""The documented uvicorn and daphne commands never trust proxy headers beyond STABILITY_TRUSTED_PROXIES."""

from __future__ import annotations

import re
from pathlib import Path

from tests.realtime.servers import ROOT

PAGES = [
    ROOT / "README.md",
    ROOT / "example_project" / "README.md",
    *sorted((ROOT / "docs").glob("*.rst")),
]
# A command line: optional prompt, the server (maybe a venv path or "python -m"), an app.
COMMAND = re.compile(
    r"^\s*(?:\$\s*)?(?:\S*/)?(?:python -m )?(uvicorn|daphne)\s+.*\b[\w.]+:\w+"
)


def _commands(page: Path) -> list[tuple[str, str]]:
    """(server, whole command with its continuation lines) for each server command on ``page``."""
    found = []
    lines = page.read_text().splitlines()
    for n, line in enumerate(lines):
        match = COMMAND.match(line)
        if match is None:
            continue
        command = line
        while command.rstrip().endswith("\\") and n + 1 < len(lines):
            n += 1
            command = command.rstrip()[:-1] + " " + lines[n].strip()
        found.append((match.group(1), command))
    return found


def test_documented_servers_do_not_trust_forwarded_headers_by_default() -> None:
    """uvicorn commands say --no-proxy-headers or --forwarded-allow-ips; daphne never --proxy-headers."""
    commands = [(page, c) for page in PAGES for c in _commands(page)]
    assert commands, "no server command found: the pattern is stale"
    for page, (server, command) in commands:
        where = f"{page.relative_to(ROOT)}: {command.strip()}"
        if server == "uvicorn":
            assert (
                "--no-proxy-headers" in command or "--forwarded-allow-ips" in command
            ), where
            assert "--forwarded-allow-ips '*'" not in command, where
        else:
            assert "--proxy-headers" not in command, where
