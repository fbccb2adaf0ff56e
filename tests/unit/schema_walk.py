"""Walk the policy schema (drill.core.schema.Config) beside a config dict: which annotation a
value at a path has, so a fuzzer knows which mutations are certainly invalid."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from drill.core.schema import Config


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    return [p for k, v in items for p in [(*prefix, k), *paths(v, (*prefix, k))]]


def options(ann: Any) -> list[Any]:
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(ann) if a is not type(None)]
    return [ann]


def model(ann: Any) -> type[BaseModel] | None:
    return next((a for a in options(ann) if isinstance(a, type) and issubclass(a, BaseModel)), None)


def child(ann: Any, part: Any) -> Any:
    m = model(ann)
    if m is not None:
        field = m.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field else None
    origin = typing.get_origin(ann)
    return typing.get_args(ann)[1] if origin is dict else typing.get_args(ann)[0] if origin is list else None


def ann_at(path: tuple[Any, ...]) -> Any:
    """The schema's annotation for the value at ``path`` (None: not a known field)."""
    ann: Any = Config
    for part in path:
        ann = next((c for a in options(ann) if (c := child(a, part)) is not None), None)
        if ann is None:
            return None
    return ann


def has_any(ann: Any) -> bool:
    return ann is Any or any(has_any(a) for a in typing.get_args(ann))


def typo(key: str, i: int, how: str) -> str:
    """``key`` misspelt: a letter dropped, doubled, or an x appended."""
    i %= len(key)
    return {"drop": key[:i] + key[i + 1:] or key + "_", "double": key[:i] + key[i] + key[i:]}.get(how, key + "x")
