"""Partner dataset import: a declared column mapping, row-by-row validation, streamed.

Files are read in batches (pyarrow), so a million-row file takes bounded memory. Every bad
row gets an error naming its line, the column and the reason — never the value, which may be
personal data. In ``reject`` mode one bad row rejects the whole file and nothing is kept; in
``quarantine`` mode bad rows are left out and listed in a report beside the dataset.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shareguard import csvfile
from shareguard.config import get_settings
from shareguard.errors import InvalidInput

#: The columns every partner dataset is mapped onto; ``postcode`` and ``middle_names`` (the
#: given names after the first, space-separated, or an initial) may be left unmapped.
CANONICAL = ("record_id", "first_name", "surname", "date_of_birth", "postcode", "middle_names")
REQUIRED = ("record_id", "first_name", "surname", "date_of_birth")
OPTIONAL = ("postcode", "middle_names")
MODES = ("reject", "quarantine")
BATCH_ROWS = 65_536
MAX_REPORTED = 1_000
MAX_NAME = 100
_POSTCODE_SHAPE = re.compile(r"^[A-Za-z0-9 ]{2,10}$")
SCHEMA = pa.schema([(c, pa.string()) for c in CANONICAL])


def data_dir() -> Path:
    """Where matching keeps its files: imported datasets (``datasets/``) and runs (``runs/``)."""
    return get_settings().data_dir / "matching"


#: Called with rows read so far and the file's total bytes read fraction (0..1).
Progress = Callable[[int, float], None]


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


@dataclass
class ImportOutcome:
    rows: int
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    bad_rows: int = 0
    sha256: str = ""


class FileRejected(InvalidInput):
    """The file was refused whole; ``errors`` lists the rows at fault (line, column, reason)."""

    title = "Partner file rejected"
    slug = "partner-file-rejected"


def parse_mapping(pairs: list[str] | dict[str, str]) -> dict[str, str]:
    """``["record_id=id", ...]`` or a dict -> canonical column -> file column; checks it."""
    if isinstance(pairs, dict):
        mapping = dict(pairs)
    else:
        mapping = {}
        for pair in pairs:
            if "=" not in pair:
                raise InvalidInput("a mapping is canonical=column", field="mapping")
            key, _, value = pair.partition("=")
            mapping[key.strip()] = value.strip()
    date_format = mapping.pop("date_format", None)
    unknown = sorted(set(mapping) - set(CANONICAL))
    if unknown:
        raise InvalidInput(
            f"unknown mapped column(s): {', '.join(unknown)} (use: {', '.join(CANONICAL)})",
            field="mapping",
        )
    missing = [c for c in REQUIRED if c not in mapping]
    if missing:
        raise InvalidInput(f"the mapping must name: {', '.join(missing)}", field="mapping")
    if date_format:
        mapping["date_format"] = date_format
    return mapping


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _batches(
    path: Path, fmt: str, columns: list[str], ragged: list[RowError]
) -> Iterator[tuple[pa.RecordBatch, float]]:
    """Record batches of the mapped columns (all as strings), with the fraction read.

    CSV rows with the wrong number of fields are skipped and added to ``ragged`` (by line).
    """
    total = max(os.path.getsize(path), 1)
    if fmt == "csv":

        def skip(row: Any) -> str:
            # Only the row's position and field counts are kept, never its text.
            reason = f"expected {row.expected_columns} fields, found {row.actual_columns}"
            ragged.append(RowError(int(row.number or 0), "*", reason))
            return "skip"

        try:
            reader = pacsv.open_csv(
                path,
                # One thread, so pyarrow can say which line a ragged row is on.
                read_options=pacsv.ReadOptions(block_size=1 << 20, use_threads=False),
                parse_options=pacsv.ParseOptions(invalid_row_handler=skip),
                convert_options=pacsv.ConvertOptions(
                    include_columns=columns,
                    column_types={c: pa.string() for c in columns},
                    strings_can_be_null=False,
                ),
            )
        except (pa.ArrowInvalid, KeyError) as exc:
            raise InvalidInput(_header_problem(exc, columns), field="file") from None
        done = 0
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except pa.ArrowInvalid as exc:
                # A row with the wrong number of fields: pyarrow names the row, not its values.
                raise InvalidInput(
                    f"the file is not well-formed CSV: {_safe(exc)}", field="file"
                ) from None
            done += batch.nbytes
            yield batch, min(done / total, 1.0)
    elif fmt == "parquet":
        try:
            pf = pq.ParquetFile(path)
        except pa.ArrowInvalid:
            raise InvalidInput("the file is not a Parquet file", field="file") from None
        absent = [c for c in columns if c not in pf.schema_arrow.names]
        if absent:
            raise InvalidInput(f"the file has no column(s): {', '.join(absent)}", field="mapping")
        rows = max(pf.metadata.num_rows, 1)
        seen = 0
        for batch in pf.iter_batches(batch_size=BATCH_ROWS, columns=columns):
            seen += batch.num_rows
            cast = pa.RecordBatch.from_arrays(
                [batch.column(i).cast(pa.string()) for i in range(batch.num_columns)],
                names=batch.schema.names,
            )
            yield cast, seen / rows
    else:
        raise InvalidInput("the file must be .csv or .parquet", field="file")


def _safe(exc: Exception) -> str:
    # pyarrow may quote the offending row; keep only its position.
    text = str(exc)
    m = re.search(r"(Expected \d+ columns?, got \d+)", text)
    row = re.search(r"[Rr]ow #?(\d+)", text)
    parts = [m.group(1) if m else "malformed row"]
    if row:
        parts.append(f"at row {row.group(1)}")
    return " ".join(parts)


def _header_problem(exc: Exception, columns: list[str]) -> str:
    text = str(exc)
    absent = [c for c in columns if f"'{c}'" in text or f'"{c}"' in text]
    if absent:
        return f"the file has no column(s): {', '.join(absent)}"
    return "the file's header does not have the mapped columns"


def _parse_dates(values: pd.Series, date_format: str) -> pd.Series:
    """Parse once per distinct value (dates repeat); None where it does not parse."""

    def parse(text: object) -> date | None:
        try:
            return datetime.strptime(str(text).strip(), date_format).date()
        except ValueError:
            return None

    uniques = values.dropna().unique()
    table = {u: parse(u) for u in uniques}
    return values.map(table).astype(object)


def _validate(
    frame: pd.DataFrame, line_numbers: list[int], seen: set[str], today: date
) -> tuple[pd.Series, list[RowError]]:
    """Per-row checks on a canonical frame; returns a 'row is good' mask and the errors."""
    errors: list[RowError] = []
    bad = pd.Series(False, index=frame.index)
    lines = pd.Series(line_numbers, index=frame.index)

    def flag(mask: pd.Series, column: str, reason: str) -> None:
        nonlocal bad
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            errors.extend(RowError(int(line), column, reason) for line in lines[mask])
            bad = bad | mask

    rid = frame["record_id"].fillna("").str.strip()
    flag(rid == "", "record_id", "missing")
    flag(rid.str.len() > 100, "record_id", "longer than 100 characters")
    dup_in_batch = rid.duplicated(keep="first") & (rid != "")
    dup_before = rid.isin(seen) & (rid != "")
    flag(dup_in_batch | dup_before, "record_id", "duplicate record id")
    seen.update(rid[rid != ""])
    for col in ("first_name", "surname", "middle_names"):
        value = frame[col].fillna("").str.strip()
        if col in REQUIRED:
            flag(value == "", col, "missing")
        flag(value.str.len() > MAX_NAME, col, f"longer than {MAX_NAME} characters")
        flag(
            value.str.contains(r"[0-9@#$%^*_=<>{}\[\]|\\]", regex=True) & (value != ""),
            col,
            "contains characters a name cannot have",
        )
    dob_text = frame["date_of_birth"].fillna("").str.strip()
    parsed = frame["_dob"]
    flag(dob_text == "", "date_of_birth", "missing")
    flag((dob_text != "") & parsed.isna(), "date_of_birth", "not a date in the declared format")
    implausible = parsed.map(
        lambda d: d is not None and not pd.isna(d) and (d.year < 1900 or d > today)
    )
    flag(implausible, "date_of_birth", "not a plausible date of birth")
    pc = frame["postcode"].fillna("").str.strip()
    flag((pc != "") & ~pc.str.match(_POSTCODE_SHAPE), "postcode", "not a postcode")
    return ~bad, errors


def import_file(
    path: Path,
    mapping: dict[str, str],
    dest: Path,
    *,
    mode: str = "reject",
    quarantine_report: Path | None = None,
    progress: Progress | None = None,
    today: date | None = None,
) -> ImportOutcome:
    """Validate ``path`` and write its good rows to ``dest`` (Parquet, canonical columns).

    Raises FileRejected (listing up to 1,000 row errors) when ``mode`` is ``reject`` and any row
    is bad; then ``dest`` is not left behind. Raises InvalidInput for a file-level problem.
    """
    if mode not in MODES:
        raise InvalidInput(f"mode must be one of: {', '.join(MODES)}", field="mode")
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("csv", "parquet"):
        raise InvalidInput("the file must be .csv or .parquet", field="file")
    date_format = mapping.get("date_format", "%Y-%m-%d")
    by_source = {c: mapping[c] for c in CANONICAL if c in mapping}
    columns = list(dict.fromkeys(by_source.values()))
    today = today or date.today()
    seen: set[str] = set()
    outcome = ImportOutcome(rows=0)
    tmp = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    writer: pq.ParquetWriter | None = None
    cursor = 2 if fmt == "csv" else 1  # CSV line 1 is the header
    ragged: list[RowError] = []
    ragged_lines: set[int] = set()
    try:
        writer = pq.ParquetWriter(tmp, SCHEMA)
        for batch, fraction in _batches(path, fmt, columns, ragged):
            if ragged:
                ragged_lines.update(e.line for e in ragged)
                outcome.error_count += len(ragged)
                outcome.bad_rows += len(ragged)
                outcome.errors.extend(ragged[: max(MAX_REPORTED - len(outcome.errors), 0)])
                if mode == "quarantine" and quarantine_report is not None:
                    _append_report(quarantine_report, ragged)
                ragged.clear()
            lines = []
            for _ in range(batch.num_rows):
                while cursor in ragged_lines:
                    cursor += 1
                lines.append(cursor)
                cursor += 1
            raw = batch.to_pandas()
            frame = pd.DataFrame(
                {
                    c: raw[src].astype("string")
                    if src in raw
                    else pd.Series([None] * len(raw), dtype="string")
                    for c, src in by_source.items()
                }
            )
            for optional in OPTIONAL:
                if optional not in frame:
                    frame[optional] = pd.Series([None] * len(raw), dtype="string")
            frame["_dob"] = _parse_dates(frame["date_of_birth"], date_format)
            good, errors = _validate(frame, lines, seen, today)
            outcome.error_count += len(errors)
            outcome.bad_rows += int((~good).sum())
            room = MAX_REPORTED - len(outcome.errors)
            if room > 0:
                outcome.errors.extend(sorted(errors, key=lambda e: e.line)[:room])
            if mode == "quarantine" and quarantine_report is not None and errors:
                _append_report(quarantine_report, errors)
            if outcome.bad_rows and mode == "reject":
                continue  # keep reading: the caller gets every row's error, up to the cap
            kept = frame[good].copy()
            kept["date_of_birth"] = kept["_dob"].map(lambda d: d.isoformat())
            kept["record_id"] = kept["record_id"].str.strip()
            kept["postcode"] = kept["postcode"].str.strip().replace("", None)
            # Middle names as the file holds them (one space between), None for none.
            middle = kept["middle_names"].str.split().str.join(" ")
            kept["middle_names"] = middle.where(middle.fillna("") != "", None)
            table = pa.Table.from_pandas(
                kept[list(CANONICAL)].astype(object), schema=SCHEMA, preserve_index=False
            )
            writer.write_table(table)
            outcome.rows += len(kept)
            if progress:
                progress(outcome.rows + outcome.bad_rows, fraction)
        writer.close()
        writer = None
        if outcome.rows == 0 and outcome.bad_rows == 0:
            raise InvalidInput("the file has no rows", field="file")
        if mode == "reject" and outcome.bad_rows:
            shown = "; ".join(f"line {e.line}, {e.column}: {e.reason}" for e in outcome.errors[:5])
            more = f" (and {outcome.error_count - 5} more)" if outcome.error_count > 5 else ""
            raise FileRejected(
                f"{outcome.bad_rows} bad row(s); nothing was imported: {shown}{more}",
                field="file",
                errors=[e.as_dict() for e in outcome.errors],
                error_count=outcome.error_count,
            )
        outcome.sha256 = _sha256(path)
        tmp.replace(dest)
        return outcome
    except BaseException:
        if writer is not None:
            writer.close()
        tmp.unlink(missing_ok=True)
        if quarantine_report is not None and mode == "quarantine":
            quarantine_report.unlink(missing_ok=True)
        raise


@dataclass
class RowBatch:
    """One streamed batch of a partner file: rows as strings, each with its line number."""

    lines: list[int]
    rows: list[dict[str, str | None]]
    #: Rows read in this batch that had the wrong number of fields (CSV), by line.
    ragged: list[RowError]
    fraction: float


def file_columns(path: Path) -> list[str]:
    """The column names a CSV or Parquet file declares (its header), without reading rows."""
    fmt = path.suffix.lower().lstrip(".")
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
            header = next(csv.reader(fh), None)
        if not header:
            raise InvalidInput("the file has no header row", field="file")
        return [h.strip() for h in header]
    if fmt == "parquet":
        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except pa.ArrowInvalid:
            raise InvalidInput("the file is not a Parquet file", field="file") from None
    raise InvalidInput("the file must be .csv or .parquet", field="file")


def stream_rows(path: Path, columns: list[str]) -> Iterator[RowBatch]:
    """Stream ``columns`` of a CSV or Parquet file in batches, as strings, with line numbers.

    The same reader as ``import_file``: bounded memory, ragged CSV rows reported by line and
    skipped, file-level problems raised as InvalidInput naming no value.
    """
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("csv", "parquet"):
        raise InvalidInput("the file must be .csv or .parquet", field="file")
    cursor = 2 if fmt == "csv" else 1  # CSV line 1 is the header
    ragged: list[RowError] = []
    ragged_lines: set[int] = set()
    for batch, fraction in _batches(path, fmt, columns, ragged):
        bad = list(ragged)
        ragged.clear()
        ragged_lines.update(e.line for e in bad)
        lines = []
        for _ in range(batch.num_rows):
            while cursor in ragged_lines:
                cursor += 1
            lines.append(cursor)
            cursor += 1
        data = batch.to_pydict()
        rows = [{c: data[c][i] for c in columns} for i in range(batch.num_rows)]
        yield RowBatch(lines, rows, bad, fraction)


def _append_report(report: Path, errors: list[RowError]) -> None:
    new = not report.exists()
    report.parent.mkdir(parents=True, exist_ok=True)
    with report.open("a", newline="") as fh:
        out = csvfile.writer(fh)
        if new:
            out.writerow(["line", "column", "reason"])
        for e in sorted(errors, key=lambda e: e.line):
            out.writerow([e.line, e.column, e.reason])


def read_dataset(path: Path) -> pd.DataFrame:
    """A stored dataset as the engine's frame (``unique_id`` is the partner's record id)."""
    frame = pd.read_parquet(path)
    return frame.rename(columns={"record_id": "unique_id"})
