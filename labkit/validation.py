"""Turn pydantic's validation errors into InputErrors that name file, line and field.

Shared by the inventory and playbook loaders: both validate plain data from yamlsrc and need the
same translation from pydantic's `loc` (which can contain union-member tags that are not in the
document) back to a path that exists in the file.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from labkit.errors import InputError, InputErrors
from labkit.yamlsrc import Loc, Source, dotted

M = TypeVar("M", bound=BaseModel)


def _real_loc(data: Any, loc: tuple) -> Loc:
    """Keep the part of pydantic's loc that walks the document; drop type tags like 'str' or 'int'."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and isinstance(part, str) and part in node:
            out.append(part)
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            out.append(part)
            node = node[part]
    return tuple(out)


def _message(err: dict) -> str:
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return f"missing required key {err['loc'][-1]!r}"
    if err["type"] == "string_pattern_mismatch":
        return f"{err['input']!r} is not allowed here (letters, digits and a few safe punctuation marks only)"
    value = err.get("input")
    if isinstance(value, (str, int, float)) and not isinstance(value, bool) and err["type"] != "missing":
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        return f"{msg} (got {shown})"
    return msg


def validate(model: type[M], data: Any, source: Source, base: Loc = ()) -> M:
    """Validate `data` (found at `base` in `source`) as `model`, or raise InputErrors for all problems."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = []
        seen = set()
        for err in exc.errors():
            loc = base + _real_loc(data, err["loc"])
            field_loc = loc
            if err["type"] == "missing":
                field_loc = loc + (err["loc"][-1],)
            key = (loc, err["type"])
            if key in seen:
                continue
            seen.add(key)
            errors.append(InputError(_message(err), file=source.path, line=source.line_of(loc),
                                     field=dotted(field_loc)))
        raise InputErrors(errors) from None
