"""Load a playbook and check it against its inventory before anything runs.

A step is a mapping with exactly one kind key (`set_mode:`, `ping_matrix:`...) and an optional
`name:`. Every VM, network, interface and matrix endpoint a step names must exist in the inventory;
the error names the playbook's file, line and field.
"""

from __future__ import annotations

import os
from ipaddress import IPv4Address
from pathlib import Path

from labkit.errors import InputError, InputErrors
from labkit.model import (
    STEP_KINDS,
    ConfigureGuest,
    Inventory,
    PingMatrix,
    Playbook,
    SetHostAdapter,
    SetMode,
    Step,
)
from labkit.validation import validate
from labkit.yamlsrc import Source, load

PLAYBOOK_KEYS = {"name", "inventory", "description", "steps"}


def load_playbook(path: str | Path) -> tuple[Playbook, Source]:
    source = load(path)
    data = source.data
    if not isinstance(data, dict):
        raise source.error("a playbook is a mapping with name, inventory and steps")
    errors: list[InputError] = []
    for key in data:
        if key not in PLAYBOOK_KEYS:
            errors.append(source.error("unknown key", (key,)))
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append(source.error("a playbook needs a name (a string)", ("name",), field="name"))
    inventory = data.get("inventory")
    if inventory is not None and not isinstance(inventory, str):
        errors.append(source.error("inventory is a path (a string)", ("inventory",)))
    steps_raw = data.get("steps")
    steps: list[Step] = []
    if not isinstance(steps_raw, list) or not steps_raw:
        errors.append(source.error("steps must be a non-empty list", ("steps",), field="steps"))
        steps_raw = []
    for i, raw in enumerate(steps_raw):
        try:
            steps.append(_step(raw, i, source))
        except InputErrors as exc:
            errors.extend(exc.errors)
        except InputError as exc:
            errors.append(exc)
    if errors:
        raise InputErrors(errors)
    if inventory is not None:
        inventory = os.path.normpath(Path(path).parent / inventory)
    return Playbook(name=name, path=str(path), inventory=inventory, steps=steps), source


def _step(raw: object, i: int, source: Source) -> Step:
    loc = ("steps", i)
    if not isinstance(raw, dict):
        raise source.error(f"a step is a mapping like {{set_mode: {{...}}}}, not {type(raw).__name__}", loc)
    kinds = [k for k in raw if k in STEP_KINDS]
    unknown = [k for k in raw if k not in STEP_KINDS and k != "name"]
    if unknown:
        raise source.error(f"unknown step kind {unknown[0]!r} (known: {', '.join(STEP_KINDS)})",
                           loc + (unknown[0],))
    if len(kinds) != 1:
        raise source.error("a step has exactly one kind key (" + ", ".join(STEP_KINDS) + ")", loc)
    kind = kinds[0]
    name = raw.get("name", f"{kind} #{i + 1}")
    if not isinstance(name, str):
        raise source.error("a step name is a string", loc + ("name",))
    spec = validate(STEP_KINDS[kind], raw[kind] if raw[kind] is not None else {}, source, loc + (kind,))
    return Step(name=name, kind=kind, spec=spec, line=source.line_of(loc))


def check_against(pb: Playbook, source: Source, inv: Inventory) -> None:
    """Every name a step uses exists in the inventory; static addresses do not collide."""
    errors: list[InputError] = []
    vms = {vm.name: vm for vm in inv.vms}
    statics: dict[IPv4Address, str] = {}
    for vm in inv.vms:
        for ad in vm.adapters:
            if ad.config is not None and ad.config.address is not None:
                statics[ad.config.address.ip] = f"{vm.name} (inventory)"
    reserved = _infrastructure(inv)
    for i, step in enumerate(pb.steps):
        loc = ("steps", i, step.kind)
        spec = step.spec
        for j, name in enumerate(getattr(spec, "vms", []) or []):
            if name not in vms:
                errors.append(source.error(f"unknown VM {name!r} (known: {', '.join(vms) or 'none'})",
                                           loc + ("vms", j)))
        if isinstance(spec, SetMode):
            if spec.mode not in inv.networks:
                errors.append(source.error(f"unknown mode {spec.mode!r} (the inventory's networks: "
                                           f"{', '.join(inv.networks)})", loc + ("mode",)))
            for name in spec.vms:
                if name in vms and vms[name].adapter(spec.adapter) is None:
                    errors.append(source.error(f"{name} has no adapter {spec.adapter!r}", loc + ("adapter",)))
        if hasattr(spec, "interface"):
            iface = getattr(spec, "interface", None)
            for name in getattr(spec, "vms", []):
                if iface and name in vms and iface not in [a.interface for a in vms[name].adapters]:
                    errors.append(source.error(f"{name} has no interface {iface!r}", loc + ("interface",)))
        if isinstance(spec, ConfigureGuest) and spec.apply:
            for j, name in enumerate(spec.vms):
                if name in vms and vms[name].os == "windows":
                    errors.append(source.error(
                        f"{name} is a Windows guest: netsh applies a change at once and labkit cannot arm a "
                        "revert timer there, so apply: true (safe apply) is not available; drop apply "
                        "(the change is still made, through the console when the backend has one)",
                        loc + ("vms", j)))
        if isinstance(spec, ConfigureGuest) and spec.address is not None:
            ip = spec.address.ip
            owner = spec.vms[0]
            if ip in reserved:
                errors.append(source.error(f"{ip} is {reserved[ip]}'s address", loc + ("address",)))
            elif ip in statics and not statics[ip].startswith(owner + " "):
                errors.append(source.error(f"duplicate static address {ip}: already given to {statics[ip]}",
                                           loc + ("address",)))
            statics[ip] = f"{owner} (steps[{i}])"
        if isinstance(spec, SetHostAdapter):
            net = inv.networks.get(spec.network)
            if net is None or net.host_adapter is None:
                with_adapter = [n for n, v in inv.networks.items() if v.host_adapter]
                errors.append(source.error(f"network {spec.network!r} has no host adapter (networks with one: "
                                           f"{', '.join(with_adapter) or 'none'})", loc + ("network",)))
        if isinstance(spec, PingMatrix):
            errors.extend(_check_matrix(spec, inv, source, loc))
    if errors:
        raise InputErrors(errors)


def _infrastructure(inv: Inventory) -> dict[IPv4Address, str]:
    out = {inv.host.lan_address: "the host", inv.lan.router: "the LAN router"}
    for name, net in inv.networks.items():
        if net.gateway:
            out[net.gateway] = f"{name}'s NAT device"
        if net.host_adapter:
            out[net.host_adapter.address] = f"the host's {name} adapter"
        if net.dhcp and net.dhcp.server:
            out[net.dhcp.server] = f"{name}'s DHCP server"
    return out


def endpoint_problem(ref: str, inv: Inventory) -> str | None:
    """Why `ref` is not a matrix endpoint of this lab, or None when it is one."""
    from ipaddress import ip_address

    try:
        ip_address(ref)
        return None
    except ValueError:
        pass
    base, _, part = ref.partition(".")
    vms = {vm.name: vm for vm in inv.vms}
    if base in vms:
        if part and part not in [a.interface for a in vms[base].adapters]:
            return f"{base} has no interface {part!r}"
        return None
    if base == "host":
        if part and (part not in inv.networks or inv.networks[part].host_adapter is None):
            return f"the host has no adapter on {part!r}"
        return None
    if ref == "router" or ref in inv.externals:
        return None
    if base in inv.networks and part in ("gateway", "dhcp"):
        net = inv.networks[base]
        if (part == "gateway" and net.gateway) or (part == "dhcp" and net.dhcp and net.dhcp.server):
            return None
        return f"network {base!r} has no {part}"
    known = ["host", "router", *vms, *inv.externals]
    return f"unknown endpoint {ref!r} (known: {', '.join(known)}, or NET.gateway, host.NET, VM.IFACE, an address)"


def _check_matrix(spec: PingMatrix, inv: Inventory, source: Source, loc: tuple):
    for key in ("sources", "targets"):
        for j, ref in enumerate(getattr(spec, key)):
            why = endpoint_problem(ref, inv)
            if why:
                yield source.error(why, loc + (key, j))
    if not isinstance(spec.expect, str):
        for j, cell in enumerate(spec.expect.cells):
            if cell.source not in spec.sources:
                yield source.error(f"{cell.source!r} is not one of this matrix's sources",
                                   loc + ("expect", "cells", j, "from"))
            if cell.target not in spec.targets:
                yield source.error(f"{cell.target!r} is not one of this matrix's targets",
                                   loc + ("expect", "cells", j, "to"))


def load_checked(path: str | Path, inventory: str | Path | None = None) -> tuple[Playbook, Inventory]:
    """Load a playbook and its inventory (the playbook's default unless given) and cross-check them."""
    from labkit.inventory import load_inventory

    pb, source = load_playbook(path)
    inv_path = inventory or pb.inventory
    if inv_path is None:
        raise source.error("no inventory: set inventory: in the playbook (or give -i to labkit run)",
                           (), "inventory")
    if inventory is None and not Path(inv_path).is_file():
        raise source.error(f"no such file {source.data['inventory']!r} (looked for {inv_path})", ("inventory",))
    inv = load_inventory(inv_path)
    check_against(pb, source, inv)
    return pb, inv
