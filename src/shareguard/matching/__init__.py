"""Bulk matching under an agreement: gated watch list, partner datasets, Splink runs, review.

One service per job: ``ImportService`` (partner datasets), ``RunService`` (match runs and
what they disclosed), ``ReviewService`` (review and adverse actions), ``WatchlistService``.

Each name loads its module on first use (``shareguard.faces.lazy``): importing the models
(as reports and corrections do) does not import pandas, pyarrow or Splink.
"""

from typing import TYPE_CHECKING

from shareguard.faces import lazy

if TYPE_CHECKING:
    from shareguard.matching.datasets import (
        FileRejected,
        RowBatch,
        RowError,
        file_columns,
        stream_rows,
    )
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

__getattr__ = lazy(
    __name__,
    {
        "FileRejected": "datasets",
        "RowBatch": "datasets",
        "RowError": "datasets",
        "file_columns": "datasets",
        "stream_rows": "datasets",
        "ImportService": "imports",
        "RunInputs": "pairs",
        "link": "pairs",
        "write_outputs": "pairs",
        "ADVERSE_KINDS": "review",
        "ReviewService": "review",
        "confirmed": "review",
        "RunOptions": "runs",
        "RunService": "runs",
        "REASONS": "watchlist",
        "WatchlistService": "watchlist",
        "gate": "watchlist",
    },
)
