"""Load a YAML file and validate it, naming the file, line and field at fault.

Hostile documents are refused before anything is built from them: anchors and aliases (an
"alias bomb" of a few hundred bytes expands to gigabytes), nesting deeper than
``MAX_DEPTH``, more than ``MAX_BYTES`` of text and NUL or other control characters. The
screen reads PyYAML's event stream, which is iterative, so even a 20,000-deep bracket costs
a few milliseconds and no recursion.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from shareguard.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)

#: The largest document read (agreements are a few kilobytes).
MAX_BYTES = 256 * 1024
#: The deepest nesting of mappings and sequences accepted.
MAX_DEPTH = 32
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*path, key.value)] = key.start_mark.line + 1
            _lines(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)


class Problem(NamedTuple):
    """One thing wrong with a document: its line, the field (None for the whole file), why."""

    line: int
    field: str | None
    message: str


def screen(text: str) -> Problem | None:
    """The first reason ``text`` is too hostile to parse, or None: size, control characters,
    anchors and aliases, nesting depth. Never builds the document."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        return Problem(1, None, f"the document is larger than {MAX_BYTES // 1024} KB")
    bad = _CONTROL.search(text)
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        return Problem(line, None, "the document contains a NUL or control character")
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            line = event.start_mark.line + 1 if event.start_mark else 1
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                return Problem(line, None, "anchors and aliases (& and *) are not allowed")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    return Problem(line, None, f"nested more than {MAX_DEPTH} levels deep")
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        return Problem(line, None, f"not valid YAML ({exc.problem})")
    except yaml.YAMLError:
        return Problem(1, None, "not valid YAML")
    return None


def parse_model(text: str, model: type[M]) -> tuple[M | None, list[Problem]]:
    """Parse ``text`` as YAML (JSON is YAML too) into ``model``, or name every problem.

    Hostile input (see ``screen``) is one problem, found before the document is built.
    """
    refused = screen(text)
    if refused is not None:
        return None, [refused]
    node = None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except (ValueError, OverflowError):
        # A date-shaped scalar that is no calendar day (2026-02-30): PyYAML raises a bare
        # ValueError while building it, with no line to name.
        return None, [_bad_date(node)]
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        return None, [Problem(line, None, f"not valid YAML ({exc.problem})")]
    except (yaml.YAMLError, RecursionError):
        return None, [Problem(1, None, "not valid YAML")]
    if not isinstance(data, dict) or node is None:
        return None, [Problem(1, None, "expected a mapping of fields")]
    lines: dict[tuple[Any, ...], int] = {}
    _lines(node, (), lines)
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            while loc and loc not in lines:
                loc = loc[:-1]
            field = ".".join(str(p) for p in err["loc"])
            message = err["msg"].removeprefix("Value error, ")
            problems.append(Problem(lines.get(loc, 1), field, message))
        return None, problems


def _bad_date(node: yaml.Node | None) -> Problem:
    """The first date-shaped scalar under ``node`` that is no calendar day, as a Problem."""
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(node, ())] if node is not None else []
    while stack:
        item, path = stack.pop()
        if isinstance(item, yaml.MappingNode):
            stack.extend((value, (*path, key.value)) for key, value in reversed(item.value))
        elif isinstance(item, yaml.SequenceNode):
            stack.extend((child, (*path, i)) for i, child in reversed(list(enumerate(item.value))))
        elif isinstance(item, yaml.ScalarNode) and item.tag == "tag:yaml.org,2002:timestamp":
            try:
                yaml.SafeLoader("").construct_yaml_timestamp(item)
            except (ValueError, OverflowError):
                field = ".".join(str(p) for p in path) or None
                return Problem(item.start_mark.line + 1, field, "not a real date")
    return Problem(1, None, "not valid YAML (a value cannot be read)")


def line_of(text: str, field: str) -> int:
    """The line of ``field`` (``parties.0.organisation`` or ``parties[0].organisation``), or 1."""
    if screen(text) is not None:
        return 1
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return 1
    if node is None:
        return 1
    lines: dict[tuple[Any, ...], int] = {}
    _lines(node, (), lines)
    loc = tuple(
        int(p) if p.isdigit() else p for p in field.replace("[", ".").replace("]", "").split(".")
    )
    while loc and loc not in lines:
        loc = loc[:-1]
    return lines.get(loc, 1)


def load_model(path: Path, model: type[M]) -> M:
    """Parse ``path`` as YAML into ``model``; InvalidInput says ``file:line: field: message``."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})", field="file") from None
    if len(raw) > MAX_BYTES:
        raise InvalidInput(
            f"{path}: the document is larger than {MAX_BYTES // 1024} KB", field="file", line=1
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text", field="file", line=1) from None
    value, problems = parse_model(text, model)
    if value is None:
        line, field, message = problems[0]
        prefix = f"{path}:{line}: " + (f"{field}: " if field else "")
        raise InvalidInput(prefix + message, field=field or "file", line=line)
    return value
