"""The lab drawn as an inline SVG for the HTML report: the host on top, one column per network
(the LAN with the router and the internet first), each VM under the network its adapter is on.

A student reading a matrix needs to see why a cell came out as it did: which network each VM was
on, and whether the host's virtual adapter on that network (VMnet8, VMnet1) was on or off. The
drawing is made from the TopologySummary a ping_matrix step keeps, so it shows the lab as that
matrix saw it, not as the inventory describes it.
"""

from __future__ import annotations

from dataclasses import dataclass

from labkit.report.html_markup import Html, el
from labkit.results import NetworkSummary, TopologySummary

COL_W, GAP = 230, 14  # a column per network
BAR_Y = 200  # the network boxes' top; their height follows their lines
VM_H, VM_STEP = 46, 58  # the VM boxes under them
HOST_W, HOST_H, TOP = 250, 50, 14
ROUTER_AT, ROUTER_W = 0.32, 140  # the router's centre across the LAN's column, its width

TYPE_WORDS = {"nat": "NAT", "hostonly": "host-only", "bridged": "bridged to the LAN", "custom": "custom"}


@dataclass(frozen=True, slots=True)
class _Column:
    title: str
    lines: tuple[str, ...]
    kind: str  # CSS class: nat, hostonly, bridged, custom, lan, none
    network: str | None  # the mode name VMs' adapters point at
    host_link: tuple[str, str, bool] | None  # (label, address, on)


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(x: float, y: float, text: str, cls: str = "", anchor: str = "middle") -> Html:
    return el("text", _short(text), x=f"{x:g}", y=f"{y:g}", class_=cls or None, text_anchor=anchor)


def _box(x: float, y: float, w: float, h: float, cls: str, lines: list[tuple[str, str]], tip: str) -> Html:
    """A rounded box with centred lines of (text, css class) and the full text as its tooltip."""
    first = y + h / 2 - (len(lines) - 1) * 8 + 5
    return el("g", el("title", tip), el("rect", x=f"{x:g}", y=f"{y:g}", width=f"{w:g}", height=f"{h:g}", rx="8"),
              [_text(x + w / 2, first + 16 * k, t, c) for k, (t, c) in enumerate(lines)], class_=f"box {cls}")


def _columns(topo: TopologySummary) -> list[_Column]:
    """The LAN first (bridged networks are the LAN; a lab without one still has it), then the other
    networks in the inventory's order, then "not connected" when an adapter is on no known network."""
    bridged = [_column(topo, n) for n in topo.networks if n.type == "bridged"]
    lan = bridged or [_Column("physical LAN", ("the host's network", topo.lan_subnet), "lan", None, None)]
    cols = lan + [_column(topo, n) for n in topo.networks if n.type != "bridged"]
    known = {n.name for n in topo.networks}
    if any(a.network not in known for vm in topo.vms for a in vm.adapters):
        cols.append(_Column("not connected", ("adapter unplugged",), "none", None, None))
    return cols


def _column(topo: TopologySummary, n: NetworkSummary) -> _Column:
    title = f"{n.name} · {n.backend_network}" if n.backend_network else n.name
    lines = [TYPE_WORDS.get(n.type, n.type)] + ([n.subnet] if n.subnet else [])
    if n.gateway:
        lines.append(f"NAT device {n.gateway}")
    link: tuple[str, str, bool] | None = None
    if n.type == "bridged":
        link = ("host's own network card", topo.host_address, True)
    elif n.host_address:
        link = (f"host adapter {n.backend_network or n.name}", n.host_address, bool(n.host_enabled))
    return _Column(title, tuple(lines), n.type if n.type in TYPE_WORDS else "custom", n.name, link)


def _members(topo: TopologySummary, col: _Column, known: set[str]) -> list[tuple[str, str, str, bool]]:
    """(vm, interface, address, powered on) of the adapters drawn in this column."""
    out = []
    for vm in topo.vms:
        for a in vm.adapters:
            unplugged = a.network not in known
            if unplugged if col.kind == "none" else (col.network is not None and a.network == col.network):
                out.append((f"{vm.name} ({vm.os})", a.interface, a.address or "no address", vm.powered_on))
    return out


def _lan_side(topo: TopologySummary, x: float) -> list[Html]:
    """The router and what lies beyond it, above the LAN's column, left of where the host's link lands."""
    cx = x + COL_W * ROUTER_AT
    return [el("line", x1=f"{cx:g}", y1=f"{TOP + 40}", x2=f"{cx:g}", y2=f"{BAR_Y}", class_="wire"),
            _box(cx - ROUTER_W / 2, TOP, ROUTER_W, 40, "ext",
                 [(" · ".join(n for n, _ in topo.externals) or "internet", "b")],
                 _tip("beyond the router", topo.externals)),
            _box(cx - ROUTER_W / 2, 104, ROUTER_W, 46, "router", [("LAN router", "b"), (topo.router, "")],
                 f"the LAN's router {topo.router}: DHCP and the way out to the internet")]


def _host_link(hx: float, hy: float, cx: float, link: tuple[str, str, bool]) -> list[Html]:
    """The host's adapter on a network: a solid green line when on, dashed red when off, labelled."""
    label, address, on = link
    ly = BAR_Y - 34
    lx = hx + (cx - hx) * (ly - hy) / (BAR_Y - hy)
    state = "on" if on else "off"
    return [el("line", x1=f"{hx:g}", y1=f"{hy:g}", x2=f"{cx:g}", y2=f"{BAR_Y}", class_=f"link {state}"),
            el("g", _text(lx, ly, label, "lbl"), _text(lx, ly + 15, f"{address} · {state.upper()}", "lbl b"),
               class_=f"linklabel {state}")]


def topology_svg(topo: TopologySummary) -> Html:
    """The drawing, in its own units: it is never drawn larger than that, and scrolls on a phone."""
    cols = _columns(topo)
    known = {n.name for n in topo.networks}
    members = [_members(topo, c, known) for c in cols]
    width = max(len(cols), 3) * (COL_W + GAP) + GAP
    bar_h = 14 + 16 * max(1 + len(c.lines) for c in cols)
    vm_y = BAR_Y + bar_h + 36
    height = vm_y + max([len(m) for m in members] + [1]) * VM_STEP + 4
    x0 = (width - len(cols) * (COL_W + GAP) + GAP) / 2
    # the host in the middle, but clear of the router and the internet drawn above the LAN's column
    hx, hy = max(width / 2, x0 + COL_W * ROUTER_AT + ROUTER_W / 2 + 24 + HOST_W / 2), TOP + HOST_H
    wires: list[Html] = _lan_side(topo, x0)
    boxes: list[Html] = []
    for k, (col, mem) in enumerate(zip(cols, members, strict=True)):
        x = x0 + k * (COL_W + GAP)
        cx = x + COL_W / 2
        if col.host_link is not None:
            wires += _host_link(hx, hy, cx, col.host_link)
        boxes.append(_box(x, BAR_Y, COL_W, bar_h, f"net {col.kind}", [(col.title, "b"), *[(t, "") for t in col.lines]],
                          f"{col.title}: {'; '.join(col.lines)}"))
        if mem:
            last = vm_y + (len(mem) - 1) * VM_STEP
            wires.append(el("line", x1=f"{cx:g}", y1=f"{BAR_Y + bar_h}", x2=f"{cx:g}", y2=f"{last}", class_="wire"))
        for j, (name, ifname, address, powered) in enumerate(mem):
            lines = [(name, "b"), (f"{ifname} {address}" if powered else f"{ifname} · powered off", "")]
            boxes.append(_box(x + 12, vm_y + j * VM_STEP, COL_W - 24, VM_H, "vm" if powered else "vm off", lines,
                              f"{name}, {ifname}: {address}" + ("" if powered else " (powered off)")))
    boxes.append(_box(hx - HOST_W / 2, TOP, HOST_W, HOST_H, "host", [("Host (the PC running VMware)", "b"),
                                                                    (f"LAN address {topo.host_address}", "")],
                      f"the host: {topo.host_address} on the LAN {topo.lan_subnet}"))
    return el("svg", el("title", f"Lab {topo.lab}: networks, the host's adapters and the VMs"), wires, boxes,
              viewBox=f"0 0 {width:g} {height:g}", role="img", class_="topology", style=f"max-width:{width:g}px",
              aria_label=caption(topo), preserveAspectRatio="xMidYMin meet")


def _tip(what: str, pairs: tuple[tuple[str, str], ...]) -> str:
    return f"{what}: " + (", ".join(f"{n} {a}" for n, a in pairs) or "the internet")


def caption(topo: TopologySummary) -> str:
    """The drawing in words, for screen readers and under the picture (plain text: escaped where used)."""
    adapters = [f"{n.backend_network or n.name} {'on' if n.host_enabled else 'off'}"
                for n in topo.networks if n.host_address]
    vms = [f"{vm.name} on {', '.join(a.network or 'nothing' for a in vm.adapters)}" for vm in topo.vms]
    return f"Host adapters: {', '.join(adapters) or 'none'}. VMs: {'; '.join(vms) or 'none'}."


def changes(before: TopologySummary, after: TopologySummary) -> list[str]:
    """What differs between two moments of the lab, in words ("host adapter VMnet8 switched off")."""
    out = []
    was = {n.name: n for n in before.networks}
    for n in after.networks:
        old = was.get(n.name)
        if old is not None and n.host_address and old.host_enabled != n.host_enabled:
            out.append(f"host adapter {n.backend_network or n.name} switched {'on' if n.host_enabled else 'off'}")
    old_vms = {vm.name: vm for vm in before.vms}
    for vm in after.vms:
        prev = old_vms.get(vm.name)
        if prev is None:
            continue
        if prev.powered_on != vm.powered_on:
            out.append(f"{vm.name} powered {'on' if vm.powered_on else 'off'}")
        old_ads = {a.interface: a for a in prev.adapters}
        for a in vm.adapters:
            o = old_ads.get(a.interface)
            if o is not None and o.network != a.network:
                out.append(f"{vm.name} {a.interface} moved from {o.network or 'nothing'} to {a.network or 'nothing'}")
            if o is not None and o.address != a.address:
                out.append(f"{vm.name} {a.interface} address {o.address or 'none'} -> {a.address or 'none'}")
    return out
