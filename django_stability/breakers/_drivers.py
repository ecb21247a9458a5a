"""The two drivers of a breaker's steps: they do the I/O the steps ask for, in the caller's thread or on its event loop."""

from __future__ import annotations

from typing import Any, TypeVar, cast

from asgiref.sync import sync_to_async

from django_stability.breakers._core import FORCED, STORE, BreakerCore, Steps
from django_stability.breakers._forced import forced_action, restoring
from django_stability.breakers._store import STEP
from django_stability.signals import breaker_state_changed

T = TypeVar("T")


def drive(core: BreakerCore, steps: Steps[T]) -> T:
    """Run ``steps`` of breaker ``core`` in this thread."""
    try:
        op, arg = next(steps)
        while True:
            if op == STORE:
                try:
                    answer: Any = core.engine.run(STEP, core._keys, arg)
                except Exception:  # bookkeeping must never fail the protected call
                    core._events.store_failed()
                    answer = None
            elif op == FORCED:
                answer = forced_action(core.name)
            else:
                answer = breaker_state_changed.send(
                    sender=type(core), name=core.name, old=arg[0], new=arg[1]
                )
            op, arg = steps.send(answer)
    except StopIteration as done:
        return cast(T, done.value)
    finally:
        steps.close()  # an I/O that raised: the steps' own cleanup still runs


async def adrive(core: BreakerCore, steps: Steps[T]) -> T:
    """Run ``steps`` of breaker ``core`` on the running event loop."""
    try:
        op, arg = next(steps)
        while True:
            if op == STORE:
                try:
                    answer: Any = await core.engine.arun(STEP, core._keys, arg)
                except Exception:  # bookkeeping must never fail the protected call
                    core._events.store_failed()
                    answer = None
            elif op == FORCED:
                answer = None  # no thread for a read forced_action would skip
                if not restoring():
                    answer = await sync_to_async(forced_action)(core.name)
            else:
                answer = await breaker_state_changed.asend(
                    sender=type(core), name=core.name, old=arg[0], new=arg[1]
                )
            op, arg = steps.send(answer)
    except StopIteration as done:
        return cast(T, done.value)
    finally:
        steps.close()
