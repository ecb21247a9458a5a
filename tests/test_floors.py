"""The package is built in floors (docs/development.rst, "Architecture"): no import goes up, none goes round.

Every import statement counts, also one inside a function or under
``TYPE_CHECKING``: a lazy import still ties the importing module to the
imported one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import django_stability

PACKAGE = "django_stability"

#: Each top-level module or package of django_stability and its floor; the
#: package itself (``django_stability/__init__.py``) is its front door, a surface.
FLOORS = {
    "core": {
        "conf",
        "signals",
        "metrics",
        "correlation",
        "app_version",
        "logging",
        "state",
        "db",
        "models",
        "migrations",
        "checks",
        "errors",
        "_process_metrics",
        "runtime",
    },
    "capability": {
        "breakers",
        "ratelimit",
        "health",
        "drafts",
        "realtime",
        "bulkhead",
        "deadline",
        "retry",
    },
    "surface": {
        "",
        "apps",
        "testing",
        "middleware",
        "views",
        "admin",
        "management",
        "urls",
        "_dual_urls",
    },
}
LEVEL = {"core": 0, "capability": 1, "surface": 2}


def modules() -> dict[str, Path]:
    """Every module of the installed package by dotted name (a package by its own name)."""
    root = Path(django_stability.__file__).parent
    found = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join([PACKAGE, *parts])] = path
    return found


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the package its import statements name, wherever they are."""
    known = modules()
    edges: dict[str, set[str]] = {name: set() for name in known}
    for name, path in known.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here[: len(here) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    targets.append(submodule if submodule in known else base)
            edges[name].update(t for t in targets if t in known and t != name)
    return edges


def floor(module: str) -> str:
    top = module.split(".")[1] if "." in module else ""
    return next(name for name, members in FLOORS.items() if top in members)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle, each once, starting at its first module by name."""
    found = []
    for start in sorted(edges):
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for following in sorted(edges[node]):
                if following == start:
                    found.append(path)
                elif following > start and following not in path:
                    stack.append((following, [*path, following]))
    return found


def test_every_module_has_a_floor():
    """A new top-level module or package is placed on a floor here and in the docs, not by accident."""
    placed = set().union(*FLOORS.values())
    tops = {m.split(".")[1] if "." in m else "" for m in modules()}
    assert tops - placed == set()


def test_no_import_goes_up_a_floor():
    upward = [
        f"{module} ({floor(module)}) imports {imported} ({floor(imported)})"
        for module, imported_modules in import_graph().items()
        for imported in sorted(imported_modules)
        if LEVEL[floor(imported)] > LEVEL[floor(module)]
    ]
    assert upward == []


def test_no_capability_reaches_into_another():
    """A capability uses another only through its public names: none of its private modules."""
    reaching = [
        f"{module} imports {imported}"
        for module, imported_modules in import_graph().items()
        if floor(module) == "capability"
        for imported in sorted(imported_modules)
        if floor(imported) == "capability"
        and imported.split(".")[1] != module.split(".")[1]
        and any(part.startswith("_") for part in imported.split(".")[2:])
    ]
    assert reaching == []


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_one():
    """The test above can fail: a two-module and a three-module cycle are both found."""
    edges = {"a": {"b"}, "b": {"a", "c"}, "c": {"d"}, "d": {"b"}}
    assert cycles(edges) == [["a", "b"], ["b", "c", "d"]]
