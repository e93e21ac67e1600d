"""Turn pydantic's validation errors into InputErrors that name file, line and field.

Shared by the inventory and playbook loaders: both validate plain data from yamlsrc and need the
same translation from pydantic's `loc` (which can contain union-member tags that are not in the
document) back to a path that exists in the file, and the same plain-language messages.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from labkit.errors import InputError, InputErrors
from labkit.yamlsrc import Loc, Source, dotted

M = TypeVar("M", bound=BaseModel)

# What each safe-alphabet pattern in model.py means, said the way a user needs to hear it.
PATTERN_RULES = {
    "Name": "a name: letters, digits, '-' and '_', starting with a letter or digit (at most 63)",
    "IfName": "an interface name like eth0 or ens33: letters, digits and _ . : @ - (at most 15)",
    "Label": "letters, digits, spaces and _ . : / ( ) + - only",
    "UserName": "a Unix user name: lower-case letters, digits, '_', '.' and '-', starting with a letter or '_'",
    "EnvVar": "an environment variable NAME (upper-case letters, digits and '_'), not the secret itself",
    "SshHost": "an address, host name or ssh_config alias: letters, digits, '.', '-' and '_', not starting with '-'",
    "JumpSpec": "[user@]host[:port], up to four joined by commas, or none",
    "GuestPath": "an absolute path of letters, digits and _ . / @ : + -",
    "Mac": "a MAC address like 00:0c:29:3b:4c:6d",
    "VcUser": "a user name of letters, digits and _ . @ \\ -",
    "Ref": "a VM, VM.IFACE, host, host.NET, router, NET.gateway, an external's name or an address",
}
# Errors that only say "this alternative of a union does not fit"; dropped when another error
# about the same value explains better.
MISMATCH = {"int_type", "int_parsing", "literal_error", "string_type", "dict_type", "model_type", "float_type",
            "bool_type", "list_type", "model_attributes_type"}


def _pattern_rule(pattern: str) -> str:
    from labkit import model

    for name, rule in PATTERN_RULES.items():
        annotated = getattr(model, name, None)
        meta = getattr(annotated, "__metadata__", ())
        if any(getattr(m, "pattern", None) == pattern for m in meta):
            return rule
    return "letters, digits and a few safe punctuation marks only"


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


PLACEHOLDER = "<fill in>"  # what `labkit discover` writes where it could not find a value


def _message(err: ErrorDetails) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return f"missing required key {err['loc'][-1]!r}"
    if kind == "field_error":
        return err["ctx"]["message"]
    if kind == "string_pattern_mismatch":
        return f"{value!r} is not allowed here: {_pattern_rule(err['ctx']['pattern'])}"
    msg = err["msg"]
    msg = msg.removeprefix("Value error, ")
    msg = re.sub(r" or instance of \w+", "", msg)
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        if shown not in msg:
            msg += f" (got {shown})"
    elif isinstance(value, bool) and kind in ("int_type", "float_type"):
        msg += f" (got {str(value).lower()})"
    return msg


_KINDS = {"string_type": "a string", "int_type": "a whole number", "int_parsing": "a whole number",
          "float_type": "a number", "bool_type": "true or false", "dict_type": "a mapping (key: value)",
          "model_type": "a mapping (key: value)", "model_attributes_type": "a mapping (key: value)",
          "list_type": "a list"}


def _shape(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _expected(errors: list[ErrorDetails], value: Any) -> str:
    kinds: list[str] = []
    for e in errors:
        kind = _KINDS.get(e["type"]) or e["msg"].removeprefix("Input should be ")
        if kind not in kinds:
            kinds.append(kind)
    return f"expected {' or '.join(kinds)} (got {_shape(value)})"


MAX_ERRORS = 500  # problems turned into messages; a file with more is judged on a sample of it
SAMPLE = 10  # items kept of each list and mapping in that sample


def validate(model: type[M], data: Any, source: Source, base: Loc = ()) -> M:
    """Validate `data` (found at `base` in `source`) as `model`, or raise InputErrors for all problems.

    With more than MAX_ERRORS problems (100,000 wrong items of a list), pydantic's error list alone
    would take hundreds of MB: then the first SAMPLE items of every list and mapping are validated
    instead, and the problems found there are reported with the count of all of them."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        count = exc.error_count()
        if count <= MAX_ERRORS:
            raise InputErrors(_translate(exc, data, source, base, frozenset())) from None
    cut: set[Loc] = set()
    sample = _sample(data, (), cut)
    errors: list[InputError] = []
    try:
        model.model_validate(sample)
    except ValidationError as exc:
        errors = _translate(exc, sample, source, base, frozenset(cut))[:MAX_ERRORS]
    errors.append(InputError(f"{count:,} problems in all, too many to list: fix the ones above, or check that this "
                             "is the right file", file=source.path, line=source.line_of(base), field=dotted(base)))
    raise InputErrors(errors) from None


def _sample(data: Any, loc: Loc, cut: set[Loc]) -> Any:
    """`data` with only the first SAMPLE items of every list and mapping; `cut` gets where items were left out."""
    if isinstance(data, list):
        if len(data) > SAMPLE:
            cut.add(loc)
        return [_sample(v, loc + (i,), cut) for i, v in enumerate(data[:SAMPLE])]
    if isinstance(data, dict):
        if len(data) > SAMPLE:
            cut.add(loc)
        return {k: _sample(v, loc + (k,), cut) for k, v in list(data.items())[:SAMPLE]}
    return data


def _translate(exc: ValidationError, data: Any, source: Source, base: Loc, cut: frozenset[Loc]) -> list[InputError]:
    """pydantic's errors as InputErrors at the file's lines; a key missing from a mapping in `cut` is not
    reported (it may be among the items the sample left out)."""
    raw = []
    for err in exc.errors(include_url=False):
        loc = _real_loc(data, err["loc"])
        if err["type"] == "field_error":
            loc = loc + (err["ctx"]["field"],)
        elif err["type"] == "missing" and loc in cut:
            continue
        raw.append((loc, err))
    # Indexed once, so that 500 wrong values cost 500 steps, not 500 squared: `explained`:
    # places where an error at or below says more than "wrong type" (a deeper error, or another
    # kind of error); `mismatches`: the type errors at each place.
    explained: set[Loc] = set()
    mismatches: dict[Loc, list[ErrorDetails]] = {}
    for loc, err in raw:
        explained.update(loc[:n] for n in range(len(loc)))
        if err["type"] in MISMATCH:
            mismatches.setdefault(loc, []).append(err)
        else:
            explained.add(loc)
    errors, seen = [], set()
    for loc, err in raw:
        if err["type"] in MISMATCH and loc in explained:
            continue  # another alternative of the union fits the value's shape and says what is wrong
        field_loc = base + loc + ((err["loc"][-1],) if err["type"] == "missing" else ())
        message = _message(err)
        if err["type"] in MISMATCH:  # every alternative refused the value's type: say them all at once
            message = _expected(mismatches[loc], err.get("input"))
        if err.get("input") == PLACEHOLDER:
            message = f"not filled in yet: `labkit discover` left {PLACEHOLDER} here (the comment beside it says what to write)"
        key = (field_loc, message)
        if key in seen:
            continue
        seen.add(key)
        errors.append(InputError(message, file=source.path, line=source.line_of(base + loc), field=dotted(field_loc)))
    return errors
