"""Organisations, console users, roles and API keys."""

from shareguard.accounts.principal import Principal
from shareguard.accounts.service import KEY_PREFIX, AccountService, hash_key_secret

__all__ = ["KEY_PREFIX", "AccountService", "Principal", "hash_key_secret"]
