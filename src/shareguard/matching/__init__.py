"""Bulk matching under an agreement: gated watch list, partner datasets, Splink runs, review.

One service per job: ``ImportService`` (partner datasets), ``RunService`` (match runs and
what they disclosed), ``ReviewService`` (review and adverse actions), ``WatchlistService``.
"""

from shareguard.matching.datasets import FileRejected, RowBatch, RowError, file_columns, stream_rows
from shareguard.matching.imports import ImportService
from shareguard.matching.pairs import RunInputs, link, write_outputs
from shareguard.matching.review import ADVERSE_KINDS, ReviewService, confirmed
from shareguard.matching.runs import RunOptions, RunService
from shareguard.matching.watchlist import REASONS, WatchlistService, gate

__all__ = [
    "ADVERSE_KINDS",
    "REASONS",
    "FileRejected",
    "ImportService",
    "ReviewService",
    "RowBatch",
    "RowError",
    "RunInputs",
    "RunOptions",
    "RunService",
    "WatchlistService",
    "confirmed",
    "file_columns",
    "gate",
    "link",
    "stream_rows",
    "write_outputs",
]
