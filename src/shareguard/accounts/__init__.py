"""Organisations, console users, roles and API keys."""

from shareguard.accounts.principal import Principal
from shareguard.accounts.service import AccountService

__all__ = ["AccountService", "Principal"]
