"""Packages meet at their faces: no module imports another package's private (underscore) name."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "shareguard"


def test_no_module_imports_another_packages_private_name() -> None:
    crossings = []
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).parts
        own = parts[0] if len(parts) > 1 else None
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            names = node.module.split(".")
            if names[0] != "shareguard" or len(names) < 2 or names[1] == own:
                continue
            crossings += [
                f"{path.relative_to(SRC)}:{node.lineno} {node.module}.{alias.name}"
                for alias in node.names
                if alias.name.startswith("_")
            ]
    assert crossings == []


def test_no_module_but_the_app_imports_routes() -> None:
    """Shapes two rooms share live in ``present.py``: a command or a console page importing an
    ``api`` room would load the web stack into a command, and couple two boundaries."""
    importers = []
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts == ("web", "app.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith(".api"):
                importers.append(f"{path.relative_to(SRC)}:{node.lineno} {node.module}")
    assert importers == []


#: Rooms at the boundary (command line, routes, start-up) may use any capability.
BOUNDARY_ROOMS = {"cli.py", "api.py", "startup.py", "demo.py"}


def _capability_imports() -> dict[str, set[str]]:
    from shareguard.capabilities import CAPABILITIES

    uses: dict[str, set[str]] = {cap: set() for cap in CAPABILITIES}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).parts
        if len(parts) < 2 or parts[0] not in uses or path.name in BOUNDARY_ROOMS:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                names = module.split(".")
                if names[0] == "shareguard" and len(names) > 1 and names[1] in uses:
                    uses[parts[0]].add(names[1])
    return uses


def test_no_two_capabilities_depend_on_each_other() -> None:
    uses = _capability_imports()
    mutual = {
        tuple(sorted((a, b))) for a, used in uses.items() for b in used if b != a and a in uses[b]
    }
    assert not mutual, f"capabilities importing each other: {mutual}"


def test_every_hook_point_is_answered() -> None:
    """Each hook point names functions that exist (a typo would silently skip its work)."""
    from shareguard.capabilities import HOOKS, hooks

    for point in HOOKS:
        answers = hooks(point)
        assert answers and all(callable(f) for f in answers), point


def test_every_name_a_face_exports_resolves() -> None:
    """A face that loads on first use (``shareguard.faces.lazy``) names its modules in a
    mapping that no import checks: a misspelt entry would fail only when a caller first
    reaches for it, so every exported name of every face is resolved here."""
    import importlib

    unresolved = []
    for init in sorted(SRC.glob("*/__init__.py")):
        face = importlib.import_module(f"shareguard.{init.parent.name}")
        for name in getattr(face, "__all__", ()):
            try:
                getattr(face, name)
            except (AttributeError, ImportError) as exc:
                unresolved.append(f"shareguard.{init.parent.name}.{name}: {exc}")
    assert unresolved == []
