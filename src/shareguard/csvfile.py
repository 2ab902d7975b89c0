"""CSV that spreadsheets cannot turn into formulas: the one way shareguard writes CSV.

OWASP's rule for CSV injection: a text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return is prefixed with a single quote, so a spreadsheet shows it as text
instead of evaluating it; the csv module then quotes and escapes as usual. Numbers stay
numbers (``-5`` is a value, not a formula). Every CSV writer (the transparency register,
reports, match results, import reports) goes through here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # pandas costs a second to import; only match runs need it (safe_frame)
    import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """``value``, made safe to open in a spreadsheet if it is text that looks like a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def writer(fh: IO[str], **kwargs: Any) -> _Writer:
    """A ``csv.writer`` whose rows (headers included) are made safe cell by cell."""
    return _Writer(csv.writer(fh, **kwargs))


class _Writer:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def writerow(self, row: Iterable[Any]) -> None:
        self._inner.writerow([cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def dicts_to_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> str:
    """CSV text (header first, ``\\n`` line ends) of ``rows`` in ``columns`` order."""
    buf = io.StringIO()
    out = writer(buf, lineterminator="\n")
    out.writerow(columns)
    for row in rows:
        out.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return buf.getvalue()


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names are safe (for ``to_csv``)."""
    from pandas.api.types import is_string_dtype  # pandas loads only for match runs

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or is_string_dtype(out[column]):
            out[column] = out[column].map(cell)
    out.columns = [cell(str(c)) for c in out.columns]
    return out
