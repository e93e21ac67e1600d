"""Discover a Workstation lab through vmrest: its VMs, their NICs and MACs, and the host's VMnets.

Everything is read with the backend's own client (labkit.backends.workstation.vmrest), so the
TLS rules, the password from an environment variable and the error messages are the ones a run
has. Only GET requests are sent. Per VM: its .vmx path (what the inventory finds it by), display
name, guestOS (vmrest answers it from the .vmx; when it does not, the OS is left to fill in),
power state, NICs, and for a running VM what VMware Tools reports of its addresses (a hint beside
the placeholder for the guest's addressing, and the LAN when a bridged guest has one).

The VMnets' facts come from the host's networking files when they are here (--networking-dir, or
/etc/vmware on a Linux host running vmrest on loopback), else from vmrest's /vmnet, whose host
adapter, NAT device and DHCP pool are Workstation's defaults (said so in a comment).
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from labkit.backends.workstation.hostfiles import read_host_networks
from labkit.backends.workstation.hostnet import DEFAULT_NETWORKING_DIR
from labkit.backends.workstation.networks import vnet_of
from labkit.backends.workstation.placement import is_loopback
from labkit.backends.workstation.vmrest import VmrestClient
from labkit.discover import workstation
from labkit.discover.found import Found, FoundNic, FoundVm
from labkit.discover.guestos import guest_os
from labkit.model import Backend
from labkit.protocols import GuestNic


def discover(backend: Backend, networking_dir: Path | None = None) -> Found:
    """What vmrest (reached as `backend` says) and the host's files report. InputError: bad
    settings or files (nothing asked); BackendError: vmrest unreachable or refusing."""
    host = backend.host or "127.0.0.1"
    here = is_loopback(host)
    if networking_dir is None and here and (DEFAULT_NETWORKING_DIR / "networking").is_file():
        networking_dir = DEFAULT_NETWORKING_DIR
    client = VmrestClient.from_backend(backend)
    try:
        vms = [_vm(client, entry.id, entry.path) for entry in client.list_vms()]
        if networking_dir is not None:
            facts, said_by = read_host_networks(networking_dir), f"the host's networking files in {networking_dir}"
        else:
            facts, said_by = client.vmnets(), "vmrest's /vmnet"
        source = f"vmrest at {client.url}"
    finally:
        client.close()
    settings = backend.model_dump(exclude_defaults=True, exclude={"workers", "connect_timeout", "call_timeout",
                                                                  "task_timeout"})
    settings["type"] = "workstation"
    if networking_dir is not None and networking_dir != DEFAULT_NETWORKING_DIR:
        settings["networking_dir"] = str(networking_dir.resolve())
    used = {nic.network for vm in vms for nic in vm.nics if nic.network}
    found = Found(source=source, command="labkit discover vmrest", system="Workstation", backend=settings,
                  networks=workstation.networks(facts, used, said_by), vms=vms)
    found.host_os, found.host_os_note = workstation.host_os((str(vm.ids["path"]) for vm in vms), here)
    bridged = {n.key for n in found.networks if n.type == "bridged"}
    found.lan_subnet, found.lan_router, found.lan_note = workstation.lan_from_bridged(vms, bridged)
    return found


def _vm(client: VmrestClient, vm_id: str, path: str) -> FoundVm:
    display = client.display_name(vm_id) or _stem(path)
    guest = guest_os(client.param(vm_id, "guestOS"), "guestOS")
    powered_on = client.power_state(vm_id) == "poweredOn"
    seen = {g.mac: g for g in client.nic_ips(vm_id)} if powered_on else {}
    vm = FoundVm(name=display, ids={"path": path}, os=guest.os, os_note=guest.note, dialect_hint=guest.dialect_hint,
                 powered_on=powered_on)
    for nic in client.nics(vm_id):
        tools = seen.get(nic.mac) if nic.mac else None
        vm.nics.append(_nic(nic.index, nic.type, nic.vmnet, nic.mac, tools))
    return vm


def _nic(index: int, kind: str, vmnet: str, mac: str | None, tools: GuestNic | None) -> FoundNic:
    return FoundNic(network=vnet_of(kind, vmnet), label=f"Network adapter {index}", mac=mac,
                    seen=tools.addresses if tools else (), gateway=tools.gateway if tools else None)


def _stem(path: str) -> str:
    pure = PureWindowsPath(path) if "\\" in path else PurePosixPath(path)
    return pure.stem or path
