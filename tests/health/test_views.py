"""The probe views under WSGI and ASGI: JSON shape, status codes, drain, cache, auth."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import connections
from django.test import AsyncClient, Client, override_settings
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable, ServiceWarning

from django_stability.health._drain import set_drain, start_local_drain
from django_stability.health._probes import ProbeSet
from tests.clock import FakeClock
from tests.http_modes import MODES, fetch, fetch_detailed

LIVE, READY, STARTUP, FULL = (
    "/stability/health/live",
    "/stability/health/ready",
    "/stability/health/startup",
    "/stability/health/",
)


@dataclass
class Fails(HealthCheck):
    async def run(self) -> None:
        raise ServiceUnavailable("search index unreachable")


@dataclass
class Warns(HealthCheck):
    async def run(self) -> None:
        raise ServiceWarning("replica lag 4 s")


@dataclass
class Hangs(HealthCheck):
    async def run(self) -> None:
        await asyncio.Event().wait()


@dataclass
class BlocksTheLoop(HealthCheck):
    """A badly written async check: blocking I/O inside async run() (as a sync client would)."""

    async def run(self) -> None:
        time.sleep(1.3)  # noqa: ASYNC251 - the misbehaviour under test


HERE = "tests.health.test_views"


@pytest.mark.parametrize("mode", MODES)
async def test_live_touches_nothing_and_answers_ok(mode):
    """live is 200 ok with no checks, even while draining."""
    start_local_drain()
    response = await fetch(mode, "get", LIVE)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {}}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
@pytest.mark.parametrize("mode", MODES)
async def test_ready_runs_database_and_cache(mode):
    """ready is 200 with the default checks, each with status, ms and detail."""
    response = await fetch_detailed(mode, READY)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache"}
    for result in body["checks"].values():
        assert set(result) == {"status", "ms", "detail"}
        assert result["status"] == "ok"
        assert isinstance(result["ms"], float)
    assert "Retry-After" not in response


@pytest.mark.django_db
@override_settings(
    CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
)
async def test_ready_adds_the_channel_layer_when_configured() -> None:
    """With CHANNEL_LAYERS set the default readiness checks include a channel layer round trip."""
    response = await fetch("asgi", "get", READY)
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "cache", "channel_layer"}


@pytest.mark.parametrize("mode", MODES)
async def test_head_is_allowed(mode):
    """HEAD answers like GET, without a body."""
    response = await fetch(mode, "head", LIVE)
    assert response.status_code == 200
    assert response.content == b""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", [LIVE, READY, STARTUP, FULL])
async def test_other_methods_get_a_405_problem(mode, path):
    """POST (or any unsafe method) is a 405 problem with Allow, not a CSRF 403."""
    response = await fetch(mode, "post", path, csrf=True)
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("mode", MODES)
async def test_a_failing_check_is_503_with_retry_after(mode):
    """A failed readiness check gives 503, status fail and Retry-After in whole seconds."""
    with override_settings(
        STABILITY_READINESS_CHECKS=[f"{HERE}.Fails"], STABILITY_HEALTH_TIMEOUT=1.5
    ):
        response = await fetch_detailed(mode, READY)
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json()["checks"]["Fails"] == {
        "status": "fail",
        "ms": response.json()["checks"]["Fails"]["ms"],
        "detail": "search index unreachable",
    }


@pytest.mark.parametrize("mode", MODES)
async def test_a_warning_does_not_fail_ready(mode):
    """A warn check keeps ready at 200."""
    with override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.Warns"]):
        response = await fetch(mode, "get", READY)
    assert response.status_code == 200
    assert response.json()["checks"]["Warns"]["status"] == "warn"


@pytest.mark.parametrize("mode", MODES)
async def test_a_hung_check_fails_in_time(mode):
    """A dependency that never answers makes ready fail within the timeout, never hang."""
    with override_settings(
        STABILITY_READINESS_CHECKS=[f"{HERE}.Hangs"], STABILITY_HEALTH_TIMEOUT=0.3
    ):
        started = time.monotonic()
        response = await fetch_detailed(mode, READY)
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["checks"]["Hangs"]["detail"] == "timed out after 0.3 s"
    assert elapsed < 0.3 + 0.5


@pytest.mark.parametrize("mode", MODES)
async def test_unimportable_readiness_check_fails_the_probe_not_the_server(
    mode: str,
) -> None:
    """A readiness check path that does not import gives a 503 naming the setting, not a 500."""
    with override_settings(STABILITY_READINESS_CHECKS=["tests.health.nowhere.Check"]):
        response = await fetch_detailed(mode, READY)
    assert response.status_code == 503
    result = response.json()["checks"]["readiness_checks"]
    assert result["detail"].startswith(
        "STABILITY_READINESS_CHECKS: ModuleNotFoundError"
    )


@pytest.mark.parametrize("mode", MODES)
async def test_a_check_blocking_the_loop_still_gets_an_answer(mode: str) -> None:
    """When a check blocks the health loop itself, the view gives up after the timeout + 1 s and says so."""
    with override_settings(
        STABILITY_READINESS_CHECKS=[f"{HERE}.BlocksTheLoop"],
        STABILITY_HEALTH_TIMEOUT=0.1,
    ):
        response = await fetch_detailed(mode, READY)
    assert response.status_code == 503
    assert response.json()["checks"]["probe"]["detail"] == (
        "no answer from the health checks within 1.1 s"
    )


@pytest.mark.parametrize("mode", MODES)
async def test_sigterm_drain_turns_ready_to_draining(mode):
    """After the local drain starts, ready is 503 draining with Retry-After from the drain grace."""
    start_local_drain()
    with override_settings(STABILITY_DRAIN_SECONDS=7):
        response = await fetch(mode, "get", READY)
    assert response.status_code == 503
    assert response.json() == {"status": "draining", "checks": {}}
    assert response["Retry-After"] == "7"


@pytest.mark.parametrize("mode", MODES)
async def test_shared_drain_flag_turns_ready_to_draining_and_back(mode, clock):
    """drain on through the engine: 503 draining (checks still shown); off: 200 again."""
    with override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.Warns"]):
        await sync_to_async(set_drain)(True)
        response = await fetch(mode, "get", READY)
        assert response.status_code == 503
        assert response.json()["status"] == "draining"
        assert response.json()["checks"]["Warns"]["status"] == "warn"
        await sync_to_async(set_drain)(False)
        clock.advance(1.0)
        assert (await fetch(mode, "get", READY)).status_code == 200


@pytest.mark.parametrize("mode", MODES)
async def test_results_are_reused_for_under_a_second(
    mode: str, probes: ProbeSet, clock: FakeClock
) -> None:
    """Probes within a second share one run; the next second runs the checks again."""
    with override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.Warns"]):
        for _ in range(3):
            assert (await fetch(mode, "get", READY)).status_code == 200
        assert probes.ready_probe.runs == 1
        clock.advance(0.999)
        await fetch(mode, "get", READY)
        assert probes.ready_probe.runs == 1
        clock.advance(0.001)
        await fetch(mode, "get", READY)
        assert probes.ready_probe.runs == 2


async def test_concurrent_probes_share_one_run(probes: ProbeSet) -> None:
    """Twenty probes at once, from both handlers, run the checks once."""
    with override_settings(STABILITY_READINESS_CHECKS=[f"{HERE}.Warns"]):
        responses = await asyncio.gather(
            *(fetch(MODES[i % 2], "get", READY) for i in range(20))
        )
    assert {r.status_code for r in responses} == {200}
    assert probes.ready_probe.runs == 1


@pytest.mark.django_db
@pytest.mark.parametrize("mode", MODES)
async def test_startup_waits_for_migrations_then_latches(mode, settings, clock):
    """startup is 503 while a migration is pending, then 200, and stays 200 whatever happens next."""
    settings.MIGRATION_MODULES = {"sessions": "tests.health.pending_migrations"}
    response = await fetch(mode, "get", STARTUP)
    assert response.status_code == 503
    assert response.json()["checks"]["migrations"]["status"] == "fail"
    settings.MIGRATION_MODULES = {}
    clock.advance(1.0)
    response = await fetch(mode, "get", STARTUP)
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"migrations", "database", "cache"}
    settings.STABILITY_READINESS_CHECKS = [f"{HERE}.Fails"]
    clock.advance(1.0)
    assert (await fetch(mode, "get", STARTUP)).status_code == 200
    assert (await fetch(mode, "get", READY)).status_code == 503


@pytest.mark.parametrize("mode", MODES)
async def test_full_report_needs_credentials(mode):
    """Anonymous callers get a 401 problem asking for a bearer token."""
    response = await fetch(mode, "get", FULL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("header", "status"),
    [("Bearer wrong-token-value", 403), ("Basic dXNlcjpwYXNz", 401), ("Bearer", 403)],
)
async def test_full_report_rejects_bad_credentials(mode, header, status):
    """A wrong token is 403; another scheme is 401; neither shows the report."""
    with override_settings(STABILITY_METRICS_TOKEN="the-right-token-123456"):
        response = await fetch(mode, "get", FULL, headers={"Authorization": header})
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("mode", MODES)
async def test_bearer_token_without_configured_token_is_401(mode):
    """Without STABILITY_METRICS_TOKEN no bearer token is accepted."""
    response = await fetch(
        mode, "get", FULL, headers={"Authorization": "Bearer anything"}
    )
    assert response.status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("mode", MODES)
async def test_full_report_with_the_token_lists_every_check_and_the_system_checks(
    mode,
):
    """The metrics token shows all checks and the deployment system checks (W001 here)."""
    with override_settings(STABILITY_METRICS_TOKEN="the-right-token-123456"):
        response = await fetch(
            mode,
            "get",
            FULL,
            headers={"Authorization": "Bearer the-right-token-123456"},
        )
    assert response.status_code == 200
    body = response.json()
    assert {"database", "cache", "redis", "breakers", "migrations"} <= set(
        body["checks"]
    )
    ids = [message["id"] for message in body["system_checks"]]
    assert "django_stability.W001" in ids
    assert {"id", "level", "message", "hint"} == set(body["system_checks"][0])


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("mode", MODES)
async def test_full_report_for_staff_but_not_other_users(mode):
    """A logged-in staff user sees the report; a logged-in non-staff user gets 403."""
    staff = await User.objects.acreate(username="staff", is_staff=True)
    other = await User.objects.acreate(username="other")
    try:
        for user, status in ((staff, 200), (other, 403)):
            if mode == "asgi":
                aclient = AsyncClient(raise_request_exception=False)
                await aclient.aforce_login(user)
                response = await aclient.get(FULL)
            else:

                def get(user=user):
                    client = Client(raise_request_exception=False)
                    client.force_login(user)
                    return client.get(FULL)

                response = await sync_to_async(get)()
            assert response.status_code == status
    finally:
        # The ORM calls above ran in asgiref's shared thread: close its connection.
        await sync_to_async(connections.close_all)()


@pytest.mark.django_db(transaction=True)
async def test_a_connection_opened_in_asgirefs_shared_thread_closes():
    """The close above takes effect on every test database, so no connection outlives its test."""
    await User.objects.acount()  # the async ORM runs in asgiref's shared thread
    await sync_to_async(connections.close_all)()
    assert await sync_to_async(lambda: connections["default"].connection)() is None


@pytest.mark.django_db
def test_full_report_lists_djangos_deployment_security_checks(admin_client):
    """Insecure deployment settings show as Django's security.W0xx ids; silenced ones do not."""
    insecure = {
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
    }
    with override_settings(**insecure):
        body = admin_client.get(FULL).json()
    ids = {message["id"] for message in body["system_checks"]}
    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= ids
    assert "django_stability.W001" in ids  # ours are still there
    with override_settings(**insecure, SILENCED_SYSTEM_CHECKS=["security.W004"]):
        body = admin_client.get(FULL).json()
    ids = {message["id"] for message in body["system_checks"]}
    assert "security.W004" not in ids
    assert "security.W008" in ids


@pytest.mark.django_db
def test_full_report_drops_the_security_warnings_a_secure_deployment_fixes(
    admin_client,
):
    """With secure cookies, HTTPS redirect and HSTS set, those warnings leave the report."""
    secure = {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
    }
    with override_settings(**secure):
        response = admin_client.get(FULL, secure=True)
    ids = {message["id"] for message in response.json()["system_checks"]}
    assert (
        not {"security.W004", "security.W008", "security.W012", "security.W016"} & ids
    )
