"""Package faces that load on first use (PEP 562).

A package's ``__init__`` names its public API in ``__all__``; with ``lazy`` the module behind
each name is imported when the name is first used, not when the package is. So reading a
package's models (``shareguard.matching.models``) does not pull in what its services need
(pandas, pyarrow and Splink for matching, httpx for webhooks): a command that only reads,
such as ``shareguard report``, starts without them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy(package: str, where: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``where`` maps each public name to the
    submodule defining it (a name mapped to itself is that submodule)."""

    def attribute(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        loaded = import_module(f"{package}.{module}")
        value = loaded if module == name else getattr(loaded, name)
        setattr(sys.modules[package], name, value)
        return value

    return attribute
