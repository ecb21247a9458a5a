"""deploy/rollout.py, run for real: two uvicorn instances of the example project on loopback, one PostgreSQL database.

The commands mode (start, stop and readiness as a control script): ``test_rollout_commands.py``.
"""

from __future__ import annotations

import json
import stat
import subprocess

import psycopg
import pytest

from tests import services
from tests.deploy.rollout_site import PG_BIN, LiveWatch, get, status
from tests.fixtures.redis_server import free_port

pytestmark = [pytest.mark.postgres]


def test_a_good_release_replaces_both_instances_one_at_a_time(site):
    """Both instances serve v2 afterwards, one answered live at every moment, and the backup restores."""
    site.write_release("v2")
    old = {name: site.pid(name) for name in site.ports}
    with LiveWatch(list(site.ports.values())) as watch:
        result = site.rollout("v2")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for name, port in site.ports.items():
        assert get(port, "/")[1]["X-App-Version"] == "v2"
        assert site.pid(name) != old[name]
    # One at a time: web2 was stopped only after web1 answered ready on v2.
    assert output.index("web1: ready on v2") < output.index("web2: stop v1")
    assert watch.rounds and all(200 in round_ for round_ in watch.rounds), [
        r for r in watch.rounds if 200 not in r
    ]
    assert json.loads(site.state.read_text())["instances"] == {
        "web1": "v2",
        "web2": "v2",
    }
    (dump,) = site.backups.glob("*-before-v2.dump")
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600  # every user's data
    listing = subprocess.run(
        [str(PG_BIN / "pg_restore"), "--list", str(dump)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert listing.returncode == 0, listing.stderr
    assert "notes_note" in listing.stdout
    # Restored into a database of its own (docs: Backup and restore), it holds the schema.
    with services.throwaway_database("ds_restored") as restored:
        restore = subprocess.run(
            [str(PG_BIN / "pg_restore"), "--no-owner", "--dbname", restored, str(dump)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert restore.returncode == 0, restore.stderr
        count = "SELECT count(*) FROM django_migrations"
        with psycopg.connect(restored) as copy, psycopg.connect(site.database) as live:
            assert copy.execute(count).fetchone() == live.execute(count).fetchone()


def test_a_release_that_never_gets_ready_is_rolled_back_on_the_first_instance(site):
    """The broken release fails on web1, which serves v1 again; web2 is never touched; exit 1 says why."""
    site.write_release("v3", UVICORN_APP="example_project.no_such_module:application")
    web2 = site.pid("web2")
    result = site.rollout("v3")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "rolled back: web1 runs v1 again" in output
    assert "process exited; last readiness answer: no answer" in output
    assert "untouched: web2" in output
    assert get(site.ports["web1"], "/")[1]["X-App-Version"] == "v1"
    assert get(site.ports["web2"], "/")[1]["X-App-Version"] == "v1"
    assert site.pid("web2") == web2
    assert "web2:" not in output
    assert json.loads(site.state.read_text())["instances"] == {
        "web1": "v1",
        "web2": "v1",
    }


def test_a_failed_backup_stops_the_rollout_before_any_instance(site):
    """A release whose database does not answer: pg_dump fails, nothing is migrated or restarted, exit 3."""
    site.write_release(
        "v4", DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/nothing"
    )
    pids = {name: site.pid(name) for name in site.ports}
    result = site.rollout("v4")
    output = result.stdout + result.stderr
    assert result.returncode == 3, output
    assert "refused: backup failed" in output
    assert "no instance was touched" in output
    assert "migrate: with" not in output
    assert {name: site.pid(name) for name in site.ports} == pids
    assert not list(site.backups.iterdir())
    for port in site.ports.values():
        assert status(port, "/stability/health/ready") == 200


def test_a_release_without_its_env_file_is_refused_before_anything_runs(site):
    """A typo in the release name: exit 2 naming the env file; no check, backup or instance ran."""
    pids = {name: site.pid(name) for name in site.ports}
    result = site.rollout("v2-typo")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "env_file of v2-typo" in result.stdout
    assert "preflight" not in result.stdout
    assert {name: site.pid(name) for name in site.ports} == pids
    assert not list(site.backups.iterdir())


def test_dry_run_prints_the_plan_and_touches_nothing(site):
    """--dry-run names every step and instance, runs nothing, exits 0."""
    site.write_release("v2")
    pids = {name: site.pid(name) for name in site.ports}
    result = site.rollout("v2", "--dry-run")
    assert result.returncode == 0, result.stderr
    for step in (
        "check --deploy",
        "migrate --noinput",
        "check_dependencies",
        "pg_dump",
    ):
        assert step in result.stdout
    assert "web1: stop v1, start v2" in result.stdout
    assert f"127.0.0.1:{site.ports['web2']}/stability/health/ready" in result.stdout
    assert {name: site.pid(name) for name in site.ports} == pids
    assert not list(site.backups.iterdir())
