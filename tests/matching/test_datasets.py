"""Partner file import: per-row errors naming line, column and reason; reject or quarantine."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from shareguard.errors import InvalidInput
from shareguard.matching.datasets import FileRejected, import_file, parse_mapping

MAPPING = parse_mapping(
    ["record_id=id", "first_name=forename", "surname=family", "date_of_birth=dob", "postcode=pc"]
)
GOOD = "A1,Anna,Smith,1980-02-03,SW1A 1AA\n"
MALFORMED = (
    "id,forename,family,dob,pc\n"
    + GOOD
    + "A2,,Jones,1981-13-01,M1 1AE\n"  # line 3: no forename, month 13
    + "A3,Bob,B0b,2999-01-01,\n"  # line 4: digit in surname, future birth
    + "A1,Carl,Doe,1970-01-01,M1 1AA\n"  # line 5: duplicate id
    + "A5,Zoë,Müller,1965-07-08,\n"
)


def write(tmp_path: Path, text: str, name: str = "partner.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_malformed_file_is_refused_whole_with_every_rows_error(tmp_path: Path) -> None:
    dest = tmp_path / "out" / "dataset.parquet"
    with pytest.raises(FileRejected) as caught:
        import_file(write(tmp_path, MALFORMED), MAPPING, dest)
    errors = {(e["line"], e["column"], e["reason"]) for e in caught.value.extra["errors"]}
    assert errors == {
        (3, "first_name", "missing"),
        (3, "date_of_birth", "not a date in the declared format"),
        (4, "surname", "contains characters a name cannot have"),
        (4, "date_of_birth", "not a plausible date of birth"),
        (5, "record_id", "duplicate record id"),
    }
    assert not dest.exists() and not list(dest.parent.iterdir())  # nothing imported
    # The message names rows and columns, never the values (personal data).
    assert "Jones" not in caught.value.detail and "B0b" not in caught.value.detail


def test_quarantine_keeps_good_rows_and_reports_the_bad(tmp_path: Path) -> None:
    dest, report = tmp_path / "d.parquet", tmp_path / "q.csv"
    outcome = import_file(
        write(tmp_path, MALFORMED), MAPPING, dest, mode="quarantine", quarantine_report=report
    )
    kept = pd.read_parquet(dest)
    assert list(kept["record_id"]) == ["A1", "A5"]
    assert (outcome.rows, outcome.bad_rows) == (2, 3)
    listed = pd.read_csv(report)
    assert sorted(set(listed["line"])) == [3, 4, 5]
    assert "Jones" not in report.read_text()


def test_declared_date_format_and_parquet_input(tmp_path: Path) -> None:
    src = tmp_path / "p.parquet"
    pd.DataFrame(
        {
            "ref": ["x1", "x2"],
            "fn": ["Ann", "Ben"],
            "sn": ["Lee", "Ng"],
            "born": ["03/02/1980", "01/12/1975"],
        }
    ).to_parquet(src)
    mapping = parse_mapping(
        {
            "record_id": "ref",
            "first_name": "fn",
            "surname": "sn",
            "date_of_birth": "born",
            "date_format": "%d/%m/%Y",
        }
    )
    outcome = import_file(src, mapping, tmp_path / "d.parquet")
    kept = pd.read_parquet(tmp_path / "d.parquet")
    assert outcome.rows == 2
    assert list(kept["date_of_birth"]) == ["1980-02-03", "1975-12-01"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("id,forename,dob,pc\nA1,Anna,1980-01-01,\n", "family"),  # a mapped column is absent
        ("id,forename,family,dob,pc\n\n\n", "no rows"),
    ],
)
def test_file_level_problems_are_refused(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        import_file(write(tmp_path, text), MAPPING, tmp_path / "d.parquet")
    assert fragment in caught.value.detail
    assert not (tmp_path / "d.parquet").exists()


def test_mapping_must_name_the_required_columns() -> None:
    with pytest.raises(InvalidInput, match="date_of_birth"):
        parse_mapping(["record_id=id", "first_name=a", "surname=b"])
    with pytest.raises(InvalidInput, match="unknown"):
        parse_mapping(["record_id=id", "first_name=a", "surname=b", "date_of_birth=c", "nino=d"])


def test_large_file_streams_in_batches(tmp_path: Path) -> None:
    rows = 100_000  # several read batches of about 1 MiB
    lines = ["id,forename,family,dob,pc"] + [f"R{i},Ann,Lee,1980-01-01," for i in range(rows)]
    seen: list[int] = []
    outcome = import_file(
        write(tmp_path, "\n".join(lines) + "\n"),
        MAPPING,
        tmp_path / "d.parquet",
        progress=lambda n, _f: seen.append(n),
    )
    assert outcome.rows == rows
    assert len(seen) > 1 and seen[-1] == rows


def test_rows_with_the_wrong_number_of_fields_are_named_by_line(tmp_path: Path) -> None:
    text = (
        "id,forename,family,dob,pc\n"
        + GOOD  # line 2
        + "A2,Ben,Ng,1980-01-01\n"  # line 3: a field short
        + "A3,Cy,Oz,1980-01-01,M1 1AE,extra\n"  # line 4: a field too many
        + "A4,Di,Po,1980-02-31,\n"  # line 5: no such date
    )
    with pytest.raises(FileRejected) as caught:
        import_file(write(tmp_path, text), MAPPING, tmp_path / "d.parquet")
    errors = {(e["line"], e["column"], e["reason"]) for e in caught.value.extra["errors"]}
    assert errors == {
        (3, "*", "expected 5 fields, found 4"),
        (4, "*", "expected 5 fields, found 6"),
        (5, "date_of_birth", "not a date in the declared format"),
    }


def test_middle_names_are_optional_in_the_mapping_and_kept_when_mapped(tmp_path: Path) -> None:
    text = (
        "id,forename,middle,family,dob,pc\n"
        "A1,Anna,Maria  Louise,Smith,1980-02-03,SW1A 1AA\n"
        "A2,Ben,,Ng,1975-12-01,\n"
        "A3,Cy,J,Oz,1970-01-01,\n"
    )
    path = write(tmp_path, text)
    with_middle = parse_mapping({**MAPPING, "middle_names": "middle"})
    import_file(path, with_middle, tmp_path / "with.parquet")
    kept = pd.read_parquet(tmp_path / "with.parquet")
    # As the file holds them (one space between), an initial as it is, none as missing.
    assert list(kept["middle_names"]) == ["Maria Louise", None, "J"]
    # The same file without the mapping, and a file without the column, import as before.
    import_file(path, MAPPING, tmp_path / "without.parquet")
    without = pd.read_parquet(tmp_path / "without.parquet")
    assert list(without["record_id"]) == ["A1", "A2", "A3"]
    assert without["middle_names"].isna().all()
    outcome = import_file(
        write(tmp_path, MALFORMED.split("A2,")[0], "old.csv"), MAPPING, tmp_path / "old.parquet"
    )
    assert outcome.rows == 1


def test_a_middle_name_with_characters_a_name_cannot_have_is_named(tmp_path: Path) -> None:
    text = "id,forename,middle,family,dob,pc\nA1,Anna,M4ria,Smith,1980-02-03,\n"
    with pytest.raises(FileRejected) as caught:
        import_file(
            write(tmp_path, text),
            parse_mapping({**MAPPING, "middle_names": "middle"}),
            tmp_path / "d.parquet",
        )
    errors = {(e["line"], e["column"], e["reason"]) for e in caught.value.extra["errors"]}
    assert errors == {(2, "middle_names", "contains characters a name cannot have")}
    assert "M4ria" not in caught.value.detail
