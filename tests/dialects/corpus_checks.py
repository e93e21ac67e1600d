"""Every file of the shared corpus of real network configurations through labkit's dialects and the real tools.

For each file (corpora/network-configs, read in place: GPL/MIT test data is never copied into labkit):
parse; render unedited (byte-identical); for each interface the file configures, read_config and apply
that back (byte-identical: a no-op changes nothing), then a static and a DHCP edit, each checked for
- reading back exactly what was applied (labkit's own parser),
- changing only lines labkit owns (a line diff), and nothing labkit does not own (the file's meaning
  with the owned keys taken out is the same before and after),
- being accepted by the real tool: `netplan generate --root-dir` (Debian's netplan.io), `ifquery -i`,
  GLib's keyfile reader (the system python3's PyGObject), `bash -n` and sourcing in a scratch shell
  (whose values must equal labkit's), which for a static edit must also see the new address.
Windows has no file and no tool here: netsh commands are run through tests/dialects/fakenetsh.py.

A run per dialect computes every file first, then calls the real tool for all edited texts in one batch
(a thread pool, or one process for many files), so that the per-file test cases stay cheap.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path
from typing import Any

from labkit.dialects import file_dialect, ifupdown, netplan, netsh, nmkeyfile
from labkit.dialects.ifcfg import IfcfgFile, route_file_warnings
from labkit.dialects.yamltext import load
from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig
from tests.conftest import SHARED
from tests.dialects import corpus_tools as tools
from tests.dialects.corpus_tools import ToolCheck
from tests.dialects.fakenetsh import fake_netsh

CORPUS = "corpora/network-configs"
ROOT = SHARED / CORPUS
STATIC = InterfaceConfig("static", IPv4Interface("192.0.2.10/24"), IPv4Address("192.0.2.1"),
                         (IPv4Address("192.0.2.53"),))
DHCP = InterfaceConfig("dhcp")
EDITS = {"static": STATIC, "dhcp": DHCP}


def files(dialect: str) -> list[str]:
    """The corpus files of one dialect, relative to the corpus root; empty when the corpus is absent."""
    base = ROOT / dialect
    if not base.is_dir():
        return []
    return sorted(str(p.relative_to(ROOT)) for p in base.rglob("*") if p.is_file())




@dataclass
class FileRun:
    rel: str
    refusals: dict[tuple[str, str], str] = field(default_factory=dict)  # (interface, what) -> labkit's message
    problems: list[str] = field(default_factory=list)
    checks: list[ToolCheck] = field(default_factory=list)

    @property
    def original(self) -> ToolCheck | None:
        return next((c for c in self.checks if c.what == "original"), None)


def text_of(rel: str) -> str:
    return (ROOT / rel).read_bytes().decode("utf-8", "surrogateescape")


def changed_lines(before: str, after: str, units: Callable[[str], list[str]] = lambda t: t.split("\n")) -> list[str]:
    """The lines (or logical lines) removed or added, each once, as a line diff sees them."""
    a, b = units(before), units(after)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "delete":
            out += a[i1:i2]
        elif op != "equal":  # a line rewritten (a flow line) counts by its new text
            out += b[j1:j2]
    return out


# ---------------------------------------------------------------- per dialect: interfaces, owned lines, meaning

class Dialect:
    name = ""
    owned_line: re.Pattern[str] = re.compile("$^")

    def interfaces(self, doc: Any, rel: str, text: str) -> list[str]:
        raise NotImplementedError

    def meaning(self, text: str, rel: str, interface: str) -> Any:
        """What the file says, without what labkit owns for `interface`."""
        raise NotImplementedError

    tool: Callable[[list[ToolCheck]], None]  # the real tool, called once for many texts

    def parse(self, text: str, rel: str) -> Any:
        return file_dialect(self.name).parse(text, Path(rel).name)

    def units(self, text: str) -> list[str]:
        """What a changed line is: a physical line, or (ifupdown) a logical one with its continuations."""
        return text.split("\n")


class Ifcfg(Dialect):
    name = "ifcfg"
    tool = staticmethod(tools.check_bash)
    owned_line = re.compile(r"[ \t]*(?:BOOTPROTO|ONBOOT|DEVICE|(?:IPADDR|PREFIX|NETMASK|GATEWAY|BROADCAST|NETWORK)"
                            r"[0-9]*|DNS[0-9]+)=.*|")
    owned_key = re.compile(r"BOOTPROTO|ONBOOT|DEVICE|(?:IPADDR|PREFIX|NETMASK|GATEWAY|BROADCAST|NETWORK)[0-9]*|"
                           r"DNS[0-9]+")

    def interfaces(self, doc: IfcfgFile, rel: str, text: str) -> list[str]:
        return [rel.split("ifcfg-", 1)[1]] if "ifcfg-" in Path(rel).name else []

    def meaning(self, text: str, rel: str, interface: str) -> Any:
        f = IfcfgFile.parse(text, rel)
        return {k: f.get(k) for k in f.keys() if not self.owned_key.fullmatch(k)}



class Ifupdown(Dialect):
    name = "ifupdown"
    tool = staticmethod(tools.check_ifquery)
    owned_line = re.compile(r"[ \t]*(?:iface[ \t].*|(?:auto|allow-auto|allow-hotplug)(?:[ \t].*)?|"
                            r"(?:address|netmask|gateway|dns-nameservers|broadcast|network)[ \t].*|)\r?")
    owned_option = ("address", "netmask", "gateway", "dns-nameservers", "broadcast", "network")

    def units(self, text: str) -> list[str]:
        return ["\n".join(s.lines) for s in ifupdown.parse(text)._stmts]

    def interfaces(self, doc: ifupdown.InterfacesFile, rel: str, text: str) -> list[str]:
        return list(dict.fromkeys(s.words[1] for s in doc._stmts
                                  if s.key == "iface" and len(s.words) > 2 and s.words[2] == "inet"))

    def meaning(self, text: str, rel: str, interface: str) -> Any:
        doc = ifupdown.parse(text, rel)
        owners = doc._owners()
        out = []
        for n, s in enumerate(doc._stmts):
            if not s.key:
                continue
            stanza = doc._stmts[owners[n]].words if owners[n] is not None else []
            mine = stanza[:2] == ["iface", interface] and stanza[2:3] == ["inet"]
            if mine and s.key in self.owned_option:
                continue
            if s.key == "iface" and s.words[1:3] == [interface, "inet"]:
                continue
            words = [w for w in s.words if not (s.key in ("auto", "allow-auto", "allow-hotplug") and w == interface)]
            if len(words) > 1 or s.key not in ("auto", "allow-auto", "allow-hotplug"):
                out.append((" ".join(stanza[:3]), tuple(words)))
        return out



class NmKeyfile(Dialect):
    name = "nmkeyfile"
    tool = staticmethod(tools.check_glib)
    owned_line = re.compile(r"[ \t]*(?:\[ipv4\]|(?:method|gateway|dns|autoconnect|address(?:es)?[0-9]*)[ \t]*=.*|)\r?")
    owned_keys = re.compile(r"ipv4\0(?:method|gateway|dns|address(?:es)?[0-9]*)|connection\0autoconnect")

    def interfaces(self, doc: nmkeyfile.Keyfile, rel: str, text: str) -> list[str]:
        bound = doc.get("connection", "interface-name") if doc.has_group("connection") else None
        return [bound or "eth0"]  # an unbound profile is probed with eth0 (and refused)

    def meaning(self, text: str, rel: str, interface: str) -> Any:
        doc = nmkeyfile.parse(text, rel)
        groups = dict.fromkeys(line.group for line in doc._lines if line.header)
        return {f"{g}\0{k}": doc.raw(g, k) for g in groups if g for k in doc.keys(g)
                if not self.owned_keys.fullmatch(f"{g}\0{k}")}




class Netplan(Dialect):
    name = "netplan"
    tool = staticmethod(tools.check_netplan)
    owned_keys = ("dhcp4", "addresses", "gateway4", "routes", "nameservers", "activation-mode")
    owned_line = re.compile(r".*(?:\b(?:dhcp4|addresses|gateway4|routes|nameservers|activation-mode|to|via|metric|"
                            r"on-link|ethernets|lifetime|label)\s*:|[0-9]{1,3}(?:\.[0-9]{1,3}){3}).*|[ \t]*|.*:\s*\r?")

    def interfaces(self, doc: netplan.NetplanDoc, rel: str, text: str) -> list[str]:
        return netplan.interfaces(doc)

    def meaning(self, text: str, rel: str, interface: str) -> Any:
        from labkit.dialects import netplan_defs

        root = _load(text, rel)
        data = _plain(root)
        found = netplan_defs.find(rel, root, interface) if _valid(interface) else None
        if found is None:
            for section in (data.get("network") or {}).values() if isinstance(data, dict) else []:
                if isinstance(section, dict):
                    section.pop(interface, None)
            return _prune(data)
        d = found[0]
        body = data["network"][d.section][d.id]
        for key in ("dhcp4", "gateway4", "activation-mode"):
            body.pop(key, None)
        body["addresses"] = [a for a in body.get("addresses") or []
                             if ":" in str(next(iter(a)) if isinstance(a, dict) else a)]  # IPv6 ones stay
        body["routes"] = [r for r in body.get("routes") or [] if not _default_route(r)]
        ns = body.get("nameservers") or {}
        if isinstance(ns, dict):
            ns["addresses"] = [a for a in ns.get("addresses") or [] if ":" in str(a)]
        body["nameservers"] = ns
        return _prune(data)



@functools.lru_cache(maxsize=64)
def _load(text: str, rel: str) -> Any:
    return load(text, rel)




def _default_route(route: Any) -> bool:
    return (isinstance(route, dict) and str(route.get("to")) in ("default", "0.0.0.0/0")
            and "." in str(route.get("via")) and not set(route) & {"table", "from", "type", "scope"})


def _valid(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z0-9_.:@-]{1,15}", name) is not None


def _plain(node: Any) -> Any:
    """A composed YAML node as plain data, merging a mapping key given twice as netplan does."""
    from ruamel.yaml.nodes import MappingNode, SequenceNode

    if isinstance(node, MappingNode):
        out: dict[str, Any] = {}
        for k, v in node.value:
            key, value = str(getattr(k, "value", k)), _plain(v)
            out[key] = _merge(out[key], value) if key in out else value
        return out
    if isinstance(node, SequenceNode):
        return [_plain(v) for v in node.value]
    return None if node is None else node.value


def _merge(a: Any, b: Any) -> Any:
    if isinstance(a, dict) and isinstance(b, dict):
        return {**a, **{k: _merge(a[k], v) if k in a else v for k, v in b.items()}}
    return b


def _prune(data: Any) -> Any:
    """Empty lists and mappings removed (labkit drops an emptied `routes` or `nameservers`)."""
    if isinstance(data, dict):
        pruned = {k: _prune(v) for k, v in data.items()}
        return {k: v for k, v in pruned.items() if v not in ({}, [])}
    if isinstance(data, list):
        return [_prune(v) for v in data]
    return data


DIALECTS: dict[str, Dialect] = {d.name: d for d in (Ifcfg(), Ifupdown(), NmKeyfile(), Netplan())}


# ---------------------------------------------------------------- one file

def run_file(dialect: Dialect, rel: str) -> FileRun:
    run = FileRun(rel)
    text = text_of(rel)
    d = file_dialect(dialect.name)
    run.checks.append(ToolCheck(text, "original", "-"))
    try:
        doc = dialect.parse(text, rel)
    except GuestConfigError as e:
        run.refusals[("-", "parse")] = str(e)
        return run
    if d.render(doc) != text:
        run.problems.append("an unedited render is not byte-identical")
    if dialect.name == "ifcfg" and "route" in Path(rel).name:
        route_file_warnings(text, rel, STATIC)  # a route file: read, never edited
        return run
    for interface in dialect.interfaces(doc, rel, text):
        _one_interface(dialect, d, run, text, rel, interface)
    return run


def _one_interface(dialect: Dialect, d: Any, run: FileRun, text: str, rel: str, interface: str) -> None:
    name = Path(rel).name
    now = None
    try:
        now = d.read_config(d.parse(text, name), interface)
    except GuestConfigError as e:
        run.refusals[(interface, "read")] = str(e)
    if now is not None:  # a no-op: applying what the file says changes nothing
        doc = d.parse(text, name)
        try:
            d.apply_config(doc, interface, now)
        except GuestConfigError as e:
            run.refusals[(interface, "noop")] = str(e)
        else:
            if d.render(doc) != text:
                run.problems.append(f"{interface}: applying the file's own configuration changed it: "
                                    f"{changed_lines(text, d.render(doc))[:6]}")
    for what, cfg in EDITS.items():
        doc = d.parse(text, name)
        try:
            d.apply_config(doc, interface, cfg)
        except GuestConfigError as e:
            run.refusals[(interface, what)] = str(e)
            continue
        new = d.render(doc)
        try:
            back = d.read_config(d.parse(new, name), interface)
        except GuestConfigError as e:
            before = run.refusals.get((interface, "read"), "")
            if _reason(str(e)) != _reason(before):  # else the edit kept what labkit could not read before
                run.problems.append(f"{interface} {what}: labkit cannot read its own edit: {e}")
                continue
            back = None
        if back is not None:
            _compare(run, interface, what, cfg, now, back)
        again = d.parse(new, name)
        d.apply_config(again, interface, cfg)
        if d.render(again) != new:
            run.problems.append(f"{interface} {what}: a second apply changed the file again")
        stray = [line for line in changed_lines(text, new, dialect.units)
                 if not dialect.owned_line.fullmatch(line.split("\n")[0])]
        if stray:
            run.problems.append(f"{interface} {what}: lines labkit does not own changed: {stray[:4]}")
        if dialect.meaning(text, rel, interface) != dialect.meaning(new, rel, interface):
            run.problems.append(f"{interface} {what}: what labkit does not own changed meaning")
        run.checks.append(ToolCheck(new, what, interface))


def _reason(message: str) -> str:
    """A refusal's words without its `file:line:` head (an edit moves lines)."""
    return re.sub(r"^\S+?(?::[0-9]+)?: ", "", message)


def _compare(run: FileRun, interface: str, what: str, cfg: InterfaceConfig, now: InterfaceConfig | None,
             back: InterfaceConfig) -> None:
    expected = cfg
    if cfg.mode == "dhcp" and not cfg.dns:  # docs/format.md, the DNS rule: the file's servers stay
        expected = InterfaceConfig("dhcp", dns=now.dns if now is not None else back.dns, onboot=cfg.onboot)
    if back != expected:
        run.problems.append(f"{interface} {what}: reads back {back}, applied {cfg}")


@functools.cache
def run_dialect(name: str) -> dict[str, FileRun]:
    """Every file of the dialect, then one batch of real-tool calls for all texts."""
    dialect = DIALECTS[name]
    runs = {}
    for rel in files(name):
        try:
            runs[rel] = run_file(dialect, rel)
        except Exception as e:  # noqa: BLE001 - a crash is that file's failure, not the whole run's
            runs[rel] = FileRun(rel, problems=[f"crashed: {type(e).__name__}: {e}"])
    dialect.tool([run.original for run in runs.values() if run.original])
    # an edit of a file the tool rejects proves nothing: only edits of accepted files are checked
    dialect.tool([c for run in runs.values() if run.original and run.original.accepted is not False
                  for c in run.checks if c.what != "original"])
    return runs


# ---------------------------------------------------------------- Windows (no file, no tool here)

def run_netsh(rel: str) -> FileRun:
    run = FileRun(rel)
    text = text_of(rel)
    names = netsh.ipconfig_names(text)
    for interface in names:
        try:
            netsh.read_ipconfig(text, interface)
        except GuestConfigError as e:
            run.refusals[(interface, "read")] = str(e)
        for what, cfg in EDITS.items():
            try:
                commands = netsh.apply_commands(interface, cfg)
            except GuestConfigError as e:
                run.refusals[(interface, what)] = str(e)
                continue
            shown = netsh.parse_show_config(fake_netsh(commands))
            if shown != {interface: cfg}:
                run.problems.append(f"{interface} {what}: netsh shows {shown}")
            if not all(f'name="{interface}"' in c for c in commands):
                run.problems.append(f"{interface} {what}: the name is not quoted as cmd.exe reads it: {commands}")
    return run




