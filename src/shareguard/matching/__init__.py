"""Bulk matching under an agreement: gated watch list, partner datasets, Splink runs, review."""

from shareguard.matching.service import MatchingService, RunOptions, confirmed
from shareguard.matching.watchlist import REASONS, WatchlistService, gate

__all__ = ["REASONS", "MatchingService", "RunOptions", "WatchlistService", "confirmed", "gate"]
