"""vSphere names as vCenter stores them, and as people write them.

vCenter keeps a name with three characters escaped, so that an inventory path can be split on
'/': a '/' in a name is stored as %2f, a '\\' as %5c and a '%' as %25 (a '%' that already starts
one of those escapes is kept). The vSphere Client shows the name unescaped; the API, govc and
inventory paths use the stored form. An inventory may hold either ("Lab/Test" or "Lab%2fTest"):
both are compared in the shown form, and paths are sent in the stored form.
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(r"%(2[fF]|5[cC]|25)")
_SHOWN = {"2f": "/", "5c": "\\", "25": "%"}


def stored(name: str) -> str:
    """The name as vCenter stores it: '/', '\\' and a '%' that starts no escape, escaped."""
    out: list[str] = []
    i = 0
    while i < len(name):
        c = name[i]
        if c == "%" and _ESCAPE.match(name, i):
            out.append(name[i:i + 3])
            i += 3
            continue
        out.append({"/": "%2f", "\\": "%5c", "%": "%25"}.get(c, c))
        i += 1
    return "".join(out)


def shown(name: str) -> str:
    """The name as the vSphere Client shows it (the escapes undone)."""
    return _ESCAPE.sub(lambda m: _SHOWN[m.group(1).lower()], name)


def same(given: str, found: str) -> bool:
    """Whether an inventory's name (either form) is a vSphere object's name (as the API gives it)."""
    return shown(stored(given)) == shown(found)


def key(name: str) -> str:
    """The form names are indexed by: what `same` compares."""
    return shown(stored(name))


def inventory_path(path: str) -> str:
    """An inventory path as SearchIndex.FindByInventoryPath takes it: '/' separates the names, each
    name in its stored form (a '\\' or a stray '%' escaped), no leading '/'."""
    return "/".join(stored(part) for part in path.strip("/").split("/"))
