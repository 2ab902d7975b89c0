"""Imports every capability's models so that Base.metadata is complete (Alembic, create_all)."""

from shareguard.capabilities import rooms
from shareguard.storage.base import Base

MODEL_MODULES = rooms("models")

__all__ = ["Base"]
