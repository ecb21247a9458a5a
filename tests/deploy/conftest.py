"""The services the kit's tests share: a database, a Redis, the static files; the rollout site."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services
from tests.deploy.kit import ROOT, manage, nginx_binary
from tests.deploy.rollout_site import Site, running_site
from tests.fixtures.redis_server import RedisServer


@pytest.fixture(scope="package")
def kit_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The app's environment on a database of its own and a throwaway Redis, migrated, static collected.

    ``collectstatic`` and ``migrate`` run as the image's build step and the
    compose file's ``migrate`` service run them. Needs nginx, which every
    test of the topology puts in front.
    """
    if nginx_binary() is None:
        message = "nginx is not installed (apt-get install nginx-light)"
        if services.REQUIRE:
            pytest.fail(f"STABILITY_REQUIRE_SERVICES=1 but {message}", pytrace=False)
        pytest.skip(message)
    tmp = tmp_path_factory.mktemp("kit")
    redis = RedisServer("/usr/bin/redis-server", tmp)
    with contextlib.ExitStack() as cleanup:
        database_url = cleanup.enter_context(services.throwaway_database("kit"))
        redis.start()
        cleanup.callback(redis.stop)
        env = {
            **services.coverage_env(),
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "example_project.settings",
            "DEBUG": "0",
            "SECRET_KEY": "deploy-kit-test-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "HTTPS": "0",  # TLS ends in front of nginx
            "TRUSTED_PROXIES": "127.0.0.1/32",  # nginx, as the compose subnet
            "DATABASE_URL": database_url,
            "REDIS_URL": redis.url,
            "STATIC_ROOT": str(tmp / "static"),
            "METRICS_TOKEN": "deploy-kit-test-token",
            "APP_VERSION": "v1",
            "WEB_CONCURRENCY": "2",  # per instance: "several workers"
            # The kit's timeline, shortened: drain 2 s, then 8 s for requests in flight.
            "DRAIN_SECONDS": "2",
            "GRACEFUL_TIMEOUT": "10",
        }
        manage(env, "collectstatic", "--noinput")
        manage(env, "migrate", "--noinput")
        yield env


@pytest.fixture(scope="module")
def rollout_database() -> Iterator[str]:
    """A PostgreSQL database of the test module's own, dropped afterwards."""
    with services.throwaway_database("ds_rollout") as url:
        yield url


@pytest.fixture
def site(rollout_database: str, tmp_path: Path) -> Iterator[Site]:
    """Release v1 migrated and running on two instances (pid files as rollout.py keeps them)."""
    with running_site(rollout_database, tmp_path) as running:
        yield running


@pytest.fixture
def promtool() -> str:
    """promtool's path; a skip without it, a failure with STABILITY_REQUIRE_SERVICES=1."""
    path = shutil.which("promtool")
    if path is None:
        message = "promtool is not installed (apt-get install prometheus)"
        if services.REQUIRE:
            pytest.fail(f"STABILITY_REQUIRE_SERVICES=1 but {message}", pytrace=False)
        pytest.skip(message)
    return path
