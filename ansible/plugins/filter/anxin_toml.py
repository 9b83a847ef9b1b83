"""`anxin_toml`: a mapping as TOML, for the settings files of the hub and devices.

Python's standard library reads TOML but does not write it. Values are
strings, numbers, booleans, lists and nested mappings (tables); None is
left out, as an unset setting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def _key(name: str) -> str:
    bare = name.replace("_", "").replace("-", "").isalnum() and name.isascii()
    return name if bare else json.dumps(name, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a TOML basic string (json never writes "\/").
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        pairs = [(str(k), v) for k, v in value.items() if v is not None]
        inner = ", ".join(f"{_key(k)} = {_value(v)}" for k, v in pairs)
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _table(data: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    scalars = [(k, v) for k, v in data.items() if v is not None and not isinstance(v, Mapping)]
    tables = [(k, v) for k, v in data.items() if isinstance(v, Mapping)]
    if path and (scalars or not tables):
        lines.append(f"\n[{'.'.join(_key(p) for p in path)}]")
    lines.extend(f"{_key(str(k))} = {_value(v)}" for k, v in scalars)
    for k, v in tables:
        _table(v, [*path, str(k)], lines)


def to_toml(data: Mapping[str, Any]) -> str:
    lines: list[str] = []
    _table(data, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"anxin_toml": to_toml}
