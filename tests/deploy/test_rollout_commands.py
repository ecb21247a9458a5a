"""deploy/rollout.py in commands mode: start, stop and readiness as a small control script, as systemctl or docker would be."""

from __future__ import annotations

import json
import shlex
import sys

import pytest

from tests.deploy.rollout_site import ROOT, get, server_command

pytestmark = [pytest.mark.postgres]


# Commands mode: the start, stop and readiness commands are a small control script,
# as systemctl or docker would be; it starts the same uvicorn server, detached.
INSTANCECTL = """
import os, signal, subprocess, sys, time, urllib.error, urllib.request
from pathlib import Path

SERVER = {server!r}
run, action, *args = sys.argv[1:]
run = Path(run)


def alive(pid):
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{{pid}}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


if action == "start":
    name, port = args
    with open(run / f"{{name}}.log", "ab") as log:
        process = subprocess.Popen(
            SERVER + ["--port", port], stdin=subprocess.DEVNULL,
            stdout=log, stderr=log, start_new_session=True,
        )
    (run / f"{{name}}.pid").write_text(f"{{process.pid}}\\n")
    process.returncode = 0  # it outlives this script on purpose
elif action == "stop":
    pid = int((run / f"{{args[0]}}.pid").read_text())
    if alive(pid):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    sys.exit(1 if alive(pid) else 0)
elif action == "ready":
    url = f"http://127.0.0.1:{{args[0]}}/stability/health/ready"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            print(response.status)
    except urllib.error.HTTPError as exc:
        print(exc.code)
        sys.exit(1)
    except OSError as exc:
        print(f"no answer: {{exc}}")
        sys.exit(1)
elif action == "note":
    with open(run / "notes", "a") as notes:
        notes.write(" ".join(args) + "\\n")
"""


def test_commands_mode_rolls_back_on_timeout_then_rolls_out(site):
    """start/stop/ready commands: a release never ready in time is rolled back (exit 1), a good one rolls out."""
    ctl = site.tmp / "instancectl.py"
    ctl.write_text(INSTANCECTL.format(server=shlex.split(server_command())))
    prefix = shlex.join([sys.executable, str(ctl), str(site.run_dir)])
    config = site.config.read_text()
    config = config[config.index("[[instances]]") :]  # same instances
    manage = shlex.join([sys.executable, str(ROOT / "example_project" / "manage.py")])
    site.config.write_text(
        f"""
[rollout]
mode = "commands"
cwd = {json.dumps(str(ROOT))}
env_file = {json.dumps(str(site.tmp / "releases" / "{release}.env"))}
manage = {json.dumps(manage)}
start = [{json.dumps(prefix + " start {instance} {port}")}]
stop = [{json.dumps(prefix + " stop {instance}")}]
ready_command = {json.dumps(prefix + " ready {port}")}
after_ready = [{json.dumps(prefix + " note {instance} {release}")}]
ready_timeout = 10
dependency_wait = 30
state_file = {json.dumps(str(site.state))}

{config}"""
    )
    site.write_release("v3", UVICORN_APP="example_project.no_such_module:application")
    web2 = site.pid("web2")
    broken = site.rollout("v3", "--no-backup")
    output = broken.stdout + broken.stderr
    assert broken.returncode == 1, output
    # The process exit is not seen in this mode: the readiness wait runs out.
    assert "not ready within 10 s; last readiness answer: exit 1 no answer" in output
    assert "rolled back: web1 runs v1 again" in output
    assert get(site.ports["web1"], "/")[1]["X-App-Version"] == "v1"
    assert site.pid("web2") == web2

    site.write_release("v2")
    good = site.rollout("v2", "--no-backup")
    assert good.returncode == 0, good.stdout + good.stderr
    for port in site.ports.values():
        assert get(port, "/")[1]["X-App-Version"] == "v2"
    notes = (site.run_dir / "notes").read_text().splitlines()
    assert notes == ["web1 v1", "web1 v2", "web2 v2"]
