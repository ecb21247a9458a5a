"""Operator actions: applied to the shared state, recorded in the database."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from django_stability.breakers import act, breaker, operate
from django_stability.models import Breaker
from tests.breakers.names import fresh

pytestmark = pytest.mark.django_db


def test_open_is_applied_persisted_and_in_the_admin_history(django_user_model):
    """``act`` changes the shared state, keeps the forced state and writes the history."""
    user = django_user_model.objects.create_user(username="actor", password="x")
    name = fresh("act")
    done = act(name, "open", user=user, via="api")
    assert (done.recorded, done.error, done.snapshot.forced) == (True, None, "open")
    assert Breaker.objects.get(name=name).forced == "open"
    entry = LogEntry.objects.get(object_repr__contains=name)
    assert entry.user == user and "open" in entry.change_message
    assert operate(name, "release").forced is None
    assert Breaker.objects.get(name=name).forced == ""
    assert breaker(name).state == "closed"


def test_an_unknown_action_is_refused_before_anything_changes():
    """Only open, close, reset and release."""
    with pytest.raises(ValueError, match="unknown breaker action 'explode'"):
        act("act-unknown", "explode")
    assert not Breaker.objects.filter(name="act-unknown").exists()
