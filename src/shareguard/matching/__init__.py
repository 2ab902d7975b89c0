"""Bulk matching under an agreement: gated watch list, partner datasets, Splink runs, review."""

from shareguard.matching.datasets import FileRejected, RowBatch, RowError, file_columns, stream_rows
from shareguard.matching.service import MatchingService, RunOptions, confirmed
from shareguard.matching.watchlist import REASONS, WatchlistService, gate

__all__ = [
    "REASONS",
    "FileRejected",
    "MatchingService",
    "RowBatch",
    "RowError",
    "RunOptions",
    "WatchlistService",
    "confirmed",
    "file_columns",
    "gate",
    "stream_rows",
]
