"""The services every topology test of the kit shares: a database, a Redis, the static files."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from tests import services
from tests.deploy.kit import ROOT, manage, nginx_binary
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
