"""Per-process bulkheads: a bounded number of calls at once, sync and async, as decorator and context."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.test import override_settings

from django_stability.bulkhead import Bulkhead, BulkheadConfig, BulkheadFull, bulkhead
from tests.bulkhead.support import rejected
from tests.http_modes import MODES, fetch


def one_place(max_wait: float = 0.0) -> Bulkhead:
    return Bulkhead("local", BulkheadConfig(max_concurrent=1, max_wait=max_wait))


def test_a_call_over_the_limit_is_refused_and_counted():
    """With its only place taken, a call raises BulkheadFull at once; the refusal is counted."""
    guard = one_place()
    before = rejected("local")
    with guard, pytest.raises(BulkheadFull) as refused, guard:
        pass  # pragma: no cover - never entered
    assert refused.value.name == "local"
    assert refused.value.retry_after == 1
    assert rejected("local") == before + 1
    with guard:  # the place is free again after the block
        pass


async def test_async_calls_share_the_places_of_sync_ones():
    """A place taken by ``with`` is missing for ``async with`` in the same process, and back after."""
    guard = one_place()
    with guard, pytest.raises(BulkheadFull):
        async with guard:
            pass  # pragma: no cover - never entered
    async with guard:
        pass


def test_the_decorator_bounds_every_call_and_returns_its_value():
    """A decorated function returns what it returns; a call inside another is refused."""
    guard = one_place()

    @guard
    def work(n: int) -> int:
        return n * 2

    assert work(21) == 42
    with guard, pytest.raises(BulkheadFull):
        work(1)


async def test_the_async_decorator_bounds_every_call():
    """An async function keeps its coroutine nature, and its calls take a place each."""
    guard = one_place()

    @guard
    async def work() -> str:
        return "done"

    assert asyncio.iscoroutinefunction(work)
    assert await work() == "done"
    async with guard:
        with pytest.raises(BulkheadFull):
            await work()


def test_an_exception_inside_gives_the_place_back():
    """A call that raises frees its place all the same."""
    guard = one_place()
    with pytest.raises(ZeroDivisionError), guard:
        1 / 0  # noqa: B018
    with guard:
        pass


def test_a_waiting_thread_gets_the_place_released_to_it():
    """With max_wait, a call waits and is handed the place the moment its holder leaves."""
    guard = one_place(max_wait=30)
    entered = threading.Event()
    results: list[str] = []

    def waiter() -> None:
        entered.set()
        with guard:
            results.append("waited")

    with guard:
        thread = threading.Thread(target=waiter)
        thread.start()
        entered.wait(5)
        assert results == []
    thread.join(30)
    assert results == ["waited"]


async def test_a_waiting_task_gets_the_place_released_to_it():
    """The async wait is handed the place too, without blocking the event loop."""
    guard = one_place(max_wait=30)
    order: list[str] = []

    async def waiter() -> None:
        async with guard:
            order.append("waiter")

    async with guard:
        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        order.append("holder")
    await asyncio.wait_for(task, 30)
    assert order == ["holder", "waiter"]


async def test_a_waiter_that_runs_out_of_time_is_refused_and_leaves_the_queue():
    """After max_wait without a place, BulkheadFull; the place later freed goes to the next caller."""
    guard = one_place(max_wait=0.05)
    async with guard:
        with pytest.raises(BulkheadFull):
            async with guard:
                pass  # pragma: no cover - never entered
    async with guard:
        pass


async def test_a_cancelled_waiter_leaves_the_queue():
    """A waiting task cancelled (its request gone) takes no place with it."""
    guard = one_place(max_wait=30)

    async def waiter() -> None:
        async with guard:
            pass  # pragma: no cover - cancelled first

    async with guard:
        task = asyncio.create_task(waiter())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    async with guard:
        pass


def test_nested_bulkheads_release_what_each_took():
    """Two bulkheads entered inside each other give their own places back."""
    outer, inner = one_place(), Bulkhead("other", BulkheadConfig(max_concurrent=1))
    with outer, inner:
        pass
    with inner, outer:
        pass


@override_settings(STABILITY_BULKHEADS={"search": {"max_concurrent": 2}})
def test_bulkhead_reads_its_options_from_the_setting():
    """``bulkhead(name)`` follows STABILITY_BULKHEADS; two places, then refusals."""
    first, second = bulkhead("search"), bulkhead("search")
    with first, second, pytest.raises(BulkheadFull), bulkhead("search"):
        pass  # pragma: no cover - never entered
    assert first.config == BulkheadConfig(max_concurrent=2)


def test_an_unlisted_bulkhead_has_the_defaults():
    """A name not in the setting gets ten places and no wait."""
    assert bulkhead("unlisted").config == BulkheadConfig()
    assert BulkheadConfig().max_concurrent == 10


@pytest.mark.parametrize("name", ["", "a b", "x" * 201, None])
def test_a_bad_name_is_refused(name):
    """Names are 1-200 characters of [A-Za-z0-9._:-]."""
    with pytest.raises(ValueError, match="bulkhead names"):
        bulkhead(name)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("path", ["/api/search/", "/api/async/search/"])
@override_settings(
    ROOT_URLCONF="tests.bulkhead.support",
    STABILITY_BULKHEADS={"search": {"max_concurrent": 1}},
)
async def test_a_full_bulkhead_is_a_503_problem_with_retry_after(mode, path):
    """A view whose bulkhead is full answers 503 ``bulkhead_full`` with Retry-After; free, 200."""
    async with bulkhead("search"):
        refused = await fetch(mode, "get", path)
    assert refused.status_code == 503
    assert refused["Content-Type"] == "application/problem+json"
    assert refused["Retry-After"] == "1"
    body = refused.json()
    assert body["code"] == "bulkhead_full"
    assert "search" not in body["detail"]  # the name stays on the server
    assert (await fetch(mode, "get", path)).status_code == 200


@override_settings(
    ROOT_URLCONF="tests.bulkhead.support",
    STABILITY_BULKHEADS={"search": {"max_concurrent": 1}},
)
async def test_a_browser_gets_a_503_page():
    """Outside the API prefixes a browser gets an HTML page with the same status."""
    async with bulkhead("search"):
        refused = await fetch("wsgi", "get", "/html/search/", HTTP_ACCEPT="text/html")
    assert refused.status_code == 503
    assert refused["Retry-After"] == "1"
    assert refused["Content-Type"].startswith("text/html")
