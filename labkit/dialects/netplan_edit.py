"""The value edits of netplan's owned keys, recorded on a yamltext.Editor. Pure.

netplan/netplan.py decides what an interface's definition must say and validates it first; the
functions here turn that into the fewest splices: a scalar replaced in place (an address keeps its
`label`, a boolean its spelling), entries dropped, new ones added in the file's style, and a list or
mapping that would be left empty dropped with its key.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from labkit.dialects import netplan_defs as defs
from labkit.dialects.yamltext import Editor, Raw, text_of
from labkit.netconfig import InterfaceConfig


def addresses(ed: Editor, body: MappingNode, keys: list[str | None],
                    addresses: list[tuple[int, Node, IPv4Interface | None]], cfg: InterfaceConfig) -> None:
    v4 = [(i, node, a) for i, node, a in addresses if a is not None]
    wanted = str(cfg.address) if cfg.mode == "static" and cfg.address is not None else None
    if [str(a) for _, _, a in v4] == ([wanted] if wanted else []):
        return
    if wanted and "addresses" not in keys:
        ed.add(body, [wanted], key="addresses")
        return
    seq = body.value[keys.index("addresses")][1] if "addresses" in keys else None
    if not wanted and len(v4) == len(addresses):
        ed.drop(body, keys.index("addresses"))
        return
    assert isinstance(seq, SequenceNode)
    rest = v4
    if wanted and v4:
        ed.replace(v4[0][1], wanted)  # in place: a label of that entry stays with it
        rest = v4[1:]
    elif wanted:
        ed.add(seq, wanted, before=0)
    for i, _, _ in rest:
        ed.drop(seq, i)


def gateway(doc: Any, ed: Editor, body: MappingNode, keys: list[str | None],
                  routes: list[tuple[int, Node, IPv4Address]], gw_node: Node | None,
                  gateway4: IPv4Address | None, cfg: InterfaceConfig) -> None:
    have = {g for _, _, g in routes} | ({gateway4} if gateway4 else set())
    if have == ({cfg.gateway} if cfg.gateway else set()):
        return
    seq = body.value[keys.index("routes")][1] if "routes" in keys else None
    drop_routes = [i for i, _, _ in routes]
    if cfg.gateway is not None and gw_node is None and routes:
        ed.replace(routes[0][1], str(cfg.gateway))
        drop_routes = drop_routes[1:]
    elif cfg.gateway is not None and gw_node is not None:
        ed.replace(gw_node, str(cfg.gateway))
    elif gw_node is not None:
        ed.drop(body, keys.index("gateway4"))
    if cfg.gateway is not None and gw_node is None and not routes:
        route = {"to": default_spelling(doc), "via": str(cfg.gateway)}
        if seq is None:
            ed.add(body, [route], key="routes")
        else:
            ed.add(seq, route)
    if seq is not None and drop_routes:
        assert isinstance(seq, SequenceNode)
        if len(drop_routes) == len(seq.value):
            ed.drop(body, keys.index("routes"))
        else:
            for i in drop_routes:
                ed.drop(seq, i)


def dns(ed: Editor, body: MappingNode, keys: list[str | None], ns: MappingNode | None,
              servers: SequenceNode | None, cfg: InterfaceConfig) -> None:
    old = servers.value if servers else []
    old_v4 = [(i, node) for i, node in enumerate(old) if defs.v4(node) is not None]
    want = [str(a) for a in cfg.dns]
    if [str(defs.v4(node)) for _, node in old_v4] == want or (cfg.mode == "dhcp" and not want):
        return  # docs/format.md, the DNS rule: DHCP naming no servers leaves the file's
    if servers is None:
        if not want:
            return
        if ns is None:
            ed.add(body, {"addresses": want}, key="nameservers")
        else:
            ed.add(ns, want, key="addresses")
        return
    assert ns is not None
    if not want and len(old_v4) == len(old):  # the list would be empty: it goes, and nameservers with it
        ns_keys = key_list(ns)
        if len(ns_keys) == 1:
            ed.drop(body, keys.index("nameservers"))
        else:
            ed.drop(ns, ns_keys.index("addresses"))
        return
    for (i, node), server in zip(old_v4, want, strict=False):
        ed.replace(node, server)
    for i, _ in old_v4[len(want):]:
        ed.drop(servers, i)
    after = old_v4[-1][0] + 1 if old_v4 else 0
    for server in want[len(old_v4):]:
        ed.add(servers, server, before=after if after < len(old) else None)


def key_list(node: MappingNode) -> list[str | None]:
    """The mapping's keys, aligned with node.value (what the Editor's indices count)."""
    return [text_of(k) for k, _ in node.value]


def spelled(old: str, want: bool) -> str:
    """`want` in the spelling of the value it replaces: yes -> no, On -> Off, true -> false."""
    word = (defs.TRUE if want else defs.FALSE)[(defs.TRUE + defs.FALSE).index(old.lower()) % 4]
    return Raw(word.upper() if old.isupper() and len(old) > 1 else word.capitalize() if old[:1].isupper() else word)


def default_spelling(doc: Any) -> str:
    """`default` if the file already writes it (so its netplan knows it), else the portable 0.0.0.0/0."""
    for d in doc.defs:
        for route in (r for _, routes in defs.entries(d.body, "routes") if isinstance(routes, SequenceNode)
                      for r in routes.value):
            if isinstance(route, MappingNode) and any(k.value == "to" and text_of(v) == "default"
                                                     for k, v in defs.entries(route)):
                return "default"
    return "0.0.0.0/0"
