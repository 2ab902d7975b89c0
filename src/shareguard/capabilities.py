"""The capability packages, in dependency order. Each may have models, api, console and cli rooms.

`storage.models` and `web.app` discover the rooms from this one list, so adding a capability
means adding its name here; its command-line room is also listed in `shareguard.cli.COMMANDS`
(loaded only when used, so `shareguard --help` imports none of them; a test names any missing).
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

CAPABILITIES = (
    "accounts",
    "agreements",
    "audit",
    "policy",
    "status",
    "signin",
    "checks",
    "matching",
    "corrections",
    "quality",
    "exchange",
    "reports",
    "credentials",
    "retention",
    "operations",
)


def rooms(room: str) -> list[ModuleType]:
    """Import ``shareguard.<capability>.<room>`` for every capability that has that room."""
    found = []
    for cap in CAPABILITIES:
        name = f"shareguard.{cap}.{room}"
        if importlib.util.find_spec(f"shareguard.{cap}") and importlib.util.find_spec(name):
            found.append(importlib.import_module(name))
    return found
