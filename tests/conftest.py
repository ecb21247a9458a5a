from __future__ import annotations

import os

import pytest

from tests import services

# The example's servers that tests start (and stop with SIGTERM) exit at once
# instead of draining for 10 s; tests of the drain set DRAIN_SECONDS themselves.
os.environ.setdefault("DRAIN_SECONDS", "0")

pytest_plugins = ["tests.fixtures.postgres_server", "tests.fixtures.redis_server"]


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Skip (or, with STABILITY_REQUIRE_SERVICES=1, fail) tests whose server is down."""
    down = {
        "postgres": not services.postgres_up(),
        "redis": not services.redis_up(),
    }
    urls = {"postgres": services.POSTGRES_URL, "redis": services.REDIS_URL}
    for item in items:
        for name, is_down in down.items():
            if is_down and item.get_closest_marker(name):
                message = f"{name} is not reachable at {urls[name]}"
                if services.REQUIRE:
                    item.add_marker(
                        pytest.mark.usefixtures("_service_required_but_down")
                    )
                    item.user_properties.append(("service_down", message))
                else:
                    item.add_marker(pytest.mark.skip(reason=message))


@pytest.fixture
def _service_required_but_down(request: pytest.FixtureRequest) -> None:
    messages = [v for k, v in request.node.user_properties if k == "service_down"]
    pytest.fail(
        "STABILITY_REQUIRE_SERVICES=1 but " + "; ".join(messages), pytrace=False
    )
