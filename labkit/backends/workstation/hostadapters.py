"""Switching the Workstation host's virtual adapters, and reading their state, on this machine.

The tutorial's key step is "disable VMware Network Adapter VMnet8 on the host": host <-> VM
traffic on NAT stops while the VM still reaches the internet. When labkit runs on the Workstation
host (placement.py), that adapter is one of this machine's: `HostAdapterSwitch` is the lab's
HostAdapters capability, through PowerShell on Windows (winadapters.py) or iproute2 on Linux
(linuxadapters.py, which also takes a disabled adapter's address away and puts the inventory's
back, as the model has it), picked by the OS labkit really runs on. Every change is read back.

The same switch answers `hypervisor.host_adapter_enabled`, so the model starts from what the OS
says, not from what the inventory assumed. Where the OS cannot say (it has no adapter on that
VMnet: vmrest on 127.0.0.1 may be a tunnel to another machine; or the command failed) the
inventory's word is taken and a warning says why, once per network. The OS's listing is reused
for `max_age` seconds (a matrix reads every network at once; PowerShell takes a second to start)
and dropped whenever labkit switches an adapter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from ipaddress import IPv4Interface
from typing import Protocol

from labkit.backends.transports.commands import CommandRunner, LocalRunner
from labkit.backends.workstation.facts import HostNic
from labkit.backends.workstation.linuxadapters import LinuxHostNics
from labkit.backends.workstation.networks import NetworkMap
from labkit.backends.workstation.winadapters import WindowsHostNics
from labkit.errors import BackendError, LabkitError
from labkit.model import Inventory
from labkit.osutil import host_family

log = logging.getLogger(__name__)


class HostNics(Protocol):
    """One OS's way to read and switch its VMware adapters (WindowsHostNics, LinuxHostNics)."""

    def read(self, vnets: Sequence[str]) -> dict[str, HostNic]: ...

    def switch(self, nic: HostNic, enabled: bool) -> None: ...


def host_nics(platform: str | None = None, runner: CommandRunner | None = None,
              addresses: Mapping[str, IPv4Interface] | None = None) -> HostNics | None:
    """This machine's (or `platform`'s) adapters, through `runner` (default: run here, no shell).
    `addresses` (vmnet8 -> 10.0.0.1/24): what a Linux host's adapter gets back when it is enabled."""
    family = host_family(platform)
    if family == "windows":
        return WindowsHostNics(runner or LocalRunner())
    if family == "linux":
        return LinuxHostNics(runner or LocalRunner(), addresses)
    return None


def adapter_addresses(inventory: Inventory) -> dict[str, IPv4Interface]:
    """Each VMnet's host adapter address with its network's prefix, as the inventory has it (already
    checked against the host's networking files when the lab was opened)."""
    out = {}
    for name, (_, vnet) in NetworkMap(inventory).setting.items():
        net = inventory.networks[name]
        if net.host_adapter is not None and net.subnet is not None:
            out[vnet] = IPv4Interface(f"{net.host_adapter.address}/{net.subnet.prefixlen}")
    return out


class HostAdapterSwitch:
    """The HostAdapters capability of a Workstation lab whose host is this machine."""

    def __init__(self, inventory: Inventory, nics: HostNics | None, running_on: str | None, *,
                 max_age: float = 2.0, settle: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.inventory = inventory
        self.nics = nics
        self.vnets = {name: vnet for name, (_, vnet) in NetworkMap(inventory).setting.items()}
        self.max_age, self.settle, self.clock, self.sleep = max_age, settle, clock, sleep
        self._listing: tuple[float, dict[str, HostNic]] | None = None
        self._warned: set[str] = set()
        declared = inventory.host.os
        self.problem: str | None = None  # why this machine's adapters cannot be the host's
        if running_on != declared:
            self.problem = (f"host: host.os is {declared} in the inventory, but labkit runs on "
                            f"{running_on or 'another OS'} here, so this machine is not the Workstation host "
                            "it describes")
        elif nics is None:
            self.problem = f"host: labkit cannot switch a {declared} host's virtual adapters"

    @classmethod
    def for_this_machine(cls, inventory: Inventory, runner: CommandRunner | None = None,
                         platform: str | None = None) -> HostAdapterSwitch:
        return cls(inventory, host_nics(platform, runner, adapter_addresses(inventory)), host_family(platform))

    # ---- reading ----------------------------------------------------------------------------------

    def enabled(self, network: str) -> bool:
        """Whether the host's adapter on `network` is enabled: the OS's word, else the inventory's."""
        net = self.inventory.networks[network]
        if net.host_adapter is None:
            return False
        said = net.host_adapter.enabled
        if self.problem is not None or self.nics is None:
            self._warn(network, f"{self.problem}; taking networks.{network}.host_adapter.enabled ({said})")
            return said
        vnet = self.vnets[network]
        try:
            nic = self._all().get(vnet)
        except LabkitError as exc:
            self._warn(network, f"{exc}; taking networks.{network}.host_adapter.enabled ({said})")
            return said
        if nic is None:
            self._warn(network, f"host: this machine has no VMware adapter on {vnet} (is labkit on the Workstation "
                                f"host?); taking networks.{network}.host_adapter.enabled ({said})")
            return said
        return nic.enabled

    def _all(self) -> dict[str, HostNic]:
        """Every host-adapter network's adapter, one OS query reused for max_age seconds."""
        now = self.clock()
        if self._listing is None or now - self._listing[0] > self.max_age:
            assert self.nics is not None
            wanted = sorted({self.vnets[n] for n, net in self.inventory.networks.items() if net.host_adapter})
            self._listing = (now, self.nics.read(wanted))
        return self._listing[1]

    def _warn(self, network: str, message: str) -> None:
        if network not in self._warned:
            self._warned.add(network)
            log.warning("%s", message)

    # ---- switching (the HostAdapters protocol) ------------------------------------------------------

    def set_host_adapter(self, network: str, enabled: bool) -> bool:
        """Enable or disable the host's adapter on `network`; False when it already was so. Read back."""
        net = self.inventory.networks.get(network)
        if net is None or net.host_adapter is None:
            raise BackendError(f"host: network {network!r} has no host virtual adapter in the inventory")
        if self.problem is not None or self.nics is None:
            raise BackendError(f"{self.problem}; switch the adapter on the host and set "
                               f"networks.{network}.host_adapter.enabled in the inventory")
        vnet = self.vnets[network]
        nic = self._one(vnet)
        if nic is None:
            raise BackendError(f"host: this machine has no VMware adapter on {vnet} (network {network!r}); "
                               "is labkit running on the Workstation host, and does the VMnet have a host "
                               "virtual adapter (Virtual Network Editor)?")
        if nic.enabled == enabled:
            return False
        self._listing = None
        self.nics.switch(nic, enabled)
        deadline = self.clock() + self.settle
        while True:
            now = self._one(vnet)
            if now is not None and now.enabled == enabled:
                break
            if self.clock() >= deadline:
                state = f"is {now.status}" if now is not None else "has gone"
                raise BackendError(f"host: {nic.name!r} was {'enabled' if enabled else 'disabled'} but "
                                   f"{state} {self.settle:g} s later")
            self.sleep(0.25)
        log.info("host: %s (%s, network %s) %s", nic.name, vnet, network, "enabled" if enabled else "disabled")
        return True

    def _one(self, vnet: str) -> HostNic | None:
        assert self.nics is not None
        self._listing = None
        return self.nics.read([vnet]).get(vnet)
