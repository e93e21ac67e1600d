"""What vmrest and .vmx discovery share: a Workstation host's VMnets as inventory networks, an
adapter's setting as the VMnet it is on, the host's OS, and the LAN as a bridged guest sees it.

Networks are named the way the shipped inventories name them: VMnet0 `bridged`, VMnet1 `hostonly`,
VMnet8 `nat` (the types' own VMnets), any other VMnet by its own name (`vmnet2`). Their facts come
from the host (its networking files, else vmrest's /vmnet), through the backend's own readers
(`labkit.backends.workstation.facts.VnetFacts`), so discover and a run read a host the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from labkit.backends.workstation.facts import VnetFacts
from labkit.backends.workstation.networks import DEFAULT_VNET
from labkit.backends.workstation.vmx import vnet_name
from labkit.discover.found import FoundNet, FoundVm, NetType
from labkit.osutil import host_family

NAME_OF_DEFAULT = {vnet: kind for kind, vnet in DEFAULT_VNET.items()}  # vmnet8 -> nat
_DEFAULT_TYPE: dict[str, NetType] = {"vmnet0": "bridged", "vmnet1": "hostonly", "vmnet8": "nat"}
_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")


def vnet_number(vnet: str) -> int:
    return int(vnet.removeprefix("vmnet"))


def networks(facts: Iterable[VnetFacts], used: Iterable[str], said_by: str | None) -> list[FoundNet]:
    """One FoundNet per VMnet the host reports or an adapter uses, in VMnet order. `said_by` names
    where the facts come from (None: nothing reported them)."""
    by_vnet = {f.name.lower(): f for f in facts}
    out = []
    for vnet in sorted(set(by_vnet) | {v for v in used if vnet_name(v)}, key=vnet_number):
        fact = by_vnet.get(vnet)
        shown = "VMnet" + vnet.removeprefix("vmnet")
        net = FoundNet(key=vnet, name=NAME_OF_DEFAULT.get(vnet, vnet), type=_type(vnet, fact), backend_network=shown)
        if fact is None:
            net.notes.append(f"{shown}: used by a VM; "
                             + ("the host does not list it" if said_by else "its facts are not known here (no vmrest, "
                                "no networking files: --networking-dir)"))
            if vnet not in NAME_OF_DEFAULT:
                net.notes.append("type custom (a private segment) unless it is a NAT or bridged VMnet")
        else:
            net.subnet = fact.subnet
            net.host_adapter = fact.host_address
            net.host_adapter_enabled = fact.host_adapter_enabled is not False
            net.gateway = fact.gateway
            if fact.dhcp is not None:
                net.dhcp = (fact.dhcp.start, fact.dhcp.end, fact.dhcp.server)
            if fact.type != "bridged":
                net.notes.append(f"{shown}, as {said_by} has it" + _assumed(fact))
        out.append(net)
    return out


def _assumed(fact: VnetFacts) -> str:
    """The facts that are Workstation's defaults rather than read from the host, said in words."""
    words = {"host_address": "the host adapter (.1)", "gateway": "the NAT device (.2)", "dhcp": "the DHCP pool"}
    said = [text for key, text in words.items() if key in fact.assumed and (key != "gateway" or fact.type == "nat")]
    if not said:
        return ""
    if len(said) == 1:
        return f"; {said[0]} is Workstation's default, not reported"
    return f"; {', '.join(said[:-1])} and {said[-1]} are Workstation's defaults, not reported"


def _type(vnet: str, fact: VnetFacts | None) -> NetType:
    if fact is not None:
        return fact.type
    return _DEFAULT_TYPE.get(vnet, "custom")


def host_os(paths: Iterable[str], here: bool) -> tuple[str | None, str | None]:
    """The Workstation host's OS: Windows when the VMs' paths are Windows paths; else this machine's
    when labkit runs on the host (`here`); else unknown (host.os then takes its default)."""
    if any(_WINDOWS_PATH.match(p) for p in paths):
        return "windows", "the VMs' paths are Windows paths"
    if here:
        family = host_family()
        if family is not None:
            return family, "labkit runs on the Workstation host"
    return None, None


def lan_from_bridged(vms: list[FoundVm],
                     bridged: set[str]) -> tuple[IPv4Network | None, IPv4Address | None, str | None]:
    """The LAN's subnet and router as bridged guests see it (their addresses from VMware Tools):
    (subnet, router, how it was found), or Nones when no bridged guest reports one or they disagree."""
    seen: list[tuple[str, IPv4Interface, IPv4Address | None]] = [
        (vm.name, nic.seen[0], nic.gateway) for vm in vms for nic in vm.nics if nic.network in bridged and nic.seen]
    if not seen:
        return None, None, None
    name, address, gateway = seen[0]
    if any(a.network != address.network for _, a, _ in seen[1:]):
        said = ", ".join(f"{n} {a}" for n, a, _ in seen)
        return None, None, f"bridged guests report addresses in different subnets ({said}): say which is the LAN"
    router = gateway if gateway is not None and gateway in address.network else None
    note = (f"subnet{' and router' if router else ''} from {name}'s address {address}"
            f"{f' (gateway {router})' if router else ''} on a bridged network, as VMware Tools reports it: check them")
    return address.network, router, note
