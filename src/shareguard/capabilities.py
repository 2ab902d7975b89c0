"""The capability packages, in dependency order. Each may have models, api, console and cli rooms.

`storage.models` and `web.app` discover the rooms from this one list, so adding a capability
means adding its name here; its command-line room is also listed in `shareguard.cli.COMMANDS`
(loaded only when used, so `shareguard --help` imports none of them; a test names any missing).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from types import ModuleType
from typing import Any

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


#: Where one capability answers a question another asks without importing it (which would run
#: against the dependency order above): each hook point and the functions that answer it,
#: named here rather than registered when a module happens to be imported.
HOOKS: dict[str, tuple[str, ...]] = {
    # (session, agreement) -> extra fields for the agreement's transparency register entry
    "transparency.extra_fields": ("shareguard.reports.service:transparency_volumes",),
    # (session, person ids) -> the persons whose watch-list entries are held (open findings)
    "watchlist.holds": ("shareguard.quality.service:suspended_persons",),
    # (session, **AuditRecord fields) -> None: accounts' user and key changes, in the audit log
    "accounts.audit": ("shareguard.audit.log:append_fields",),
}


def hooks(point: str) -> list[Callable[..., Any]]:
    """The functions that answer hook ``point``, imported when first asked for."""
    found = []
    for target in HOOKS[point]:
        module, name = target.split(":")
        found.append(getattr(importlib.import_module(module), name))
    return found


def rooms(room: str) -> list[ModuleType]:
    """Import ``shareguard.<capability>.<room>`` for every capability that has that room."""
    found = []
    for cap in CAPABILITIES:
        name = f"shareguard.{cap}.{room}"
        if importlib.util.find_spec(f"shareguard.{cap}") and importlib.util.find_spec(name):
            found.append(importlib.import_module(name))
    return found
