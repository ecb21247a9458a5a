"""The breakers package reads top-down: no module imports one that imports it back."""

from __future__ import annotations

import ast
from pathlib import Path

import django_stability.breakers

PACKAGE = "django_stability.breakers"


def modules(root: Path, package: str) -> dict[str, Path]:
    """Every module under ``root``, by dotted name (a package by its own name)."""
    found = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join([package, *parts])] = path
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of the package it imports, wherever the import statement is."""
    known = modules(root, package)
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


def test_the_finder_sees_a_cycle(tmp_path):
    """The check can fail: two modules importing each other, one inside a function, are a cycle."""
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "a.py").write_text("from pkg import b\n")
    (tmp_path / "b.py").write_text("def f():\n    from . import a\n")
    (tmp_path / "c.py").write_text("from pkg.a import x\n")
    assert cycles(import_graph(tmp_path, "pkg")) == [["pkg.a", "pkg.b"]]


def test_no_import_cycle_in_the_breakers_package():
    """No breakers module imports, even inside a function, one that leads back to it."""
    root = Path(django_stability.breakers.__file__).parent
    assert cycles(import_graph(root, PACKAGE)) == []
