"""The lab as it stands at one moment: which network each adapter is on and what each guest holds.

This is what the model reasons about and what backends report. The inventory says what the lab
*should* start as; a LabState is what was observed (or simulated) after steps have run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Interface

from labkit.model import Inventory


@dataclass(slots=True)
class IfaceState:
    name: str
    mac: str | None
    network: str | None  # None: disconnected
    address: IPv4Interface | None = None
    gateway: IPv4Address | None = None
    dhcp: bool = False
    note: str | None = None  # why there is no address ("no DHCP server answered on nat")


@dataclass(slots=True)
class VMState:
    name: str
    os: str
    icmp_firewall: bool = False
    powered_on: bool = True
    ifaces: list[IfaceState] = field(default_factory=list)

    def iface(self, name: str | None = None) -> IfaceState:
        if name is None:
            return self.ifaces[0]
        for ifc in self.ifaces:
            if ifc.name == name:
                return ifc
        raise KeyError(f"{self.name} has no interface {name!r}")


@dataclass(slots=True)
class LabState:
    inventory: Inventory
    host_adapters: dict[str, bool]  # network -> host virtual adapter enabled
    vms: dict[str, VMState]

    def copy(self) -> LabState:
        return LabState(self.inventory, dict(self.host_adapters),
                        {n: replace(v, ifaces=[replace(i) for i in v.ifaces]) for n, v in self.vms.items()})


def initial_host_adapters(inv: Inventory) -> dict[str, bool]:
    return {name: net.host_adapter.enabled for name, net in inv.networks.items() if net.host_adapter}
