"""Hostile YAML is refused before it is built: aliases, depth, size, control characters."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from shareguard.agreements.schemas import AgreementIn
from shareguard.errors import InvalidInput
from shareguard.yamlfile import MAX_BYTES, MAX_DEPTH, load_model, parse_model

#: A 342-byte "billion laughs": nine levels of nine aliases each (9^9 strings if expanded).
ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)

HOSTILE = {
    "alias bomb": (ALIAS_BOMB, "anchors and aliases"),
    "one alias": ("reference: &r X-1\ntitle: *r\n", "anchors and aliases"),
    "deep brackets": ("[" * 20_000 + "]" * 20_000, "nested more than"),
    "deep mappings": ("a: {" * 20_000, "nested more than"),
    "NUL byte": ("reference: X-1\ntitle: a\x00b\n", "NUL or control character"),
    "too large": ("# " + "x" * MAX_BYTES + "\n", "larger than"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_documents_are_one_problem_found_early_and_cheaply(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused from the event stream: the document is never built, the screen stops at the
    first hostile event (not at the end of the text) and memory stays small."""
    text, needle = HOSTILE[name]
    events_read = 0
    real_parse = yaml.parse

    def counting_parse(*args: Any, **kwargs: Any) -> Iterator[yaml.Event]:
        nonlocal events_read
        for event in real_parse(*args, **kwargs):
            events_read += 1
            yield event

    def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a hostile document was built")

    monkeypatch.setattr(yaml, "parse", counting_parse)
    monkeypatch.setattr(yaml, "compose", never)
    monkeypatch.setattr(yaml, "safe_load", never)
    tracemalloc.start()
    value, problems = parse_model(text, AgreementIn)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert value is None and len(problems) == 1 and needle in problems[0].message
    # stream and document starts, then at most a key and an opening per level up to the limit
    assert events_read <= 2 + 2 * (MAX_DEPTH + 1)
    assert peak < 64 * 1024 * 1024


def test_a_date_that_is_no_calendar_day_is_a_problem_naming_its_line_and_field() -> None:
    text = "reference: X-1\nparties:\n  - since: 2026-01-31\n  - since: 2026-02-30\n"
    assert parse_model(text, AgreementIn) == (None, [(4, "parties.1.since", "not a real date")])


def test_the_bomb_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(ALIAS_BOMB)
    with pytest.raises(InvalidInput) as refused:
        load_model(path, AgreementIn)
    assert refused.value.extra["line"] == 1 and "aliases" in refused.value.detail


def test_a_file_too_large_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * (MAX_BYTES * 4))
    with pytest.raises(InvalidInput, match="larger than"):
        load_model(path, AgreementIn)
