"""docs/openapi.yaml: a valid OpenAPI 3.1 document with exactly the app's HTTP endpoints."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.urls import URLPattern, URLResolver
from django.urls.resolvers import RegexPattern, RoutePattern
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError
from referencing.exceptions import Unresolvable

from django_stability import urls as stability_urls
from django_stability.realtime.routing import http_urlpatterns

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"
MOUNT = "/stability/"  # DESIGN.md: path("stability/", include("django_stability.urls"))
_ROUTE_PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
_REGEX_PARAM = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def load() -> dict[str, Any]:
    with DOCUMENT.open() as text:
        document: dict[str, Any] = yaml.safe_load(text)
    return document


def openapi_path(pattern: URLPattern | URLResolver) -> str:
    """A URL pattern as an OpenAPI path template: ``<str:name>`` and ``(?P<name>...)`` become ``{name}``."""
    if isinstance(pattern.pattern, RoutePattern):
        return _ROUTE_PARAM.sub(r"{\1}", str(pattern.pattern))
    assert isinstance(pattern.pattern, RegexPattern)
    regex = str(pattern.pattern).removeprefix("^").removesuffix("$").removesuffix(r"\Z")
    template = _REGEX_PARAM.sub(r"{\1}", regex)
    assert not set("()[]|\\^$?*+") & set(template), f"cannot template {regex!r}"
    return template


def walk(patterns: Iterable[URLPattern | URLResolver], prefix: str) -> Iterator[str]:
    """Every endpoint under ``prefix``, includes followed."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, prefix + openapi_path(pattern))
        else:
            yield prefix + openapi_path(pattern)


def served_paths() -> set[str]:
    """The URLconf's endpoints where DESIGN.md mounts it, plus the SSE route (mounted at the root)."""
    return {
        *walk(stability_urls.urlpatterns, MOUNT),
        *walk(http_urlpatterns, "/"),
    }


def test_the_document_is_valid_openapi_3_1() -> None:
    """The validator accepts the document as OpenAPI 3.1 (schemas, references, parameters)."""
    document = load()
    assert document["openapi"].startswith("3.1.")
    validate(document)


def test_the_validator_rejects_a_broken_document() -> None:
    """The validity check can fail: a schema that is not a schema, a dangling reference."""
    document = load()
    version = document["paths"]["/stability/version"]["get"]["responses"]
    version["200"]["headers"]["ETag"] = {"schema": 5}
    with pytest.raises(OpenAPIValidationError):
        validate(document)
    version["200"] = {"$ref": "#/components/responses/NoSuchResponse"}
    with pytest.raises(Unresolvable):
        validate(document)


def test_every_url_pattern_has_a_path_and_every_path_a_pattern() -> None:
    """The documented paths are exactly the URLconf's: a new URL without a doc entry fails here."""
    documented = set(load()["paths"])
    served = served_paths()
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"


def test_a_path_parameter_is_declared_for_every_template_variable() -> None:
    """Each ``{name}`` in a path is a declared path parameter of its operations."""
    document = load()
    parameters = document["components"]["parameters"]
    for template, item in document["paths"].items():
        names = set(re.findall(r"{(\w+)}", template))
        for method in ("get", "put", "post", "delete"):
            if method not in item:
                continue
            declared = {
                (parameters[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p)["name"]
                for p in [
                    *item.get("parameters", []),
                    *item[method].get("parameters", []),
                ]
            }
            assert names <= declared, (template, method)


def test_the_walk_follows_includes() -> None:
    """An included URLconf's patterns are found under the include's prefix."""
    from django.http import HttpResponse
    from django.urls import include, path

    included = [path("x/", include([path("y/<int:pk>", lambda r: HttpResponse())]))]
    assert list(walk(included, "/")) == ["/x/y/{pk}"]


def test_problem_schema_has_the_members_every_problem_carries() -> None:
    """The Problem schema requires RFC 9457's members plus ``code`` and ``correlation_id``."""
    problem = load()["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {
        "type",
        "title",
        "status",
        "detail",
        "code",
        "correlation_id",
    }
