"""Storage: engine, sessions, declarative base and migrations."""

from shareguard.storage.base import Base, new_id, utcnow
from shareguard.storage.db import get_engine, make_engine, session_factory, session_scope

__all__ = [
    "Base",
    "get_engine",
    "make_engine",
    "new_id",
    "session_factory",
    "session_scope",
    "utcnow",
]
