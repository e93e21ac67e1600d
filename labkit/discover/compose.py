"""From what a source found (found.py) to the inventory document (document.py), by one set of rules.

- Names: labkit's names are identifiers (letters, digits, '-' and '_'), so a source's names are
  turned into such names ("CentOS 6.5" -> CentOS-6-5, "R&D, Zürich" -> R-D-Zurich), kept unique
  across VMs and networks and clear of the reserved words; the source's own name stays where the
  backend finds the VM by it (path, moid, backend_name) and in a comment.
- Every value written is first held to the field of labkit.model it goes into (`fits`): a value
  the schema refuses (an Ansible user "Administrator", a label with a '#') is not written; a
  comment says what it was and why, and the command prints it as a warning.
- What no source can know (the host's LAN address, the LAN, each guest's addressing, a Linux
  guest's dialect, an OS nobody reported) is a Fill: `<fill in>` with what to write beside it.
- What one source can infer is written with where it came from (a subnet from the host's files,
  the LAN from a bridged guest's address, an OS from the .vmx's guestOS).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from ipaddress import IPv4Address, IPv4Network
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from labkit import model
from labkit.discover.document import Block, Fill
from labkit.discover.found import Found, FoundNet, FoundNic, FoundVm
from labkit.model import RESERVED, VM, Adapter, Backend, Host, Network, Ssh
from labkit.validation import PATTERN_RULES

DIALECTS = "ifcfg, ifupdown, nmkeyfile or netplan"
STAND_IN_LAN = IPv4Network("192.0.2.0/24")  # TEST-NET-1: only ever used to check the document


@cache
def _adapter(model_cls: type[BaseModel], name: str) -> TypeAdapter:
    info = model_cls.model_fields[name]
    kind: Any = Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation
    return TypeAdapter(kind)


def fits(model_cls: type[BaseModel], name: str, value: Any) -> str | None:
    """None when `value` is what field `name` of `model_cls` accepts, else why not (one line)."""
    try:
        _adapter(model_cls, name).validate_python(value)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        if err["type"] == "string_pattern_mismatch":
            return f"not {_pattern_rule(err['ctx']['pattern'])}"
        return str(err["msg"]).removeprefix("Value error, ")
    return None


def _pattern_rule(pattern: str) -> str:
    for name, rule in PATTERN_RULES.items():
        meta = getattr(getattr(model, name, None), "__metadata__", ())
        if any(getattr(m, "pattern", None) == pattern for m in meta):
            return rule
    return "in the form labkit accepts"


def slug(text: str) -> str:
    """`text` as a labkit name: accents dropped, anything else but letters, digits, '-' and '_' -> '-'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    out = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9_-]+", "-", ascii_text)).strip("-_")
    return out[:60].rstrip("-_")


class Names:
    """Unique labkit names for one inventory's networks and VMs (which share one namespace)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, wanted: str, fallback: str) -> str:
        base = slug(wanted) or fallback
        name, n = base, 1
        while name in self.taken or name.lower() in RESERVED:
            n += 1
            name = f"{base}-{n}"
        self.taken.add(name)
        return name


class Composer:
    """Builds the document for one Found; `warnings` collects what the command prints."""

    def __init__(self, found: Found) -> None:
        self.found = found
        self.names = Names()
        self.warnings: list[str] = list(found.warnings)
        self.net_names: dict[str, str] = {}
        self.macs: dict[str, str] = {}
        self.guessed_interfaces = False  # some adapter's `interface` is ethN by position, not the guest's

    def document(self, lab: str) -> Block:
        found = self.found
        doc = Block()
        doc.put("lab", lab)
        doc.put("backend", self.backend())
        host, lan = self.host_and_lan()
        doc.put("host", host)
        doc.put("lan", lan, above=[found.lan_note] if found.lan_note else ())
        networks = Block()
        for net in found.networks:
            self.net_names[net.key] = self.names.take(net.name, "net")
        for i, net in enumerate(found.networks):
            networks.put(self.net_names[net.key], self.network(net, i), above=net.notes)
        doc.put("networks", networks)
        vms = [vm for vm in (self.vm(v) for v in found.vms) if vm is not None]
        above: list[str] = []
        if not vms:
            above.append("no VMs were found")
        elif self.guessed_interfaces:
            above.append("Each adapter's `interface` is the guest's name for it (eth0, ens33; a handle of your "
                         "choice on Windows): where the source does not say, it is eth0, eth1... by position; "
                         "change it to the guest's.")
        doc.put("vms", vms, above=above)
        return doc

    # ---- the lab's own parts ----------------------------------------------------------------------

    def backend(self) -> Block:
        found = self.found
        block = Block()
        if found.backend_type_known:
            block.put("type", found.backend.get("type", "sim"))
        else:
            block.put("type", Fill("workstation or vsphere, and how to reach it (docs/format.md)", "sim"))
        for key, value in found.backend.items():
            if key != "type":
                self.checked(block, Backend, key, value, f"backend.{key}")
        return block

    def host_and_lan(self) -> tuple[Block, Block]:
        found = self.found
        subnet = found.lan_subnet or STAND_IN_LAN
        router = found.lan_router or next(subnet.hosts())
        host_stand_in = next(h for h in subnet.hosts() if h != router)
        host = Block()
        host.put("lan_address", Fill("the host's address on the physical LAN, e.g. 192.168.1.100", host_stand_in))
        if found.host_os is not None and fits(Host, "os", found.host_os) is None:
            host.put("os", found.host_os, found.host_os_note)
        lan = Block()
        if found.lan_subnet is not None:
            lan.put("subnet", found.lan_subnet)
        else:
            lan.put("subnet", Fill("the physical LAN's subnet, e.g. 192.168.1.0/24", subnet))
        if found.lan_router is not None:
            lan.put("router", found.lan_router)
        else:
            lan.put("router", Fill("the LAN's router (its gateway), e.g. 192.168.1.1", router))
        return host, lan

    def network(self, net: FoundNet, index: int) -> Block:
        block = Block()
        kind = net.type
        if kind is None:
            block.put("type", Fill("bridged if these machines sit on the LAN (nothing more is needed then); "
                                   "nat, hostonly or custom need their subnet (docs/format.md)", "bridged"))
        else:
            block.put("type", kind)
        for key in ("backend_network", "switch", "moid"):
            self.checked(block, Network, key, getattr(net, key), f"networks.{self.net_names[net.key]}.{key}")
        if kind in ("bridged", None):
            return block
        if net.subnet is not None:
            block.put("subnet", net.subnet, net.subnet_note)
        else:
            stand_in = IPv4Network(f"198.18.{index % 256}.0/24")
            block.put("subnet", Fill(f"{net.name}'s subnet, e.g. 10.0.{index}.0/24", stand_in))
            if kind == "nat":
                block.put("gateway", Fill("the NAT device's address (Workstation: .2 of the subnet)",
                                          stand_in.network_address + 2))
            return block
        if net.host_adapter is not None:
            adapter = Block().put("address", net.host_adapter).put("enabled", net.host_adapter_enabled)
            block.put("host_adapter", adapter)
        if net.gateway is not None and kind == "nat":
            block.put("gateway", net.gateway, "the NAT device")
        if net.dhcp is not None:
            start, end, server = net.dhcp
            pool = Block().put("server", server).put("start", start).put("end", end)
            block.put("dhcp", pool)
        return block

    # ---- VMs --------------------------------------------------------------------------------------

    def vm(self, vm: FoundVm) -> Block | None:
        if not vm.nics:
            self.warnings.append(f"{vm.name}: no network adapter, so it is left out (a labkit VM has at least one)")
            return None
        name = self.names.take(vm.name, "vm")
        said = ([] if name == vm.name else [f"{self.found.system} calls it {vm.name!r}"]) + vm.notes
        block = Block(above=("; ".join(said),) if said else ())
        block.put("name", name)
        for key, value in vm.ids.items():
            self.checked(block, VM, key, value, f"{name}: {key}")
        if vm.os is not None:
            block.put("os", vm.os, vm.os_note)
        else:
            block.put("os", Fill("linux or windows (busybox for a BusyBox guest): the source does not say",
                                 "linux"))
        if vm.os == "windows":
            block.put("dialect", "netsh", "Windows guests are configured with netsh")
        else:
            hint = f"{DIALECTS}{' (netsh for windows)' if vm.os is None else ''}, or delete the line to detect it " \
                "over SSH"
            if vm.dialect_hint:
                hint += f" ({vm.dialect_hint})"
            block.put("dialect", Fill(hint, "ifcfg"))
        if vm.powered_on is False:
            block.put("powered_on", False)
        if vm.ssh:
            ssh = Block()
            for key, value in vm.ssh.items():
                self.checked(ssh, Ssh, key, value, f"{name}: ssh.{key}")
            if ssh.entries:
                block.put("ssh", ssh)
            for text in () if ssh.entries else ssh.above:
                self._note_left_out(block, text)
        block.put("adapters", [self.adapter(name, vm, nic, i) for i, nic in enumerate(vm.nics)])
        return block

    def adapter(self, vm: str, found_vm: FoundVm, nic: FoundNic, index: int) -> Block:
        block = Block()
        if nic.interface is not None and fits(Adapter, "interface", nic.interface) is None:
            block.put("interface", nic.interface)
        else:
            block.put("interface", f"eth{index}")
            self.guessed_interfaces = True
        self.checked(block, Adapter, "label", nic.label, f"{vm}: adapter {index} label")
        if nic.mac is not None:
            mac = nic.mac.lower()
            if mac in self.macs:
                self.warnings.append(f"{vm}: MAC {mac} is also {self.macs[mac]}'s, so it is not written "
                                     "(labkit refuses a MAC twice; the adapter is then found by its label)")
            else:
                self.macs[mac] = vm
                self.checked(block, Adapter, "mac", mac, f"{vm}: adapter {index} mac")
        network = self.net_names.get(nic.network or "")
        if network is None:
            known = ", ".join(self.net_names.values()) or "none"
            block.put("network", Fill(f"the network this NIC is on (one of: {known})",
                                      next(iter(self.net_names.values()), "net")))
        else:
            block.put("network", network)
        if not nic.connected:
            block.put("connected", False, "its virtual cable is out (not connected at power on)")
        block.put("config", Fill(self.config_hint(found_vm, nic, index), {"dhcp": True}), "; ".join(nic.notes) or None)
        return block

    def config_hint(self, vm: FoundVm, nic: FoundNic, index: int) -> str:
        """What to write as the guest's addressing, and what the source saw of it (a lease and a static
        address look alike from outside, so it is a hint, never the value)."""
        hint = "{dhcp: true} or {address: A.B.C.D/P, gateway: G}"
        if nic.seen:
            gw = f", gateway {nic.gateway}" if nic.gateway else ""
            hint += f"; VMware Tools reports {', '.join(str(a) for a in nic.seen)}{gw}"
        elif vm.ssh.get("address") and index == 0:
            hint += f"; it is reached at {vm.ssh['address']}"
        return hint

    # ---- every value through the schema ------------------------------------------------------------

    def checked(self, block: Block, model_cls: type[BaseModel], key: str, value: Any, what: str) -> None:
        """Put `key: value` when the schema takes it; else leave it out, said in a comment and a warning."""
        if value is None:
            return
        if isinstance(value, (IPv4Address, IPv4Network)):
            value = str(value)
        why = fits(model_cls, key, value)
        if why is None:
            block.put(key, value)
            return
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        self.warnings.append(f"{what}: {shown} is not written: {why}")
        self._note_left_out(block, f"{key} {shown} not written: {why}")

    def _note_left_out(self, block: Block, text: str) -> None:
        """A comment for a value left out: beside the block's last key so far (above it when empty)."""
        if block.entries:
            last = block.entries[-1]
            last.note = f"{last.note}; {text}" if last.note else text
        else:
            block.above = (*block.above, text)


def compose(found: Found, lab: str) -> tuple[Block, list[str]]:
    """The document and the warnings to print (values left out, VMs without adapters)."""
    composer = Composer(found)
    doc = composer.document(lab)
    return doc, composer.warnings


__all__ = ["Composer", "Names", "compose", "fits", "slug"]
