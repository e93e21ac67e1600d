"""Load a playbook and check it against its inventory before anything runs.

A step is a mapping with exactly one kind key (`set_mode:`, `ping_matrix:`...) and an optional
`name:`; names are unique (they key the report's matrices). Every VM, network, interface and
matrix endpoint a step names must exist in the inventory, a matrix source must be something labkit
can log into, and static addresses must not collide at any step. A step that needs an ability
the backend's lab will not have (set_host_adapter: the host's adapters) is refused too, from the
capability set the caller passes in (labkit.backends.capabilities: this module sits below the
backends and may not import them). Every problem is found in one pass and reported in file order,
each naming the playbook's file, line and field: whatever `labkit check` accepts, `labkit run` can
run without tripping over its input.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from labkit.endpoints import EndpointError, EndpointName, EndpointParser, host_adapter_ref
from labkit.errors import InputError, InputErrors
from labkit.model import (
    STEP_KINDS,
    ConfigureGuest,
    Inventory,
    PingMatrix,
    Playbook,
    SetHostAdapter,
    SetLink,
    SetMode,
    Step,
)
from labkit.validation import validate
from labkit.yamlsrc import BAD_CHAR, Source, dotted, load

PLAYBOOK_KEYS = {"name", "inventory", "description", "steps"}
SENDERS = "a VM, VM.IFACE, host, host.NET, router or an external's name"
ADDRESSLESS = ("vm", "vm_iface")  # endpoint kinds whose address is the lab state's: they may have none


def load_playbook(path: str | Path) -> tuple[Playbook, Source]:
    """The playbook alone (no inventory read), or InputErrors with every problem in it."""
    pb, source, errors = _parse(path)
    if errors:
        raise InputErrors(_in_file_order(errors))
    return pb, source


def _parse(path: str | Path | Source) -> tuple[Playbook, Source, list[InputError]]:
    """The playbook with every step that could be read, and the problems found on the way (`path`
    may be a document already in hand: playbook_from_data)."""
    source = path if isinstance(path, Source) else load(path)
    path = source.path if isinstance(path, Source) else path
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
    elif (bad := _control(name)) is not None:
        errors.append(source.error(bad, ("name",), field="name"))
    inventory = data.get("inventory")
    if inventory is not None and not isinstance(inventory, str):
        errors.append(source.error("inventory is a path (a string)", ("inventory",)))
        inventory = None
    steps_raw = data.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        errors.append(source.error("steps must be a non-empty list", ("steps",), field="steps"))
        steps_raw = []
    names = _step_names(steps_raw, source, errors)
    steps: list[Step] = []
    for i, raw in enumerate(steps_raw):
        try:
            steps.append(_step(raw, i, names[i], source))
        except InputErrors as exc:
            errors.extend(exc.errors)
        except InputError as exc:
            errors.append(exc)
    if inventory is not None:
        inventory = os.path.normpath(Path(path).parent / inventory)
    pb = Playbook(name=name if isinstance(name, str) else "", path=str(path), inventory=inventory, steps=steps)
    return pb, source, errors


def _control(text: str) -> str | None:
    """Names are printed to terminals and written into reports: a control character or a bidi
    override in one (written as a YAML escape) could rewrite the screen or forge a line."""
    found = BAD_CHAR.search(text)
    if found is None:
        return None
    return (f"a name may not contain the control character U+{ord(found.group()):04X}; "
            "use letters, digits, spaces and punctuation")


def _step_names(steps_raw: list[Any], source: Source, errors: list[InputError]) -> list[str]:
    """Each step's name: the given one (a duplicate is an error naming both lines), else a default
    `KIND #N` that collides with no other name, given or default."""
    given: dict[str, int] = {}
    for i, raw in enumerate(steps_raw):
        name = raw.get("name") if isinstance(raw, dict) else None
        if name is None:
            continue
        if not isinstance(name, str):
            errors.append(source.error("a step name is a string", ("steps", i, "name")))
        elif (bad := _control(name)) is not None:
            errors.append(source.error(bad, ("steps", i, "name")))
        elif name in given:
            first = given[name]
            errors.append(source.error(
                f"duplicate step name {name!r}: steps[{first}] (line {source.line_of(('steps', first))}) has it "
                "too; step names are unique in a playbook (the report keys matrices by them)",
                ("steps", i, "name")))
        else:
            given[name] = i
    used = set(given)
    names: list[str] = []
    for i, raw in enumerate(steps_raw):
        name = raw.get("name") if isinstance(raw, dict) else None
        if not isinstance(name, str):
            kind = next((k for k in raw if k in STEP_KINDS), "step") if isinstance(raw, dict) else "step"
            base = name = f"{kind} #{i + 1}"
            n = 2
            while name in used:
                name, n = f"{base} ({n})", n + 1
            used.add(name)
        names.append(name)
    return names


def _step(raw: object, i: int, name: str, source: Source) -> Step:
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
    spec = validate(STEP_KINDS[kind], raw[kind] if raw[kind] is not None else {}, source, loc + (kind,))
    return Step(name=name, kind=kind, spec=spec, line=source.line_of(loc), index=i)


# What a step kind needs of the lab beyond the Lab protocol (labkit.protocols' optional abilities).
STEP_NEEDS = {"set_host_adapter": "host_adapters", "set_link": "links", "snapshot": "snapshots",
              "revert_snapshot": "snapshots"}
# Why a backend lacks snapshots, where that is its nature rather than the inventory's.
_NO_SNAPSHOTS = {
    "netns": "a network namespace has no disk or memory to snapshot",
    "workstation": ("snapshots on Workstation go through vmrun, VMware's command-line tool on the Workstation "
                    "host, and with this inventory labkit has no vmrun to run"),
}


def check_against(pb: Playbook, source: Source, inv: Inventory, capabilities: frozenset[str] | None = None,
                  backend: str | None = None) -> None:
    """Every name a step uses exists in the inventory; matrix sources can send; static addresses
    do not collide at any step; with `capabilities` (the optional abilities of the lab that will
    run it, on `backend`, default the inventory's), every step's need is among them. InputErrors
    with every problem, in file order."""
    errors = _problems(pb, source, inv, capabilities, backend)
    if errors:
        raise InputErrors(_in_file_order(errors))


def _capability_problem(step: Step, spec: object, capabilities: frozenset[str] | None, backend: str) -> str | None:
    need = STEP_NEEDS.get(step.kind)
    if capabilities is None or need is None or need in capabilities:
        return None
    if isinstance(spec, SetHostAdapter):
        return (f"the {backend} backend cannot switch the host's virtual adapters with this inventory (a backend "
                "switches them only where labkit runs on the VMware host itself), so this step would fail when "
                f"run; switch the adapter on the host and set networks.{spec.network}.host_adapter.enabled in "
                "the inventory instead")
    if isinstance(spec, SetLink):
        why = ""
        if backend == "workstation":
            why = (" (vmrest 1.3.0 has no call that connects or disconnects a NIC; without backend.user and "
                   "password_env labkit edits the powered-off VMs' .vmx files, which can)")
        return (f"the {backend} backend cannot plug or unplug a VM adapter's virtual cable with this inventory{why}, "
                "so this step would fail when run")
    if need == "snapshots":
        why = f" ({_NO_SNAPSHOTS[backend]})" if backend in _NO_SNAPSHOTS else ""
        where = "" if backend == "netns" else " with this inventory"
        return (f"the {backend} backend cannot take or revert VM snapshots{where}{why}, so this step would fail "
                "when run")
    return f"the {backend} backend has no {need} with this inventory, which a {step.kind} step needs"


def _problems(pb: Playbook, source: Source, inv: Inventory, capabilities: frozenset[str] | None = None,
              backend: str | None = None) -> list[InputError]:
    errors: list[InputError] = []
    vms = {vm.name: vm for vm in inv.vms}
    statics = _Statics.of(inv)
    endpoints = EndpointParser(inv)
    for n, step in enumerate(pb.steps):
        i = step.index if step.index is not None else n
        loc = ("steps", i, step.kind)
        spec = step.spec
        lacking = _capability_problem(step, spec, capabilities, backend or inv.backend.type)
        if lacking:
            errors.append(source.error(lacking, loc))
        for j, name in enumerate(getattr(spec, "vms", []) or []):
            if name not in vms:
                errors.append(source.error(f"unknown VM {name!r} (known: {', '.join(vms) or 'none'})",
                                           loc + ("vms", j)))
        if isinstance(spec, SetMode):
            if spec.mode not in inv.networks:
                errors.append(source.error(f"unknown mode {spec.mode!r} (the inventory's networks: "
                                           f"{', '.join(inv.networks)})", loc + ("mode",)))
        if isinstance(spec, SetMode | SetLink):
            for name in spec.vms:
                if name in vms and vms[name].adapter(spec.adapter) is None:
                    errors.append(source.error(f"{name} has no adapter {spec.adapter!r}", loc + ("adapter",)))
        iface = getattr(spec, "interface", None)
        for name in getattr(spec, "vms", []) if iface else []:
            if name in vms and iface not in [a.interface for a in vms[name].adapters]:
                errors.append(source.error(f"{name} has no interface {iface!r}", loc + ("interface",)))
        if isinstance(spec, ConfigureGuest):
            if spec.apply:
                for j, name in enumerate(spec.vms):
                    if name in vms and vms[name].os == "windows":
                        errors.append(source.error(
                            f"{name} is a Windows guest: netsh applies a change at once and labkit cannot arm a "
                            "revert timer there, so apply: true (safe apply) is not available; drop apply "
                            "(the change is still made, through the console when the backend has one)",
                            loc + ("vms", j)))
            errors.extend(statics.configure(inv, spec, source, loc, i))
        if isinstance(spec, SetHostAdapter):
            net = inv.networks.get(spec.network)
            if net is None or net.host_adapter is None:
                with_adapter = [n for n, v in inv.networks.items() if v.host_adapter]
                errors.append(source.error(f"network {spec.network!r} has no host adapter (networks with one: "
                                           f"{', '.join(with_adapter) or 'none'})", loc + ("network",)))
        if isinstance(spec, PingMatrix):
            errors.extend(_check_matrix(spec, endpoints, source, loc))
    return errors


@dataclass
class _Statics:
    """Who holds which static address, step by step: a VM configured with another address or with
    DHCP frees its old one, so an address may change hands, but never be held twice at once."""

    reserved: dict[IPv4Address, str]  # the infrastructure's addresses: never a VM's
    holder: dict[IPv4Address, tuple[str, str, str]] = field(default_factory=dict)  # ip -> (vm, iface, since)
    held: dict[tuple[str, str], IPv4Address] = field(default_factory=dict)  # (vm, iface) -> ip

    @classmethod
    def of(cls, inv: Inventory) -> _Statics:
        out = cls(_infrastructure(inv))
        where = _inventory_place(inv)
        for k, vm in enumerate(inv.vms):
            for j, ad in enumerate(vm.adapters):
                if ad.config is not None and ad.config.address is not None:
                    since = where(("vms", k, "adapters", j, "config", "address"))
                    out._take(ad.config.address.ip, vm.name, ad.interface, since)
        return out

    def _take(self, ip: IPv4Address, vm: str, iface: str, since: str) -> None:
        self.holder[ip] = (vm, iface, since)
        self.held[(vm, iface)] = ip

    def configure(self, inv: Inventory, spec: ConfigureGuest, source: Source, loc: tuple[str | int, ...],
                  i: int) -> Iterator[InputError]:
        """Apply one configure_guest step; its problems (the address is someone else's)."""
        ip = spec.address.ip if spec.address is not None else None
        if ip is not None and ip in self.reserved:
            yield source.error(f"{ip} is {self.reserved[ip]}'s address", loc + ("address",))
            ip = None
        for name in spec.vms:
            vm = next((v for v in inv.vms if v.name == name), None)
            adapter = vm.adapter(spec.interface) if vm is not None else None
            if adapter is None:
                continue  # reported as an unknown VM or interface
            old = self.held.pop((name, adapter.interface), None)
            if old is not None:
                del self.holder[old]
            if ip is None:
                continue
            if ip in self.holder:
                other, other_iface, since = self.holder[ip]
                who = other if other != name else f"{other}'s {other_iface}"
                yield source.error(f"duplicate static address {ip}: this step gives it to {name} while {who} "
                                   f"still has it ({since})", loc + ("address",))
            else:
                self._take(ip, name, adapter.interface, f"steps[{i}], line {source.line_of(loc[:2])}")


def _inventory_place(inv: Inventory) -> Callable[[tuple[str | int, ...]], str]:
    """Words for where the inventory sets a value: its file and line when known."""
    from labkit.inventory import source_of

    doc = source_of(inv)

    def where(loc: tuple[str | int, ...]) -> str:
        line = doc.line_of(loc) if doc.lines else None
        return f"{doc.path}:{line}: {dotted(loc)}" if line else f"the inventory's {dotted(loc)}"
    return where


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


def source_problem(name: EndpointName, inv: Inventory, probed: bool = True) -> str | None:
    """Why a matrix cannot ping FROM this endpoint (None: it can). labkit runs ping on the source,
    so a source is something it logs into; VMware's NAT device and DHCP server take no login.
    `probed`: the matrix will be run, not only predicted (the user's own router needs a login then)."""
    if name.kind == "gateway":
        return (f"{name.ref!r} is {name.network}'s NAT device: labkit runs ping on the source and nobody can log "
                f"into VMware's NAT device; a source is {SENDERS} (the NAT device can be a target)")
    if name.kind == "dhcp":
        return (f"{name.ref!r} is {name.network}'s DHCP server: labkit runs ping on the source and nobody can "
                f"log into VMware's DHCP server; a source is {SENDERS} (the DHCP server can be a target)")
    if name.kind == "address":
        known = _named_addresses(inv).get(name.address) if name.address is not None else None
        return (f"{name.ref!r} is an address: labkit runs ping on the source, so a source is something it logs "
                f"into, {SENDERS}; " + (f"this is {known}'s address: name it {known}" if known
                                        else "an address can only be a target"))
    if (probed and name.kind == "router" and inv.backend.type in ("workstation", "vsphere")
            and inv.lan.router_ssh is None):
        return (f"labkit runs ping on the source, and on the {inv.backend.type} backend it logs into the LAN router "
                "only over SSH: give lan.router_ssh (user, key_file; address defaults to lan.router), or ping the "
                "router as a target only")
    return None


def _named_addresses(inv: Inventory) -> dict[IPv4Address, str]:
    """Addresses the inventory gives a source name (a VM's only as its static starting address)."""
    out: dict[IPv4Address, str] = {inv.host.lan_address: "host", inv.lan.router: "router"}
    for net_name, net in inv.networks.items():
        if net.host_adapter:
            out[net.host_adapter.address] = host_adapter_ref(net_name)
    for ext_name, ext in inv.externals.items():
        out[ext.address] = ext_name
    for vm in inv.vms:
        for ad in vm.adapters:
            if ad.config is not None and ad.config.address is not None:
                out.setdefault(ad.config.address.ip, f"{vm.name}.{ad.interface}")
    return out


def _check_matrix(spec: PingMatrix, endpoints: EndpointParser, source: Source,
                  loc: tuple[str | int, ...]) -> Iterator[InputError]:
    parsed: dict[str, EndpointName] = {}
    for key in ("sources", "targets"):
        for j, ref in enumerate(getattr(spec, key)):
            try:
                name = parsed[ref] = endpoints.parse(ref)
            except EndpointError as exc:
                yield source.error(exc.message, loc + (key, j))
                continue
            why = source_problem(name, endpoints.inv) if key == "sources" else None
            if why:
                yield source.error(why, loc + (key, j))
    if isinstance(spec.expect, str):
        return
    for j, cell in enumerate(spec.expect.cells):
        if cell.source not in spec.sources:
            yield source.error(f"{cell.source!r} is not one of this matrix's sources",
                               loc + ("expect", "cells", j, "from"))
        if cell.target not in spec.targets:
            yield source.error(f"{cell.target!r} is not one of this matrix's targets",
                               loc + ("expect", "cells", j, "to"))
        ends = [parsed.get(cell.source), parsed.get(cell.target)]
        if cell.result == "no_address" and all(e is not None and e.kind not in ADDRESSLESS for e in ends):
            yield source.error(f"no_address can never hold for {cell.source} -> {cell.target}: the inventory fixes "
                               "both addresses (only a VM or VM.IFACE can be without one)",
                               loc + ("expect", "cells", j, "result"))


def _in_file_order(errors: list[InputError]) -> list[InputError]:
    """The playbook's own errors by line (stable: one line's keep their order), then the others."""
    return sorted(errors, key=lambda e: (e.line is None, e.line or 0))


def load_checked(path: str | Path, inventory: str | Path | None = None,
                 complete: Callable[[Inventory], Inventory] | None = None,
                 capabilities: Callable[[Inventory], frozenset[str]] | None = None,
                 backend: str | None = None) -> tuple[Playbook, Inventory]:
    """Load a playbook and its inventory (the playbook's default unless given) and cross-check them,
    reporting every problem of both at once (the playbook's first, in file order).

    `complete` (labkit run: `labkit.backends.complete_inventory`) fills in what the backend settles
    when the lab is opened before the steps are checked, so that `nat.gateway` may name a NAT device
    the inventory leaves to the host. Without it nothing but the two files is read. `capabilities`
    (`labkit.backends.capabilities`, pure) gives the optional abilities of the lab the inventory
    opens on `backend` (default: its own), and a step needing one it lacks is refused."""
    from labkit.inventory import load_inventory

    pb, source, errors = _parse(path)
    errors = _in_file_order(errors)
    inv_path = inventory or pb.inventory
    if inv_path is None:
        if source.data.get("inventory") is None:  # else it is not a string, and that is reported
            errors.append(source.error("no inventory: set inventory: in the playbook (or give -i to labkit run)",
                                       ("inventory",), "inventory"))
        raise InputErrors(_in_file_order(errors))
    if inventory is None and not Path(inv_path).is_file():
        errors.append(source.error(f"no such file {source.data['inventory']!r} (looked for {inv_path})",
                                   ("inventory",)))
        raise InputErrors(_in_file_order(errors))
    try:
        inv = load_inventory(inv_path)
        if complete is not None:
            inv = complete(inv)
    except InputError as exc:
        raise InputErrors(errors + (exc.errors if isinstance(exc, InputErrors) else [exc])) from None
    try:
        caps = capabilities(inv) if capabilities is not None else None
    except InputError as exc:
        raise InputErrors(errors + (exc.errors if isinstance(exc, InputErrors) else [exc])) from None
    errors = _in_file_order(errors + _problems(pb, source, inv, caps, backend))
    if errors:
        raise InputErrors(errors)
    return pb, inv


def playbook_from_data(data: object, name: str = "<data>") -> tuple[Playbook, Source]:
    """A playbook built in code (labkit.api: a playbook or a step given as a mapping), held to the
    rules a file is (no inventory read); InputErrors name `name` and the field. A relative
    `inventory:` is taken from the current directory."""
    pb, source, errors = _parse(Source(name, data, {}))
    if errors:
        raise InputErrors(_in_file_order(errors))
    return pb, source
