"""Load a YAML file and validate it, naming the file, line and field at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from shareguard.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)


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


def parse_model(text: str, model: type[M]) -> tuple[M | None, list[Problem]]:
    """Parse ``text`` as YAML (JSON is YAML too) into ``model``, or name every problem."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        return None, [Problem(line, None, f"not valid YAML ({exc.problem})")]
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


def line_of(text: str, field: str) -> int:
    """The line of ``field`` (``parties.0.organisation`` or ``parties[0].organisation``), or 1."""
    try:
        node = yaml.compose(text)
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
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})", field="file") from None
    value, problems = parse_model(text, model)
    if value is None:
        line, field, message = problems[0]
        prefix = f"{path}:{line}: " + (f"{field}: " if field else "")
        raise InvalidInput(prefix + message, field=field or "file", line=line)
    return value
