"""Operator actions: change a breaker's shared state, and record it (forced state, admin history) in the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django_stability.breakers import _forced
from django_stability.breakers._core import COMMANDS
from django_stability.breakers._events import log
from django_stability.breakers._operator import operator_access
from django_stability.breakers._registry import breaker
from django_stability.breakers._snapshot import Snapshot

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

#: The operator actions, as the JSON endpoints and ``manage.py breakers`` name them.
ACTIONS = tuple(COMMANDS)


@dataclass(frozen=True)
class Action:
    """What an operator action did: the breaker after it, and whether the database recorded it.

    .. versionadded:: 0.1
    """

    snapshot: Snapshot
    #: ``False`` when the database could not keep the forced state or the
    #: admin history entry (it is down): the action took effect in the shared
    #: state all the same, but a Redis flush or restart forgets a forced state.
    recorded: bool
    #: Why it was not recorded (``"OperationalError: ..."``), or ``None``.
    error: str | None = None


def act(
    name: str,
    action: str,
    *,
    user: AbstractBaseUser | AnonymousUser | None = None,
    via: str = "api",
) -> Action:
    """Apply an operator ``action`` to breaker ``name``, then record it; see :func:`operate`.

    The action takes effect even when the database cannot record it; the
    answer says whether it was recorded.

    Raises:
        ValueError: unknown action.

    .. versionadded:: 0.1
    """
    if action not in ACTIONS:
        raise ValueError(
            f"unknown breaker action {action!r}; use one of {', '.join(ACTIONS)}"
        )
    user_id = getattr(user, "pk", None)
    error = None
    # Recorded first: when the shared record is fresh (a Redis flush), the
    # command below restores the forced state from the database, which must
    # already be the new one.
    try:
        with operator_access():
            _forced.record(name, action, user_id)
    except Exception as exc:  # the action stands; only its record is missing
        error = f"{type(exc).__name__}: {exc}"
        log.error(
            "breaker_operator_action_unrecorded",
            breaker=name,
            action=action,
            user_id=user_id,
            via=via,
            error=error,
        )
    snapshot = breaker(name).command(action)
    log.warning(
        "breaker_operator_action",
        breaker=name,
        action=action,
        user_id=user_id,
        via=via,
        state=snapshot.state,
        recorded=error is None,
    )
    return Action(snapshot=snapshot, recorded=error is None, error=error)


def operate(
    name: str,
    action: str,
    *,
    user: AbstractBaseUser | AnonymousUser | None = None,
    via: str = "api",
) -> Snapshot:
    """Apply an operator ``action`` (``open``, ``close``, ``reset``, ``release``) to breaker ``name`` and record it.

    A forced state is kept in the database; with a ``user``, the action goes
    into the admin history.

    Raises:
        ValueError: unknown action.

    .. versionadded:: 0.1
    """
    return act(name, action, user=user, via=via).snapshot
