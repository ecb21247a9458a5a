"""Schemathesis against the running example project: every operation of docs/openapi.yaml.

Each operation is fuzzed as three callers (anonymous, a normal user, staff)
with requests generated from the document, valid ones and invalid ones. Every
answer must be documented: no 5xx, a documented status, content type, body
and headers. A refused write must store nothing: a draft keeps its content
and version, a breaker its state. Half the draft writes first find a draft
stored under their key, so that stale versions meet a real one. The run is deterministic (derandomized) and
bounded by ``EXAMPLES`` per operation and caller.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    not_a_server_error,
)
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz._server import Caller, ExampleServer
from tests.test_openapi import DOCUMENT

pytestmark = pytest.mark.postgres

# Per operation and caller; STABILITY_FUZZ_EXAMPLES raises it for a longer hunt.
EXAMPLES = int(os.environ.get("STABILITY_FUZZ_EXAMPLES", "25"))
SCHEMA = schemathesis.openapi.from_path(str(DOCUMENT))


def _operations() -> dict[str, Any]:
    found = {}
    for result in SCHEMA.get_all_operations():
        assert isinstance(result, Ok), result  # an operation schemathesis cannot read
        found[result.ok().label] = result.ok()
    return found


OPERATIONS = _operations()
# An open stream never ends: where it opens, it is judged by its head (open_stream).
STREAMING = "GET /stability/events/{channel}/"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
TIMEOUT = 10.0  # seconds for one answer; a hung request fails the test instead of CI
DRAFT = "/stability/drafts/{key}"
# Keys at the edges of ``[A-Za-z0-9._:-]{1,200}``, which generated strings seldom
# reach: dots, the longest key and one past it, characters just outside the set.
# ("." and "..", which clients remove from a URL as dot segments, never reach the
# view: they are refused as keys, tested in tests/drafts/.)
EDGE_KEYS = (
    "...",
    ".a",
    "a.",
    "a.b",
    "form.note:1",
    "-",
    ":x:",
    "k" * 200,
    "k" * 201,
    "a b",
    "caf\u00e9",
    "a,b",
    "a\u0000b",
)
# Bodies at the edges of the write's schema: null data, versions that are not
# positive integers (booleans and floats included), documents that are not objects.
EDGE_BODIES: tuple[Any, ...] = (
    {"data": 1},
    {"data": {"nested": [1, 2, {"x": None}]}, "version": 1},
    {"data": None},
    {"data": "x", "version": 0},
    {"data": "x", "version": True},
    {"data": "x", "version": 1.5},
    {"data": "x", "version": "1"},
    {"version": 1},
    [],
    "data",
)


def cases() -> list[Any]:
    params = []
    for label in sorted(OPERATIONS):
        for caller in ("anonymous", "user", "staff"):
            params.append(pytest.param(label, caller, id=f"{label} as {caller}"))
    return params


def edge_cases(operation: Any) -> Any:
    """Hand-picked draft requests at the edges of the contract, mixed in with generated ones."""
    if not operation.label.endswith(DRAFT):
        return st.nothing()
    keys = st.sampled_from(EDGE_KEYS)
    if operation.method.upper() != "PUT":
        return keys.map(lambda key: operation.Case(path_parameters={"key": key}))
    return st.builds(
        lambda key, body: operation.Case(
            path_parameters={"key": key}, body=body, media_type="application/json"
        ),
        keys,
        st.sampled_from(EDGE_BODIES),
    )


def open_stream(server: ExampleServer, caller: Caller, case: Any) -> bool:
    """Open the event stream as ``case`` asks; True when it opened, was checked and closed.

    An open stream never ends, so it cannot be read whole: its content type, the
    headers that keep proxies from buffering or caching it, the correlation and
    version headers, and its first line
    (the ``retry:`` hint) are checked, then the connection is closed. Any other
    answer ends, and is validated whole by the caller (False).
    """
    kwargs = case.as_transport_kwargs(base_url=server.base, headers=caller.headers)
    kwargs["cookies"] = {**kwargs.get("cookies", {}), **caller.cookies}
    with requests.request(**kwargs, stream=True, timeout=TIMEOUT) as opened:
        if opened.status_code != 200:
            return False
        assert opened.headers["Content-Type"].startswith("text/event-stream")
        assert opened.headers["Cache-Control"] == "no-cache"
        assert opened.headers["X-Accel-Buffering"] == "no"
        assert opened.headers["X-Correlation-ID"]
        assert opened.headers["X-App-Version"]
        first = next(opened.iter_lines())
        assert first.startswith(b"retry: "), first
    return True


def _get(server: ExampleServer, caller: Caller, path: str) -> tuple[int, Any]:
    response = requests.get(
        server.base + path,
        cookies=caller.cookies,
        headers=caller.headers,
        timeout=TIMEOUT,
    )
    assert response.status_code < 500, (path, response.status_code, response.text)
    body = response.json() if response.status_code == 200 else None
    return response.status_code, body


def seed(server: ExampleServer, caller: Caller, case: Any) -> None:
    """Store a draft under the key a write is about to use, so that the write meets one.

    The generated ``version`` is then mostly stale: the 409 path, which must
    keep the stored draft as it was, is exercised as often as the happy one.
    """
    response = requests.put(
        server.base + case.formatted_path,
        json={"data": {"seeded": case.formatted_path}},
        cookies=caller.cookies,
        headers=caller.headers,
        timeout=TIMEOUT,
    )
    assert response.status_code in (200, 400), response.text  # 400: a bad key


def stored(server: ExampleServer, caller: Caller, case: Any) -> Any:
    """What a write by ``case`` could change, read back through the API."""
    path = case.formatted_path
    if case.operation.label.endswith(DRAFT):
        if "sessionid" not in caller.cookies:
            return None
        if case.method in ("PUT", "DELETE") and before_is_seeded(case):
            seed(server, caller, case)
        return _get(server, caller, path)
    if case.operation.label == "POST /stability/breakers/{name}/{action}":
        staff = server.callers["staff"]
        status, body = _get(server, staff, "/stability/breakers/")
        return status, sorted(
            (b["name"], b["state"], b["forced"]) for b in body["breakers"]
        )
    return None


def before_is_seeded(case: Any) -> bool:
    """Half the writes (by a stable hash of the path) meet a stored draft, half meet none."""
    path: str = case.formatted_path
    return sum(path.encode()) % 2 == 0


def restore(server: ExampleServer, case: Any, response: Any) -> None:
    """Undo a breaker action that succeeded, so the next cases meet the breakers closed."""
    if case.operation.label != "POST /stability/breakers/{name}/{action}":
        return
    if response.status_code != 200:
        return
    staff = server.callers["staff"]
    name = response.json()["name"]
    for action in ("release", "reset"):
        answer = requests.post(
            f"{server.base}/stability/breakers/{name}/{action}",
            cookies=staff.cookies,
            headers=staff.headers,
            timeout=TIMEOUT,
        )
        assert answer.status_code == 200, answer.text


def _after(server: ExampleServer, caller: Caller, case: Any) -> Any:
    if case.operation.label.endswith(DRAFT):
        return _get(server, caller, case.formatted_path)
    return stored(server, caller, case)


def check_write(
    server: ExampleServer, caller: Caller, case: Any, before: Any, response: Any
) -> None:
    """A refused request stored nothing; an accepted draft write stored what it answered."""
    if before is None:
        return
    after = _after(server, caller, case)
    status = response.status_code
    if 400 <= status < 500:
        assert after == before, f"a {status} answer changed what is stored"
        if status == 409 and response.json()["code"] == "draft_conflict":
            assert (
                response.json()["draft"] == after[1]
            )  # the conflict shows what is stored
    elif case.method == "PUT" and status == 200:
        assert after == (200, response.json())
    elif case.method == "DELETE" and status == 204:
        assert after[0] in (400, 404)


@pytest.mark.parametrize(("label", "caller_name"), cases())
def test_operation_conforms_and_refusals_store_nothing(
    server: ExampleServer, label: str, caller_name: str
) -> None:
    """Generated requests get documented answers, never a 5xx, and a refused write changes nothing."""
    operation = OPERATIONS[label]
    caller = server.callers[caller_name]
    strategy = st.one_of(
        edge_cases(operation),
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def fuzz(case: Any) -> None:
        if label == STREAMING and open_stream(server, caller, case):
            return
        before = stored(server, caller, case)
        response = case.call(
            base_url=server.base,
            cookies=caller.cookies,
            headers=caller.headers,
            timeout=TIMEOUT,
        )
        try:
            case.validate_response(response, checks=CHECKS)
            check_write(server, caller, case, before, response)
        finally:
            restore(server, case, response)

    fuzz()
