"""Deployment checks for production readiness: pool sizing, channel layer, rate-limit cache."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import override_settings

from tests.checks import check_error_codes, run_checks

PG = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "app",
    "OPTIONS": {"pool": {"min_size": 2, "max_size": 20}},
}
SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
REDIS = {"STABILITY_REDIS_URL": "redis://127.0.0.1:6379/0"}  # silences W001


def deploy_ids() -> list[str]:
    return [str(m.id).split(".")[1] for m in run_checks(deploy=True)]


@override_settings(**REDIS)
# The check only reads DATABASES; no connection is made through the overridden entries.
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES:UserWarning")
@pytest.mark.parametrize(
    ("workers", "pool", "warns"),
    [
        ("6", {"max_size": 20}, True),
        ("5", {"max_size": 20}, False),
        ("30", True, True),  # psycopg_pool's default size, 4
        ("30", {"min_size": 4}, True),
        ("", {"max_size": 20}, False),
        ("many", {"max_size": 20}, False),
        ("50", None, False),
    ],
)
def test_pool_sizing_against_worker_count(
    monkeypatch: pytest.MonkeyPatch, workers: str, pool: object, warns: bool
) -> None:
    """W015 when WEB_CONCURRENCY x pool max_size exceeds PostgreSQL's default 100 connections."""
    monkeypatch.setenv("WEB_CONCURRENCY", workers)
    options = {} if pool is None else {"pool": pool}
    with override_settings(
        DATABASES={"default": SQLITE, "pg": {**PG, "OPTIONS": options}}
    ):
        messages = [m for m in run_checks(deploy=True) if str(m.id).endswith("W015")]
    assert bool(messages) is warns
    if warns and workers == "6":
        assert messages[0].msg.startswith(
            "DATABASES['pg']: 6 worker processes (WEB_CONCURRENCY) x a pool of up to 20 "
            "connections may open 120 connections"
        )


@override_settings(**REDIS)
def test_in_memory_channel_layer_warns_with_debug_off() -> None:
    """W016 for InMemoryChannelLayer in production; nothing for a Redis layer or with DEBUG on."""
    layers = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"},
        "redis": {"BACKEND": "channels_redis.core.RedisChannelLayer"},
    }
    with override_settings(CHANNEL_LAYERS=layers):
        [message] = check_error_codes(["W016"], deploy=True)
        assert message.msg.startswith(
            "CHANNEL_LAYERS['default'] uses InMemoryChannelLayer"
        )
        with override_settings(DEBUG=True):
            assert "W016" not in deploy_ids()


@override_settings(**REDIS)
@pytest.mark.parametrize(
    ("backend", "warns"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", True),
        ("django.core.cache.backends.dummy.DummyCache", True),
        ("django.core.cache.backends.redis.RedisCache", False),
    ],
)
def test_ratelimit_cache_must_be_shared(backend: str, warns: bool) -> None:
    """W017 when django-ratelimit's cache is per process or stores nothing."""
    caches = {"default": {"BACKEND": backend}, "rl": {"BACKEND": backend}}
    with override_settings(CACHES=caches, RATELIMIT_USE_CACHE="rl"):
        ids = deploy_ids()
    assert ("W017" in ids) is warns


@override_settings(**REDIS)
def test_ratelimit_cache_check_waits_for_signs_of_django_ratelimit() -> None:
    """Without django_ratelimit installed or RATELIMIT_USE_CACHE set, a LocMem default is not flagged."""
    assert "W017" not in deploy_ids()
    with override_settings(INSTALLED_APPS=["django_ratelimit", "django_stability"]):
        [message] = check_error_codes(["W017"], deploy=True)
    assert "keeps counts per process" in message.msg


@override_settings(**REDIS, RATELIMIT_USE_CACHE="missing")
def test_missing_ratelimit_cache_alias_is_left_to_django_ratelimit() -> None:
    """An alias absent from CACHES is django-ratelimit's own error, not ours."""
    assert "W017" not in deploy_ids()


@override_settings(
    **REDIS,
    CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
)
def test_deploy_checks_run_through_manage_py_check() -> None:
    """manage.py check --deploy reports the new warnings under the django_stability tag."""
    from io import StringIO

    out = StringIO()
    call_command(
        "check", "--deploy", "--tag", "django_stability", stdout=out, stderr=out
    )
    assert "django_stability.W016" in out.getvalue()
