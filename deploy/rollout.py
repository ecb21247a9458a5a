#!/usr/bin/env python3
"""Roll a new release over the app instances, one at a time, and roll back the one that fails.

    python deploy/rollout.py --config rollout.toml v42
    python deploy/rollout.py --config rollout.toml v42 --dry-run

Steps, each printed as it happens (docs/deployment.rst, "Rollout"):

1. ``manage.py check --deploy --fail-level ERROR`` with the new release;
2. a ``pg_dump`` backup (custom format) into the backup directory; a failed
   dump stops the rollout;
3. ``manage.py migrate --noinput`` with the new release;
4. ``manage.py check_dependencies --wait N`` with the new release (after
   migrate: it counts unapplied migrations as "not ready");
5. for each instance in turn: stop it (SIGTERM, so it drains), start the new
   release there, and wait until its readiness URL answers 200. An instance
   that never gets ready is stopped and started again on its previous
   release; the instances after it are not touched, and the exit status is 1.

The configuration (TOML) describes instances and releases with command
templates, so the same script drives plain processes on a host (``mode =
"process"``: rollout starts the server command itself and keeps a pid file),
systemd units or docker compose (``mode = "commands"``: start and stop commands
of your own). Standard library only, Python 3.11+.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: Exit statuses.
OK, ROLLED_BACK, USAGE, REFUSED, ROLLBACK_FAILED = 0, 1, 2, 3, 4

_POLL = 0.5  # seconds between readiness requests and process checks
#: Writes the dump to stdout; the connection comes from PG* variables (DATABASE_URL).
PG_DUMP = "pg_dump --format=custom --no-password"


class Refused(Exception):
    """A step before any instance was touched failed: nothing changed (a migration aside)."""


class ConfigError(Exception):
    """The configuration or the command line is unusable."""


def say(message: str) -> None:
    print(f"[rollout] {message}", flush=True)


@dataclass(frozen=True)
class Instance:
    name: str
    port: int | None = None


@dataclass
class Config:
    mode: str
    instances: list[Instance]
    manage: str
    ready_url: str | None = None
    ready_command: str | None = None
    cwd: str | None = None
    env_file: str | None = None
    command: str | None = None  # process mode: the server, in the foreground
    run_dir: str | None = None  # process mode: pid files and logs
    start: list[str] = field(default_factory=list)  # commands mode
    stop: list[str] = field(default_factory=list)  # commands mode
    after_ready: list[str] = field(default_factory=list)  # e.g. reload the proxy
    ready_timeout: float = 60.0
    stop_timeout: float = 45.0
    command_timeout: float = 600.0
    dependency_wait: float = 60.0
    state_file: str | None = None
    backup_dir: str | None = None
    backup_command: str = PG_DUMP
    database_url: str | None = None

    @classmethod
    def load(cls, path: Path) -> Config:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        rollout = dict(data.get("rollout", {}))
        backup = dict(data.get("backup", {}))
        instances = [
            Instance(str(item["name"]), int(item["port"]) if "port" in item else None)
            for item in data.get("instances", [])
        ]
        if not instances:
            raise ConfigError("no [[instances]] in the configuration")
        if len({i.name for i in instances}) != len(instances):
            raise ConfigError("instance names must be unique")
        for key in ("start", "stop", "after_ready"):
            if isinstance(rollout.get(key), str):
                rollout[key] = [rollout[key]]
        if "dir" in backup:
            rollout["backup_dir"] = backup["dir"]
        if "command" in backup:
            rollout["backup_command"] = backup["command"]
        if "database_url" in backup:
            rollout["database_url"] = backup["database_url"]
        known = set(cls.__dataclass_fields__) - {"instances"}
        unknown = sorted(set(rollout) - known)
        if unknown:
            raise ConfigError(f"unknown [rollout] key(s): {', '.join(unknown)}")
        try:
            config = cls(instances=instances, **rollout)
        except TypeError as exc:
            raise ConfigError(str(exc)) from None
        config.check()
        return config

    def check(self) -> None:
        if self.mode == "process":
            if not (self.command and self.run_dir):
                raise ConfigError('mode = "process" needs command and run_dir')
        elif self.mode == "commands":
            if not (self.start and self.stop):
                raise ConfigError('mode = "commands" needs start and stop')
        else:
            raise ConfigError('mode must be "process" or "commands"')
        if bool(self.ready_url) == bool(self.ready_command):
            raise ConfigError("set exactly one of ready_url and ready_command")
        # A typo in a placeholder fails now, not halfway through the roll.
        sample = {"release": "r", "instance": "i", "port": 1}
        for template in [
            self.ready_url, self.ready_command, self.command, self.cwd,
            self.env_file, self.backup_command, *self.start, *self.stop,
            *self.after_ready,
        ]:  # fmt: skip
            if template:
                fill(template, **sample)
        fill(self.manage, release="r")
        if self.env_file:
            fill(self.env_file, release="r")


def fill(template: str, **values: object) -> list[str]:
    """Split ``template`` like a shell would, then fill the placeholders of each word.

    Filling after splitting means a value with spaces or quotes stays one argument,
    and no shell ever sees it.
    """
    try:
        return [word.format(**values) for word in shlex.split(template)]
    except (KeyError, IndexError) as exc:
        raise ConfigError(f"unknown placeholder {exc} in {template!r}") from None


def fill_path(template: str, **values: object) -> Path:
    try:
        return Path(template.format(**values))
    except (KeyError, IndexError) as exc:
        raise ConfigError(f"unknown placeholder {exc} in {template!r}") from None


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (``#`` comments, optional ``export``, optional quotes), as compose's env_file."""
    values: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


class Rollout:
    def __init__(
        self, config: Config, release: str, previous: Mapping[str, str]
    ) -> None:
        self.config = config
        self.release = release
        self.previous = previous
        self.children: dict[int, subprocess.Popen[bytes]] = {}

    # -- environment of a release -------------------------------------------------

    def values(
        self, release: str, instance: Instance | None = None
    ) -> dict[str, object]:
        values: dict[str, object] = {"release": release}
        if instance is not None:
            values |= {"instance": instance.name, "port": instance.port or ""}
        return values

    def env(self, release: str, instance: Instance | None = None) -> dict[str, str]:
        env = dict(os.environ)
        if self.config.env_file:
            path = fill_path(self.config.env_file, **self.values(release, instance))
            try:
                env |= read_env_file(path)
            except OSError as exc:
                raise ConfigError(f"env_file of {release}: {exc}") from None
        if instance is not None and instance.port is not None:
            env["PORT"] = str(instance.port)  # what deploy/gunicorn.conf.py binds
        return env

    def cwd(self, release: str, instance: Instance | None = None) -> Path | None:
        if not self.config.cwd:
            return None
        return fill_path(self.config.cwd, **self.values(release, instance))

    def run(
        self,
        argv: Sequence[str],
        release: str,
        instance: Instance | None = None,
        *,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        say("  $ " + shlex.join(argv))
        try:
            result = subprocess.run(
                argv,
                cwd=self.cwd(release, instance),
                env=self.env(release, instance),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout or self.config.command_timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return subprocess.CompletedProcess(argv, 127, "", str(exc))
        for line in (result.stdout + result.stderr).splitlines()[-20:]:
            say(f"    {line}")
        return result

    def manage(self, *args: str, timeout: float | None = None) -> None:
        argv = fill(self.config.manage, **self.values(self.release)) + list(args)
        result = self.run(argv, self.release, timeout=timeout)
        if result.returncode != 0:
            raise Refused(f"{shlex.join(args[:1])} failed (exit {result.returncode})")

    # -- steps ---------------------------------------------------------------------

    def backup(self) -> Path:
        config = self.config
        assert config.backup_dir is not None
        env = self.env(self.release)
        url = config.database_url or env.get("DATABASE_URL", "")
        pg = postgres_env(url)
        if pg is None and config.backup_command == PG_DUMP:
            raise Refused(
                "no PostgreSQL DATABASE_URL to back up (set [backup] database_url, "
                "or run with --no-backup)"
            )
        directory = Path(config.backup_dir)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        name = (pg or {}).get("PGDATABASE", "database")
        release = re.sub(r"[^A-Za-z0-9._-]", "_", self.release)  # "feature/x" too
        target = directory / f"{name}-{stamp}-before-{release}.dump"
        partial = target.with_suffix(".dump.partial")
        argv = fill(config.backup_command, **self.values(self.release))
        say("  $ " + shlex.join(argv) + f" > {target}")
        try:
            # The dump holds every user's data: readable by its owner only.
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with open(fd, "wb") as out:
                result = subprocess.run(
                    argv,
                    cwd=self.cwd(self.release),
                    env={**env, **(pg or {})},
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.PIPE,
                    timeout=config.command_timeout,
                    check=False,
                )
            error = result.stderr.decode(errors="replace").strip()
            status = result.returncode
        except (OSError, subprocess.TimeoutExpired) as exc:
            error, status = str(exc), 127
        if status != 0 or partial.stat().st_size == 0:
            partial.unlink(missing_ok=True)
            raise Refused(f"backup failed (exit {status}): {error or 'empty dump'}")
        partial.rename(target)
        return target

    def start(self, instance: Instance, release: str) -> None:
        config = self.config
        values = self.values(release, instance)
        if config.mode == "commands":
            for template in config.start:
                result = self.run(fill(template, **values), release, instance)
                if result.returncode != 0:
                    raise NotReady(f"start command failed (exit {result.returncode})")
            return
        assert config.command is not None and config.run_dir is not None
        run_dir = Path(config.run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        argv = fill(config.command, **values)
        log = run_dir / f"{instance.name}.log"
        say(f"  $ {shlex.join(argv)}  (log: {log})")
        with log.open("ab") as out:
            try:
                process = subprocess.Popen(
                    argv,
                    cwd=self.cwd(release, instance),
                    env=self.env(release, instance),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    # Its own session: the instance outlives this script, and a
                    # terminal's Ctrl-C does not reach it.
                    start_new_session=True,
                )
            except OSError as exc:
                raise NotReady(f"cannot start: {exc}") from None
        self.children[process.pid] = process
        # The start time too: after a reboot the pid may belong to another program.
        started = start_time(process.pid)
        (run_dir / f"{instance.name}.pid").write_text(
            f"{process.pid} {started}\n" if started else f"{process.pid}\n"
        )

    def stop(self, instance: Instance, release: str) -> None:
        config = self.config
        if config.mode == "commands":
            for template in config.stop:
                argv = fill(template, **self.values(release, instance))
                result = self.run(argv, release, instance, timeout=config.stop_timeout)
                if result.returncode != 0:
                    raise StopFailed(
                        f"stop command failed on {instance.name} (exit {result.returncode})"
                    )
            return
        assert config.run_dir is not None
        pid_file = Path(config.run_dir) / f"{instance.name}.pid"
        try:
            number, _, started = pid_file.read_text().strip().partition(" ")
            pid = int(number)
        except (OSError, ValueError):
            say(f"  {instance.name}: no pid file, nothing to stop")
            return
        if started and start_time(pid) != started:
            say(f"  {instance.name}: pid {pid} is another process now; nothing to stop")
            pid_file.unlink(missing_ok=True)
            return
        if not self.alive(pid):
            say(f"  {instance.name}: pid {pid} is not running")
            pid_file.unlink(missing_ok=True)
            return
        say(f"  SIGTERM to pid {pid}; it drains, then exits")
        os.kill(pid, signal.SIGTERM)
        if not self.wait_exit(pid, config.stop_timeout):
            say(f"  pid {pid} still running after {config.stop_timeout:g} s: SIGKILL")
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                os.kill(pid, signal.SIGKILL)
            if not self.wait_exit(pid, 10):
                raise StopFailed(f"pid {pid} of {instance.name} survived SIGKILL")
        pid_file.unlink(missing_ok=True)

    def alive(self, pid: int) -> bool:
        child = self.children.get(pid)
        if child is not None:
            return child.poll() is None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        try:  # a zombie (exited, not reaped by its parent yet) has finished
            stat = Path(f"/proc/{pid}/stat").read_text()
            return stat.rpartition(")")[2].split()[0] != "Z"
        except (OSError, IndexError):
            return True

    def wait_exit(self, pid: int, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self.alive(pid):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def probe(self, instance: Instance, release: str) -> tuple[bool, str]:
        """One readiness question: (ready, what was answered)."""
        values = self.values(release, instance)
        if self.config.ready_command:
            argv = fill(self.config.ready_command, **values)
            try:
                result = subprocess.run(
                    argv,
                    cwd=self.cwd(release, instance),
                    env=self.env(release, instance),
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    text=True,
                    timeout=10,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                return False, str(exc)
            answer = (result.stdout + result.stderr).strip().splitlines()
            last = answer[-1] if answer else ""
            return result.returncode == 0, f"exit {result.returncode} {last}".strip()
        assert self.config.ready_url is not None
        url = self.config.ready_url.format(**values)
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status == 200, f"{response.status}"
        except urllib.error.HTTPError as exc:
            body = exc.read(300).decode(errors="replace").strip()
            return False, f"{exc.code} {body}".strip()
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return False, f"no answer ({reason})"

    def wait_ready(self, instance: Instance, release: str) -> None:
        config = self.config
        deadline = time.monotonic() + config.ready_timeout
        pid_file = Path(config.run_dir or ".") / f"{instance.name}.pid"
        last = "no answer yet"
        while True:
            ready, last = self.probe(instance, release)
            if ready:
                return
            if config.mode == "process":
                pid = int(pid_file.read_text().split()[0])
                if not self.alive(pid):
                    raise NotReady(f"the process exited; last readiness answer: {last}")
            if time.monotonic() >= deadline:
                raise NotReady(
                    f"not ready within {config.ready_timeout:g} s; last readiness answer: {last}"
                )
            time.sleep(_POLL)

    def replace(self, instance: Instance, old: str, new: str) -> None:
        say(f"{instance.name}: stop {old}")
        self.stop(instance, old)
        say(f"{instance.name}: start {new}")
        self.start(instance, new)
        say(
            f"{instance.name}: wait for readiness (up to {self.config.ready_timeout:g} s)"
        )
        self.wait_ready(instance, new)
        say(f"{instance.name}: ready on {new}")
        self.announce(instance, new)

    def announce(self, instance: Instance, release: str) -> None:
        """Run the after_ready commands; a failure is reported, not rolled back."""
        for template in self.config.after_ready:
            argv = fill(template, **self.values(release, instance))
            result = self.run(argv, release, instance)
            if result.returncode != 0:
                say(f"  warning: after_ready command failed (exit {result.returncode})")


class NotReady(Exception):
    """The new release did not become ready on an instance."""


class StopFailed(Exception):
    """An instance could not be stopped: nothing may be started in its place."""


def postgres_env(url: str) -> dict[str, str] | None:
    """``PG*`` variables for ``pg_dump``, so the password never shows in ``ps``."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        return None
    env = {"PGDATABASE": unquote(parts.path.lstrip("/"))}
    for name, value in (
        ("PGHOST", parts.hostname),
        ("PGPORT", parts.port),
        ("PGUSER", parts.username),
        ("PGPASSWORD", parts.password),
    ):
        if value:
            env[name] = unquote(str(value))
    return env


def start_time(pid: int) -> str | None:
    """When ``pid`` started, in clock ticks since boot (Linux); None elsewhere."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        return None


class State:
    """Which release each instance runs, kept in a JSON file between rollouts."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self.releases: dict[str, str] = {}
        if self.path and self.path.exists():
            self.releases = dict(json.loads(self.path.read_text()).get("instances", {}))

    def set(self, instance: str, release: str) -> None:
        self.releases[instance] = release
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_suffix(".partial")
            partial.write_text(
                json.dumps({"instances": self.releases}, indent=2) + "\n"
            )
            partial.replace(self.path)


def plan(config: Config, args: argparse.Namespace, previous: Mapping[str, str]) -> None:
    manage = shlex.join(fill(config.manage, release=args.release))
    say(
        f"plan: roll {args.release} over {len(config.instances)} instance(s), one at a time"
    )
    say(f"1. {manage} check --deploy --fail-level ERROR")
    if args.no_backup or not config.backup_dir:
        say("2. no backup (--no-backup, or no [backup] dir)")
    else:
        say(
            f"2. {config.backup_command} > {config.backup_dir}/<db>-<UTC time>-before-{args.release}.dump"
        )
    say(f"3. {manage} migrate --noinput")
    say(f"4. {manage} check_dependencies --wait {config.dependency_wait:g}")
    for n, instance in enumerate(config.instances, 5):
        values = {
            "release": args.release,
            "instance": instance.name,
            "port": instance.port or "",
        }
        ready = (config.ready_url or config.ready_command or "").format(**values)
        say(
            f"{n}. {instance.name}: stop {previous[instance.name]}, start {args.release}, "
            f"wait up to {config.ready_timeout:g} s for {ready}; if never ready, "
            f"start {previous[instance.name]} again and stop"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="rollout.py",
        description=(
            "Preflight, back up, migrate, then replace the app instances one at a time "
            "with RELEASE, waiting for each to be ready; roll back an instance that "
            "never gets ready. Exit status: 0 rolled out, 1 rolled back, 2 usage or "
            "configuration error, 3 refused before any instance was touched, "
            "4 rollback failed (an instance is down)."
        ),
    )
    parser.add_argument("release", help="the new release ({release} in the templates)")
    parser.add_argument("--config", required=True, type=Path, help="rollout TOML file")
    parser.add_argument(
        "--previous",
        metavar="RELEASE",
        help="the release the instances run now (default: from the state_file)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan and exit"
    )
    parser.add_argument(
        "--no-backup", action="store_true", help="skip pg_dump (a database of no value)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = Config.load(args.config)
        state = State(config.state_file)
        previous: dict[str, str] = {}
        for instance in config.instances:
            release = args.previous or state.releases.get(instance.name)
            if not release:
                raise ConfigError(
                    f"which release does {instance.name} run now? Pass --previous "
                    "(or set state_file)"
                )
            previous[instance.name] = release
    except ConfigError as exc:
        say(f"error: {exc}")
        return USAGE
    rollout = Rollout(config, args.release, previous)
    try:
        # Every release's env_file is read now: a missing one must not surface
        # halfway, with an instance stopped.
        for release in {args.release, *previous.values()}:
            rollout.env(release)
    except ConfigError as exc:
        say(f"error: {exc}")
        return USAGE
    if args.dry_run:
        plan(config, args, previous)
        return OK
    # The instances started here outlive this script on purpose (process mode).
    warnings.filterwarnings("ignore", "subprocess .* is still running", ResourceWarning)
    try:
        return execute(rollout, state, args)
    except ConfigError as exc:
        say(f"error: {exc}")
        return USAGE


def execute(rollout: Rollout, state: State, args: argparse.Namespace) -> int:
    config, release = rollout.config, args.release
    try:
        say(f"preflight: check --deploy with {release}")
        rollout.manage("check", "--deploy", "--fail-level", "ERROR")
        if args.no_backup or not config.backup_dir:
            say("backup: skipped")
        else:
            say("backup: pg_dump")
            say(f"backup: written to {rollout.backup()}")
        say(f"migrate: with {release}")
        rollout.manage("migrate", "--noinput")
        say(f"preflight: check_dependencies with {release}")
        wait = config.dependency_wait
        rollout.manage("check_dependencies", "--wait", f"{wait:g}", timeout=wait + 120)
    except Refused as exc:
        say(f"refused: {exc}; no instance was touched")
        return REFUSED
    for index, instance in enumerate(config.instances):
        old = rollout.previous[instance.name]
        try:
            rollout.replace(instance, old, release)
        except StopFailed as exc:
            say(f"stopped: {exc}; nothing was started on {instance.name}")
            return ROLLBACK_FAILED
        except NotReady as exc:
            reason = str(exc)
            say(
                f"{instance.name}: {release} is not ready ({reason}): rolling back to {old}"
            )
            try:
                say(f"{instance.name}: stop {release}")
                rollout.stop(instance, release)
                say(f"{instance.name}: start {old} again")
                rollout.start(instance, old)
                say(f"{instance.name}: wait for readiness of {old}")
                rollout.wait_ready(instance, old)
                say(f"{instance.name}: ready on {old}")
                rollout.announce(instance, old)
            except (NotReady, StopFailed) as again:
                state.set(instance.name, "unknown")
                say(
                    f"ROLLBACK FAILED: {instance.name} is not ready on {old} either ({again})"
                )
                return ROLLBACK_FAILED
            state.set(instance.name, old)
            done = [i.name for i in config.instances[:index]]
            untouched = [i.name for i in config.instances[index + 1 :]]
            say(
                f"rolled back: {instance.name} runs {old} again because {release} was "
                f"not ready ({reason}). On {release}: {', '.join(done) or 'none'}; "
                f"untouched: {', '.join(untouched) or 'none'}. Migrations were not "
                "reversed (docs/deployment.rst, Rollback)."
            )
            return ROLLED_BACK
        state.set(instance.name, release)
    say(f"done: {len(config.instances)} instance(s) on {release}")
    return OK


if __name__ == "__main__":
    sys.exit(main())
