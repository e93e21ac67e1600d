"""Where labkit runs relative to the Workstation host, decided from the inventory alone (no I/O).

What follows from it: whether the host's own virtual adapters ("VMware Network Adapter VMnet8")
can be switched, whether the matrix's "host" is this machine, and whether vmrun (a console into
the guests, snapshots) can be used. All need labkit on the Workstation host itself: vmrest on a
loopback address, or no vmrest at all (.vmx files are edited here, so the VMs are here). vmrest
on another address is another machine, which labkit has no channel to. `capabilities()` says so before a lab is opened, so `labkit check` can refuse
a step the lab could not do (labkit.backends.capabilities).

This module imports nothing heavy: the package's __init__ uses it, and `labkit check` must not
import httpx.
"""

from __future__ import annotations

import ipaddress

from labkit.model import Backend, Inventory

# host.os values whose virtual adapters labkit can switch: PowerShell's NetAdapter cmdlets (or
# netsh) on Windows, iproute2 on Linux. VMware Fusion on a Mac keeps its own vmnet tooling.
SWITCHABLE_HOST_OS = ("windows", "linux")


def is_loopback(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 (brackets allowed): this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def uses_vmrest(backend: Backend) -> bool:
    """vmrest mode (backend.user or password_env given), else .vmx files."""
    return bool(backend.user or backend.password_env)


def on_the_host(inventory: Inventory) -> bool:
    """labkit runs on the Workstation host: vmrest on loopback, or .vmx files edited here."""
    b = inventory.backend
    return not uses_vmrest(b) or is_loopback(b.host or "127.0.0.1")


def capabilities(inventory: Inventory) -> frozenset[str]:
    """What a Workstation lab opened from `inventory` has beyond the Lab protocol: `host_adapters`
    when labkit runs on the host and the host is Windows or Linux; `links` (an adapter's cable) in
    .vmx mode only, as ethernetN.startConnected (vmrest 1.3.0 has no call that connects or
    disconnects a NIC); when labkit runs on the host, vmrun's `snapshots`, and its `console`
    (VMware Tools' guest operations, which vmrest lacks) once some VM has a guest_login. vmrun
    itself is looked for when first used (no I/O here): a missing one is that step's error. Never
    a batch set-mode."""
    caps = set()
    here = on_the_host(inventory)
    if here and inventory.host.os in SWITCHABLE_HOST_OS:
        caps.add("host_adapters")
    if not uses_vmrest(inventory.backend):
        caps.add("links")
    if here:  # vmrun drives the VMs of the machine it runs on only
        caps.add("snapshots")
        if any(vm.guest_login is not None for vm in inventory.vms):
            caps.add("console")
    return frozenset(caps)
