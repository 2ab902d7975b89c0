"""Load a YAML file and validate it, naming the file, line and field at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

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


def load_model(path: Path, model: type[M]) -> M:
    """Parse ``path`` as YAML into ``model``; InvalidInput says ``file:line: field: message``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})", field="file") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise InvalidInput(
            f"{path}:{line}: not valid YAML ({exc.problem})", field="file", line=line
        ) from None
    if not isinstance(data, dict) or node is None:
        raise InvalidInput(f"{path}:1: expected a mapping of fields", field="file", line=1)
    lines: dict[tuple[Any, ...], int] = {}
    _lines(node, (), lines)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        while loc and loc not in lines:
            loc = loc[:-1]
        line = lines.get(loc, 1)
        field = ".".join(str(p) for p in err["loc"])
        message = err["msg"].removeprefix("Value error, ")
        raise InvalidInput(f"{path}:{line}: {field}: {message}", field=field, line=line) from None
