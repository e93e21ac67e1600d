"""Read an Ansible inventory file, INI or YAML, as Ansible documents the formats, without Ansible.

labkit takes hosts, groups and variables from it; pulling in ansible-core for that would be a large
dependency for a small, well documented format ("How to build your inventory"):

- INI: `[group]` sections of host lines (`name [key=value ...]`, values read as Python literals,
  quoted with shell rules), `[group:vars]` lines `key=value` (strings), `[group:children]` lines
  naming child groups; hosts before any section are `ungrouped`; `#` and `;` start comments.
- YAML: `all:` (or any top-level group) with `hosts:` (name -> variables or nothing), `vars:` and
  `children:` (name -> group), nested to any depth.
- Both: host ranges `www[01:50].example.com`, `db-[a:f]`, `[1:9:2]` (stride), and `host:port`.

Variables are merged as Ansible does: `all`'s, then each group the host is in (through children
too) from the least to the most deeply nested (ties by name), then the host's own. Every problem
is an InputError naming the file and line. Vault-encrypted values (`!vault`) are not read: they
hold secrets, which labkit never takes from a file.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.errors import InputError
from labkit.yamlsrc import Source, loads, read_text

MAX_HOSTS = 10_000  # what ranges may expand to: a typo such as [1:999999] is refused, not expanded
_HEADER = re.compile(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:[#;].*)?$")
_RANGE = re.compile(r"\[([0-9a-zA-Z]+):([0-9a-zA-Z]+)(?::([0-9]+))?\]")
_YAML_START = re.compile(r"^[A-Za-z0-9_.-]+:\s*(#.*)?$")


@dataclass
class Group:
    name: str
    hosts: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)


@dataclass
class AnsibleInventory:
    path: str
    groups: dict[str, Group] = field(default_factory=dict)
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)  # host -> its own variables, in file order
    lines: dict[str, int] = field(default_factory=dict)  # host -> the line it is first named on

    def group(self, name: str) -> Group:
        return self.groups.setdefault(name, Group(name))

    def add_host(self, group: str, host: str, variables: dict[str, Any], line: int | None) -> None:
        self.hosts.setdefault(host, {}).update(variables)
        if line is not None:
            self.lines.setdefault(host, line)
        members = self.group(group).hosts
        if host not in members:
            members.append(host)

    def groups_of(self, host: str) -> list[str]:
        """Every group `host` is in, directly or through children, `all` first, by depth then name."""
        parents: dict[str, set[str]] = {}
        for g in self.groups.values():
            for child in g.children:
                parents.setdefault(child, set()).add(g.name)
        member = {g.name for g in self.groups.values() if host in g.hosts}
        todo = list(member)
        while todo:
            for parent in parents.get(todo.pop(), ()):
                if parent not in member:
                    member.add(parent)
                    todo.append(parent)
        member.add("all")
        depth = self._depths()
        return sorted(member, key=lambda g: (depth.get(g, 1), g))

    def vars_of(self, host: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for group in self.groups_of(host):
            merged.update(self.group(group).vars)
        merged.update(self.hosts.get(host, {}))
        return merged

    def _depths(self) -> dict[str, int]:
        """A group's depth: 1 + its deepest parent's (`all` is 0, top-level groups 1)."""
        depth = {"all": 0}
        for _ in range(len(self.groups) + 1):
            changed = False
            for g in self.groups.values():
                for child in g.children:
                    want = depth.get(g.name, 1) + 1
                    if child != "all" and depth.get(child, 1) < want:
                        depth[child] = want
                        changed = True
            if not changed:
                break
        return depth

    def check_cycles(self) -> None:
        state: dict[str, int] = {}  # 1 visiting, 2 done

        def visit(name: str, trail: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                loop = " -> ".join([*trail[trail.index(name):], name])
                raise InputError(f"groups are children of each other: {loop}", file=self.path)
            state[name] = 1
            for child in self.group(name).children:
                visit(child, [*trail, name])
            state[name] = 2

        for name in list(self.groups):
            visit(name, [])


def read(path: Path) -> AnsibleInventory:
    """The inventory at `path`, INI or YAML (by its extension, else by its first line)."""
    text = read_text(path)  # once: YAML is parsed from it too
    first = next((ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith(("#", ";"))), "")
    yaml_like = path.suffix.lower() in (".yml", ".yaml", ".json") or (
        path.suffix.lower() != ".ini" and (_YAML_START.match(first) is not None or first.startswith("{")))
    inv = _from_yaml(path, text) if yaml_like else _from_ini(str(path), text)
    inv.group("all")
    inv.check_cycles()
    return inv


def _from_ini(path: str, text: str) -> AnsibleInventory:
    inv = AnsibleInventory(path)
    group, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue

        def err(message: str, n: int = number) -> InputError:
            return InputError(message, file=path, line=n)

        if line.startswith("["):
            m = _HEADER.match(line)
            if m is None:
                raise err(f"{line!r} is not a section header ([group], [group:vars] or [group:children])")
            group, kind = m.group(1), m.group(2) or "hosts"
            if kind not in ("hosts", "vars", "children"):
                raise err(f"[{group}:{kind}]: a section is [group], [group:vars] or [group:children]")
            inv.group(group)
            continue
        if kind == "vars":
            key, eq, value = (part.strip() for part in line.partition("="))
            if not eq or not key:
                raise err(f"expected key=value in [{group}:vars], got {line[:60]!r}")
            inv.group(group).vars[key] = value
        elif kind == "children":
            child = line.split()[0]
            if child not in inv.group(group).children:
                inv.group(group).children.append(child)
            inv.group(child)
        else:
            _host_line(inv, group, line, number, err)
    return inv


def _host_line(inv: AnsibleInventory, group: str, line: str, number: int, err: Any) -> None:
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError as exc:
        raise err(f"cannot split the host line: {exc}") from None
    if not tokens:
        return
    variables: dict[str, Any] = {}
    for token in tokens[1:]:
        key, eq, value = token.partition("=")
        if not eq or not key:
            raise err(f"expected key=value after the host name, got {token[:60]!r}")
        variables[key] = _literal(value)
    for host, port in _hosts(tokens[0], err):
        inv.add_host(group, host, {**({"ansible_port": port} if port else {}), **variables}, number)


def _literal(value: str) -> Any:
    """A host line's value as Ansible reads it: a Python literal when it is one, else the string."""
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value


def _hosts(pattern: str, err: Any) -> list[tuple[str, int | None]]:
    """A host pattern's hosts, ranges expanded, each with the port it names (`host:port`) or None."""
    head, colon, tail = pattern.rpartition(":")
    port = None
    if colon and tail.isdigit() and len(tail) <= 5 and ":" not in re.sub(r"\[[^\]]*\]", "", head):
        pattern, port = head, int(tail)
        if not 1 <= port <= 65535:
            raise err(f"port {port} is not 1-65535")
    return [(host, port) for host in _expand(pattern, err)]


def _expand(pattern: str, err: Any) -> list[str]:
    m = _RANGE.search(pattern)
    if m is None:
        return [pattern]
    first, last, stride = m.group(1), m.group(2), int(m.group(3) or 1)
    if stride < 1:
        raise err(f"range [{m.group(0)[1:-1]}]: the step must be 1 or more")
    if first.isdigit() and last.isdigit():
        if int(first) > int(last):
            raise err(f"range {m.group(0)} ends before it starts")
        width = len(first) if first.startswith("0") and len(first) > 1 else 0
        if width and len(last) != width:
            raise err(f"range {m.group(0)}: a zero-padded start and its end must have as many digits")
        if (int(last) - int(first)) // stride + 1 > MAX_HOSTS:
            raise err(f"range {m.group(0)} names more than {MAX_HOSTS} hosts")
        values = [str(n).zfill(width) for n in range(int(first), int(last) + 1, stride)]
    elif len(first) == len(last) == 1 and first.isalpha() and last.isalpha() and first <= last:
        values = [chr(c) for c in range(ord(first), ord(last) + 1, stride)]
    else:
        raise err(f"range {m.group(0)} is neither numbers nor single letters in order")
    out: list[str] = []
    for value in values:
        out += _expand(pattern[:m.start()] + value + pattern[m.end():], err)
        if len(out) > MAX_HOSTS:
            raise err(f"{pattern} names more than {MAX_HOSTS} hosts")
    return out


# ---- YAML ----------------------------------------------------------------------------------------

def _from_yaml(path: Path, text: str) -> AnsibleInventory:
    try:
        source = loads(text, str(path))
    except InputError as exc:
        if "!vault" in exc.message:
            raise InputError(exc.message.split(":")[0] + ": vault-encrypted values are not read (they hold "
                             "secrets, which labkit takes only from environment variables); remove them from a "
                             "copy of the file", file=exc.file, line=exc.line) from None
        raise
    inv = AnsibleInventory(str(path))
    data = source.data
    if data is None:
        return inv
    if not isinstance(data, dict):
        raise source.error("an Ansible YAML inventory is a mapping of groups (all: {hosts: ..., children: ...})")
    for name, body in data.items():
        if name != "all":
            _link(inv, "all", name)
        _group(inv, source, name, body, (name,))
    return inv


def _group(inv: AnsibleInventory, src: Source, name: str, body: Any, loc: tuple) -> None:
    inv.group(name)
    if body is None:
        return
    if not isinstance(body, dict):
        raise src.error(f"group {name!r} must be a mapping (hosts, vars, children)", loc)
    for key, value in body.items():
        at = loc + (key,)
        if key not in ("hosts", "vars", "children"):
            raise src.error(f"unknown key {key!r} in group {name!r} (hosts, vars or children)", at)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise src.error(f"{key} of group {name!r} must be a mapping", at)
        if key == "vars":
            inv.group(name).vars.update(value)
        elif key == "children":
            for child, child_body in value.items():
                _link(inv, name, child)
                _group(inv, src, child, child_body, at + (child,))
        else:
            for pattern, variables in value.items():
                if variables is not None and not isinstance(variables, dict):
                    raise src.error(f"host {pattern!r}: its variables must be a mapping", at + (pattern,))
                line = src.line_of(at + (pattern,))

                def err(message: str, where: tuple = at + (pattern,)) -> InputError:
                    return src.error(message, where)

                for host, port in _hosts(str(pattern), err):
                    inv.add_host(name, host, {**({"ansible_port": port} if port else {}), **(variables or {})}, line)


def _link(inv: AnsibleInventory, parent: str, child: str) -> None:
    children = inv.group(parent).children
    if child not in children:
        children.append(child)
