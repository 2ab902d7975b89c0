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


#: Rooms at the boundary (command line, routes, start-up) may use any capability.
BOUNDARY_ROOMS = {"cli.py", "commands.py", "api.py", "startup.py", "demo.py"}
#: Known mutual dependencies still to break, each with its reason.
KNOWN_CYCLES = {
    # accounts audits key changes through audit, and audit names its actors with accounts'
    # Principal: moving key auditing to the boundary would break this one.
    ("accounts", "audit"),
}


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
    assert mutual <= KNOWN_CYCLES, f"capabilities importing each other: {mutual - KNOWN_CYCLES}"
