"""What a network-namespace lab is made of, derived from an inventory; no I/O.

The shape follows VMware Workstation (../shared/DOMAIN.md §1-2): one switch namespace holding a
bridge per virtual network plus the physical LAN, the host with its LAN NIC and VMnet adapters, a
NAT device per NAT network uplinked through the host's stack, a DHCP server per network, the LAN
router masquerading to an "internet" namespace that holds the external targets, and one namespace
per VM. Interface names stay within Linux's 15 characters by using indexes, never user names.
The inventory's ICMP firewalls (host and VMs) are carried into the plan so the build emulates them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from labkit.errors import InputError
from labkit.model import Inventory

TRANSFER = IPv4Network("100.64.0.0/16")  # host <-> NAT device and router <-> internet links


@dataclass(frozen=True)
class Segment:
    network: str  # inventory network name ("lan" for the physical LAN)
    bridge: str


@dataclass(frozen=True)
class Port:
    """A veth pair: `ifname` inside `ns`, `port` on `bridge` in the switch namespace."""

    ns: str
    ifname: str
    port: str
    bridge: str
    address: IPv4Interface | None = None
    mac: str | None = None
    up: bool = True


@dataclass(frozen=True)
class Dhcp:
    ns: str
    ifname: str
    name: str
    start: IPv4Address
    end: IPv4Address
    netmask: IPv4Address
    router: IPv4Address | None
    dns: IPv4Address | None
    hosts: tuple[tuple[str, IPv4Address], ...] = ()


@dataclass(frozen=True)
class VmPlan:
    name: str
    ns: str
    flavour: str  # debian | rhel
    ports: tuple[Port, ...]
    icmp_firewall: bool = False  # drop inbound echo requests (rule 9)


@dataclass
class Plan:
    lab: str
    prefix: str
    switch: str
    host: str
    router: str
    inet: str
    segments: dict[str, Segment] = field(default_factory=dict)
    ports: list[Port] = field(default_factory=list)
    natdevs: dict[str, tuple[str, IPv4Interface, IPv4Interface]] = field(default_factory=dict)
    dhcp: list[Dhcp] = field(default_factory=list)
    vms: dict[str, VmPlan] = field(default_factory=dict)
    host_adapters: dict[str, str] = field(default_factory=dict)  # network -> host ifname
    host_icmp_firewall: bool = False  # the host drops echo requests arriving on its interfaces
    wan: tuple[IPv4Interface, IPv4Interface] = (IPv4Interface("100.64.255.1/30"), IPv4Interface("100.64.255.2/30"))

    @property
    def namespaces(self) -> list[str]:
        infra = [self.switch, self.inet, self.router, self.host, *[ns for ns, _, _ in self.natdevs.values()],
                 *[d.ns for d in self.dhcp if d.ns not in (self.router,)]]
        return list(dict.fromkeys([*infra, *[v.ns for v in self.vms.values()]]))


def prefix_for(lab: str) -> str:
    """Short, stable and unlikely to collide: `lk` plus a hash of the lab's name."""
    return "lk" + hashlib.sha256(lab.encode()).hexdigest()[:6]


def check_supported(inv: Inventory) -> None:
    if inv.host.os != "linux":
        raise InputError("the netns lab runs Linux everywhere: set host.os to linux", field="host.os")
    for vm in inv.vms:
        if vm.os != "linux":
            raise InputError(f"the netns lab runs Linux guests only; {vm.name} has os {vm.os}",
                             field=f"vms.{vm.name}.os")
        if vm.dialect not in (None, "ifcfg", "ifupdown"):
            raise InputError(f"netns guests speak ifcfg (RHEL-style) or ifupdown (Debian); {vm.name} has "
                             f"{vm.dialect}", field=f"vms.{vm.name}.dialect")


def make_plan(inv: Inventory) -> Plan:
    check_supported(inv)
    p = prefix_for(inv.lab)
    plan = Plan(inv.lab, p, f"{p}-sw", f"{p}-host", f"{p}-router", f"{p}-inet",
                host_icmp_firewall=inv.host.icmp_firewall)
    lan = inv.lan
    plan.segments["lan"] = Segment("lan", "br-lan")
    index = 0
    for name, net in inv.networks.items():
        if net.type == "bridged":
            plan.segments[name] = plan.segments["lan"]
            continue
        plan.segments[name] = Segment(name, f"br-n{index}")
        index += 1

    plan.ports.append(Port(plan.router, "lan0", "p-router", "br-lan",
                           IPv4Interface(f"{lan.router}/{lan.subnet.prefixlen}"), "02:00:5e:00:01:01"))
    plan.ports.append(Port(plan.host, "eth0", "p-host", "br-lan",
                           IPv4Interface(f"{inv.host.lan_address}/{lan.subnet.prefixlen}"), "02:00:00:00:01:64"))
    if lan.dhcp is not None:
        plan.dhcp.append(Dhcp(plan.router, "lan0", "lan", lan.dhcp.start, lan.dhcp.end,
                              lan.subnet.netmask, lan.router, None))
    for k, (name, net) in enumerate((n, v) for n, v in inv.networks.items() if v.type != "bridged"):
        seg = plan.segments[name]
        subnet = net.subnet
        if subnet is None:  # validation asks every network but a bridged one for its subnet
            raise InputError(f"network {name} has no subnet", field=f"networks.{name}.subnet")
        plen = subnet.prefixlen
        if net.host_adapter is not None:
            ifname = _host_ifname(net.backend_network, k, set(plan.host_adapters.values()))
            plan.host_adapters[name] = ifname
            plan.ports.append(Port(plan.host, ifname, f"p-h{k}", seg.bridge,
                                   IPv4Interface(f"{net.host_adapter.address}/{plen}"), f"00:50:56:c0:00:{k:02x}",
                                   up=net.host_adapter.enabled))
        if net.type == "nat" and net.gateway is not None:
            ns = f"{p}-nat{k}"
            plan.ports.append(Port(ns, "vmnet", f"p-nat{k}", seg.bridge, IPv4Interface(f"{net.gateway}/{plen}"),
                                   f"00:50:56:e0:{k:02x}:02"))
            base = int(TRANSFER.network_address) + 4 * k
            plan.natdevs[name] = (ns, IPv4Interface(f"{IPv4Address(base + 1)}/30"),
                                  IPv4Interface(f"{IPv4Address(base + 2)}/30"))
        if net.dhcp is not None and net.dhcp.server is not None:
            ns = f"{p}-dhcp{k}"
            plan.ports.append(Port(ns, "eth0", f"p-dhcp{k}", seg.bridge,
                                   IPv4Interface(f"{net.dhcp.server}/{plen}"), f"00:50:56:e0:{k:02x}:fe"))
            router = net.gateway if net.type == "nat" else None
            plan.dhcp.append(Dhcp(ns, "eth0", name, net.dhcp.start, net.dhcp.end, subnet.netmask,
                                  router, net.gateway if net.type == "nat" else None))
    for k, vm in enumerate(inv.vms):
        ns = f"{p}-vm{k}"
        ports: list[Port] = []
        for j, ad in enumerate(vm.adapters):
            seg = plan.segments[ad.network]
            mac = (ad.mac or f"00:0c:29:{k // 256:02x}:{k % 256:02x}:{j:02x}").lower()
            ports.append(Port(ns, ad.interface, f"v{k}a{j}", seg.bridge, None, mac, up=ad.connected))
        flavour = "rhel" if vm.dialect == "ifcfg" else "debian"
        plan.vms[vm.name] = VmPlan(vm.name, ns, flavour, tuple(ports), vm.icmp_firewall)
    return plan


def neighbour_entries(inv: Inventory) -> int:
    """ARP entries a full matrix over the VMs needs at once: each adapter's on-link peers, plus a gateway.

    Linux keeps one neighbour table for all namespaces (net.ipv4.neigh.default.gc_thresh3, 1024
    by default); past it the kernel drops packets, which would look like unreachable targets.
    """
    from collections import Counter

    from labkit.inventory import network_subnet

    members = Counter(network_subnet(inv, ad.network) for vm in inv.vms for ad in vm.adapters)
    total = 0
    for vm in inv.vms:
        for ad in vm.adapters:
            net = inv.networks[ad.network]
            total += members[network_subnet(inv, ad.network)] - 1
            total += (net.type == "nat" and net.gateway is not None) or net.type == "bridged"
    return total


def _host_ifname(backend_network: str | None, k: int, taken: set[str]) -> str:
    """The host adapter's link is named as on a Linux Workstation host (VMnet8 -> vmnet8), so labkit's
    Workstation host-adapter code drives the lab's host namespace exactly as it drives a real host;
    a network without a VMnet name gets one of its own that no VMnet name can collide with."""
    vnet = (backend_network or "").lower()
    if re.fullmatch(r"vmnet\d{1,2}", vnet) and vnet not in taken:
        return vnet
    return f"lknet{k}"
