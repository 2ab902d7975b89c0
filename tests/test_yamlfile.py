"""Hostile YAML is refused before it is built: aliases, depth, size, control characters."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from shareguard.agreements.schemas import AgreementIn
from shareguard.errors import InvalidInput
from shareguard.yamlfile import MAX_BYTES, load_model, parse_model

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
def test_hostile_documents_are_one_problem_found_quickly_and_cheaply(name: str) -> None:
    text, needle = HOSTILE[name]
    tracemalloc.start()
    started = time.perf_counter()
    value, problems = parse_model(text, AgreementIn)
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert value is None and len(problems) == 1 and needle in problems[0].message
    assert elapsed < 3 and peak < 64 * 1024 * 1024


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
