"""What VMware Tools reports about a guest's addresses, read the way labkit needs it.

VMware Tools gives a prefix only with ipConfig (old Tools and vcsim report bare addresses): then
the prefix is the one of the inventory network the address is in, since a /32 would make every
peer look off-link to the model. When no address comes, the reason is said in vSphere's terms
(Tools not running, the VM off, Tools reporting nothing for that MAC) and names the server.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network, ip_address
from typing import Any

from pyVmomi import vim

from labkit.model import Adapter


def addresses(nic: vim.vm.GuestInfo.NicInfo, subnets: list[IPv4Network]) -> list[IPv4Interface]:
    """The NIC's IPv4 addresses, with their prefixes (see the module's docstring)."""
    prefixes: dict[str, int] = {}
    if nic.ipConfig is not None:
        prefixes = {a.ipAddress: a.prefixLength for a in nic.ipConfig.ipAddress or []}
    out: list[IPv4Interface] = []
    for text in nic.ipAddress or []:
        try:
            addr = ip_address(text)
        except ValueError:
            continue
        if isinstance(addr, IPv4Address) and not addr.is_link_local:
            known = prefixes.get(text)
            if known is None:
                known = next((s.prefixlen for s in subnets if addr in s), 32)
            out.append(IPv4Interface(f"{addr}/{known}"))
    return out


def no_address_reason(vm: str, where: str, adapter: Adapter, props: dict[str, Any]) -> str:
    """Why VMware Tools reports no address (props: guest.toolsRunningStatus, guest.net,
    runtime.powerState of the VM described by `vm`)."""
    said = f"as vCenter {where} reports"
    if props.get("runtime.powerState") != "poweredOn":
        return f"VM {vm} is powered off ({said})"
    status = props.get("guest.toolsRunningStatus")
    if status != "guestToolsRunning":
        return f"VMware Tools is not running in VM {vm} ({status or 'status unknown'}, {said})"
    nets = props.get("guest.net") or []
    mac = (adapter.mac or "").lower()
    mine = [n for n in nets if not mac or (n.macAddress or "").lower() == mac]
    seen = sorted({a for n in mine for a in n.ipAddress or []})
    if not mine:
        return f"VMware Tools in VM {vm} reports no NIC with MAC {adapter.mac} ({said})"
    if seen:
        return f"VMware Tools in VM {vm} reports only {', '.join(seen)} ({said})"
    return f"VMware Tools in VM {vm} reports no address for {adapter.interface} ({said})"
