"""Matrix endpoint names (`win7`, `win7.eth1`, `host.nat`, `nat.gateway`, `10.0.0.2`...): one grammar.

A ping matrix names its sources and targets as short strings. The playbook check, the CLI's
--sources/--targets and the model's topology all have to agree on what such a string means, so it
is parsed here and only here: `EndpointParser.parse` turns a name into an `EndpointName` (what kind
of endpoint it is and its parts) or raises `EndpointError` saying why the lab has no such endpoint.
The formatters (`host_adapter_ref`, `gateway_ref`, `dhcp_ref`) spell names the other way round.

Pure: no I/O, no lab state. A VM's address is the lab state's business (topology.py), so a VM
endpoint carries no address; every other kind's address is fixed by the inventory.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Literal

from labkit.errors import InputError
from labkit.model import Inventory

EndpointKind = Literal["vm", "vm_iface", "host", "host_adapter", "gateway", "dhcp", "router", "external",
                       "address"]

HOST, ROUTER = "host", "router"
GATEWAY, DHCP = "gateway", "dhcp"
FORMS = "NET.gateway, host.NET, VM.IFACE, an address"  # the forms the "known:" list cannot enumerate


class EndpointError(InputError):
    """`ref` names no endpoint of this lab; the message says why (the caller adds file/line/field)."""


@dataclass(frozen=True, slots=True)
class EndpointName:
    """A parsed endpoint name: its kind and the parts the kind has (None where it has none)."""

    ref: str
    kind: EndpointKind
    vm: str | None = None  # vm, vm_iface
    interface: str | None = None  # vm_iface
    network: str | None = None  # host_adapter, gateway, dhcp
    external: str | None = None  # external
    address: IPv4Address | None = None  # every kind but vm and vm_iface (the inventory fixes it)

    @property
    def node(self) -> str | None:
        """The topology node that sends or answers; None for a bare address (its holder is the state's)."""
        if self.kind in ("vm", "vm_iface"):
            return self.vm
        if self.kind in ("host", "host_adapter"):
            return HOST
        if self.kind == "router":
            return ROUTER
        if self.kind == "gateway":
            return gateway_ref(self.network or "")
        if self.kind == "dhcp":
            return dhcp_ref(self.network or "")
        if self.kind == "external":
            return self.external
        return None


def host_adapter_ref(network: str) -> str:
    return f"{HOST}.{network}"


def gateway_ref(network: str) -> str:
    return f"{network}.{GATEWAY}"


def dhcp_ref(network: str) -> str:
    return f"{network}.{DHCP}"


class EndpointParser:
    """Parses endpoint names against one inventory (built once: a matrix may name thousands).

    `vms` maps each VM to its interface names; by default the inventory's VMs and their adapters.
    The model passes its lab state's VMs instead, which may differ from the inventory's.
    """

    def __init__(self, inv: Inventory, vms: Mapping[str, Collection[str]] | None = None) -> None:
        self.inv = inv
        self.vms: Mapping[str, Collection[str]] = vms if vms is not None else {
            vm.name: [a.interface for a in vm.adapters] for vm in inv.vms}

    def parse(self, ref: str) -> EndpointName:
        """What `ref` names, or EndpointError with why this lab has no such endpoint."""
        address = _ipv4(ref)
        if address is not None:
            return EndpointName(ref, "address", address=address)
        if not ref or ref.startswith(".") or ref.endswith("."):
            raise EndpointError(f"malformed endpoint {ref!r}: a name, or NAME.PART with both sides given "
                                f"({FORMS})")
        base, _, part = ref.partition(".")
        inv = self.inv
        if base in self.vms:
            if not part:
                return EndpointName(ref, "vm", vm=base)
            if part not in self.vms[base]:
                raise EndpointError(f"{base} has no interface {part!r}")
            return EndpointName(ref, "vm_iface", vm=base, interface=part)
        if base == HOST:
            if not part:
                return EndpointName(ref, "host", address=inv.host.lan_address)
            net = inv.networks.get(part)
            if net is None or net.host_adapter is None:
                raise EndpointError(f"the host has no adapter on {part!r}")
            return EndpointName(ref, "host_adapter", network=part, address=net.host_adapter.address)
        if base == ROUTER or base in inv.externals:
            if part:
                raise EndpointError(f"malformed endpoint {ref!r}: {base!r} has no parts (name it alone)")
            if base == ROUTER:
                return EndpointName(ref, "router", address=inv.lan.router)
            return EndpointName(ref, "external", external=base, address=inv.externals[base].address)
        if part in (GATEWAY, DHCP):
            return self._network_part(ref, base, part)
        if base in inv.networks:
            raise EndpointError(self._not_of_network(ref, base, part))
        raise EndpointError(self._unknown(ref))

    def _network_part(self, ref: str, network: str, part: str) -> EndpointName:
        net = self.inv.networks.get(network)
        if net is None:
            raise EndpointError(f"unknown network {network!r} in {ref!r} (known: {', '.join(self.inv.networks)})")
        if part == GATEWAY:
            if net.gateway is None:
                raise EndpointError(f"network {network!r} has no gateway")
            return EndpointName(ref, "gateway", network=network, address=net.gateway)
        if net.dhcp is None or net.dhcp.server is None:
            raise EndpointError(f"network {network!r} has no dhcp server address (networks.{network}.dhcp.server)")
        return EndpointName(ref, "dhcp", network=network, address=net.dhcp.server)

    def _not_of_network(self, ref: str, network: str, part: str) -> str:
        net = self.inv.networks[network]
        has = [*([gateway_ref(network)] if net.gateway else []),
               *([dhcp_ref(network)] if net.dhcp and net.dhcp.server else []),
               *([host_adapter_ref(network)] if net.host_adapter else [])]
        what = f"network {network!r} has no endpoint {part!r}" if part else f"{ref!r} is a network, not an endpoint"
        return what + (f" (its endpoints: {', '.join(has)})" if has else " (it has no endpoints of its own)")

    def _unknown(self, ref: str) -> str:
        if _looks_numeric(ref):
            return f"{ref!r} is not an IPv4 address"
        if isinstance(_any_ip(ref), IPv6Address):
            return f"{ref!r} is an IPv6 address: matrix endpoints are IPv4"
        known = [HOST, ROUTER, *self.vms, *self.inv.externals]
        return f"unknown endpoint {ref!r} (known: {', '.join(known)}, or {FORMS})"


def parse_endpoint(ref: str, inv: Inventory) -> EndpointName:
    """One name against the inventory's own VMs (for many names, build an EndpointParser once)."""
    return EndpointParser(inv).parse(ref)


def default_endpoints(inv: Inventory) -> tuple[list[str], list[str]]:
    """A matrix's sources and targets when none are given: the host and every VM ping the host, its
    adapters, the NAT devices, the router, the externals and every VM."""
    vms = inv.vm_names
    sources = [HOST, *vms]
    targets = [HOST, *[host_adapter_ref(n) for n, net in inv.networks.items() if net.host_adapter],
               *[gateway_ref(n) for n, net in inv.networks.items() if net.gateway],
               ROUTER, *inv.externals, *vms]
    return sources, targets


def _ipv4(ref: str) -> IPv4Address | None:
    address = _any_ip(ref) if ref[:1].isdigit() else None
    return address if isinstance(address, IPv4Address) else None


def _any_ip(ref: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(ref)
    except ValueError:
        return None


def _looks_numeric(ref: str) -> bool:
    """Digits and dots only, with a dot: meant as an IPv4 address (`10.0.0`, `10.0.0.256`)."""
    return "." in ref and all(c.isdigit() or c == "." for c in ref)
