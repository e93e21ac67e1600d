"""A tiny HTML builder for the HTML report: every value is escaped by construction.

A report shows VM names, step names and reasons that a user, a guest or a backend wrote. Building
the page by pasting strings together would let one `<script>` in a VM name run in a student's
browser, so nothing here concatenates raw values: `el()` escapes every text child and every
attribute value, and only `Html` (what `el()` itself returns, or the package's own constant CSS and
JS) passes through unchanged.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Union

_ATTR_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
_TAG_NAME = re.compile(r"^[a-z][a-z0-9]*$")
_VOID = frozenset({"br", "hr", "img", "input", "meta", "link"})


class Html(str):
    """Markup that is already safe to emit as is."""

    __slots__ = ()


Child = Union[Html, str, int, float, None, Iterable["Child"]]


def esc(value: object) -> Html:
    """Text as HTML: `Html` stays as it is, anything else is escaped (quotes too)."""
    if isinstance(value, Html):
        return value
    return Html(html.escape(str(value), quote=True))


def _children(children: Iterable[Child]) -> Iterable[str]:
    for child in children:
        if child is None or child is False:
            continue
        if isinstance(child, str | int | float):
            yield esc(child)
        else:
            yield from _children(child)


def _attr_name(key: str) -> str:
    """Python keyword to attribute: `class_` -> class, `data_row` -> data-row, `aria_label` -> aria-label."""
    name = key.rstrip("_").replace("_", "-")
    if not _ATTR_NAME.match(name):
        raise ValueError(f"not an attribute name: {key!r}")
    return name


def el(tag: str, *children: Child, **attrs: object) -> Html:
    """One element. An attribute whose value is None or False is left out; True writes it bare."""
    if not _TAG_NAME.match(tag):
        raise ValueError(f"not a tag name: {tag!r}")
    parts = [tag]
    for key, value in attrs.items():
        if value is None or value is False:
            continue
        name = _attr_name(key)
        parts.append(name if value is True else f'{name}="{esc(value)}"')
    opening = f"<{' '.join(parts)}>"
    if tag in _VOID:
        return Html(opening)
    return Html(f"{opening}{''.join(_children(children))}</{tag}>")


def join(*children: Child) -> Html:
    """Several children as one fragment (text escaped as in el())."""
    return Html("".join(_children(children)))
