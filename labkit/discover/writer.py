"""Render a discovery as inventory YAML, prove it says what was meant, and write it without clobbering.

The proof has two parts. The text is parsed again by labkit's own YAML front end and must give
back exactly the data the document holds (so quoting can never change a value). Then each
placeholder is replaced by a value that fits (its Fill's stand-in) and the result goes through
`labkit.inventory.inventory_from_data`, the rules `labkit check` applies: what still fails there
is not the user's to fill but something discover wrote wrongly, and it is said as a warning with
its field and line rather than left for the user to find.

A file that exists is never replaced unless asked (`force`); either way it is replaced whole
(a temporary file in the same folder, renamed over it), never left half-written.
"""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.discover.compose import compose
from labkit.discover.document import render
from labkit.discover.found import Found
from labkit.errors import InputError, InputErrors, LabkitError
from labkit.inventory import inventory_from_data
from labkit.osutil import set_mode
from labkit.yamlsrc import Loc, dotted, loads


@dataclass(frozen=True)
class ToFill:
    field: str  # as labkit check names it: vms[0].adapters[0].config
    line: int
    hint: str


@dataclass(frozen=True)
class Draft:
    text: str
    fills: list[ToFill]
    warnings: list[str]
    vms: int  # VMs written (one without any adapter is left out)
    networks: int


def draft(found: Found, lab: str, name: str = "<discovered>") -> Draft:
    """The inventory text for `found`, with what the user must fill in and what went wrong."""
    doc, warnings = compose(found, lab)
    rendered = render(doc, header(found))
    source = loads(rendered.text, name)
    if source.data != doc.plain():
        raise LabkitError("labkit discover wrote YAML that reads back differently from what it found; "
                          "this is a bug in labkit")
    data = copy.deepcopy(source.data)
    for loc, _, fill in rendered.fills:
        _set(data, loc, _plain(fill.stand_in))
    lines = {dotted(loc): line for loc, line in source.lines.items()}
    try:
        inventory_from_data(data, name)
    except InputError as exc:
        errors = exc.errors if isinstance(exc, InputErrors) else [exc]
        for err in errors:
            line = lines.get(err.field) if err.field else None
            where = f"line {line}: " if line else ""
            warnings.append(f"{where}{err.field or 'the file'}: {err.message} (labkit check refuses this: fix it "
                            "by hand)")
    fills = [ToFill(dotted(loc) or "", line, fill.hint) for loc, line, fill in rendered.fills]
    return Draft(rendered.text, fills, warnings, len(doc.get("vms") or []), len(doc.get("networks").entries))


def header(found: Found) -> list[str]:
    return [f"Discovered by `{found.command}` from {found.source}.",
            "Read it through before use. Names are labkit's own (rename them freely, in your playbooks too);",
            "each `<fill in>` is something discover could not know, and `labkit check` refuses the file",
            "until every one is replaced (the comment beside it says what goes there).",
            *found.notes]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value if isinstance(value, (str, int, bool)) or value is None else str(value)


def _set(data: Any, loc: Loc, value: Any) -> None:
    for part in loc[:-1]:
        data = data[part]
    data[loc[-1]] = value


def refuse_existing(path: Path, force: bool) -> None:
    """Before anything is asked of a source: the output must be a new file (or `force`), in a folder."""
    if str(path) == "-":
        return
    if path.is_dir():
        raise InputError("is a folder; give the inventory file to write", file=str(path), field="-o")
    if path.exists() and not force:
        raise InputError("already exists; give --force to replace it, or another file name", file=str(path),
                         field="-o")
    if not path.parent.is_dir():
        raise InputError(f"the folder {path.parent} does not exist", file=str(path), field="-o")


def write_inventory(path: Path, text: str, force: bool) -> None:
    """Write `text` to `path` whole: a temporary file beside it, then renamed. Without `force` an
    existing file is never replaced (one created meanwhile included)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            set_mode(f.fileno(), tmp, 0o644)  # mkstemp makes 0600; an inventory is meant to be read
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if force:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)  # fails when the name is taken, atomically
        except FileExistsError:
            raise InputError("already exists; give --force to replace it", file=str(path), field="-o") from None
        except OSError:  # a file system without hard links: check, then rename
            if path.exists():
                raise InputError("already exists; give --force to replace it", file=str(path), field="-o") from None
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
