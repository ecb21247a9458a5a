"""The ``route`` of the access line and of the HTTP metrics: the URL pattern that matched, readable."""

from __future__ import annotations

import functools
import re

from django.contrib.admindocs import utils as admindocs

#: The site root's pattern is the empty string, which reads as nothing in a log line.
ROOT_ROUTE = "/"
#: Characters a ``path()`` route practically never holds but a regular expression does.
_REGEX_SIGNS = frozenset("()[]\\^$")
_ESCAPED = re.compile(r"\\(.)")


@functools.lru_cache(maxsize=1024)  # bounded by the URLconf's patterns
def readable_route(route: str) -> str:
    r"""``request.resolver_match.route`` as a person reads it.

    A ``path()`` route is kept as it is (``api/notes/<int:pk>``), the empty
    route of the site root becomes ``/``, and a ``re_path()`` regular
    expression becomes the form Django's admin documentation shows:
    ``stability/drafts/(?P<key>[\s\S]+)\Z`` reads ``stability/drafts/<key>``,
    an unnamed group ``<var>``.
    """
    if not route:
        return ROOT_ROUTE
    if _REGEX_SIGNS.isdisjoint(route):
        return route
    simple = admindocs.remove_non_capturing_groups(route)
    simple = admindocs.replace_named_groups(simple)
    simple = admindocs.replace_unnamed_groups(simple)
    simple = admindocs.replace_metacharacters(simple)
    return _ESCAPED.sub(r"\1", simple) or ROOT_ROUTE
