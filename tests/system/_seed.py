"""Create the soak's users and their sessions in the example project's database.

Run as ``python -m tests.system._seed COUNT`` with the workers' environment;
prints ``{"users": [session keys...], "staff": session key}`` as JSON. Logging
in through a form would only add requests that are not what the soak measures.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.system.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
)
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402

BACKEND = "django.contrib.auth.backends.ModelBackend"


def session_for(user: User) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = BACKEND
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.set_expiry(24 * 3600)
    store.save()
    assert store.session_key is not None
    return store.session_key


def main(count: int) -> None:
    users = []
    for n in range(count):
        user, _ = User.objects.get_or_create(username=f"soak{n}")
        user.set_password(f"soak-{n}-password")
        user.save()
        users.append(session_for(user))
    staff, _ = User.objects.get_or_create(
        username="soak-staff", defaults={"is_staff": True, "is_superuser": True}
    )
    print(json.dumps({"users": users, "staff": session_for(staff)}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
