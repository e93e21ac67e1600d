"""What a source of discovery reports, before it becomes an inventory: one shape for every source.

vmrest, a folder of .vmx files, vCenter and an Ansible inventory each know different parts of a
lab. Each reader (vmrest.py, vmx.py, vsphere.py, ansible.py) fills these plain records with what
its source says, in the source's own names ("CentOS 6.5", "VM Network", "vmnet8"), and leaves the
rest None; compose.py alone decides labkit's names, what becomes a placeholder and which comment
explains what. So the rules for "what cannot be discovered" are written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any, Literal

NetType = Literal["nat", "hostonly", "bridged", "custom"]


@dataclass
class FoundNet:
    """A network VMs can be put on. `key` is the source's own id for it (what FoundNic.network
    names); `name` the name labkit should give it if free ("nat", "VM Network")."""

    key: str
    name: str
    type: NetType | None  # None: the source cannot tell (a placeholder)
    backend_network: str | None = None
    switch: str | None = None
    moid: str | None = None
    subnet: IPv4Network | None = None
    subnet_note: str | None = None  # where the subnet came from, when it was inferred
    host_adapter: IPv4Address | None = None
    host_adapter_enabled: bool = True
    gateway: IPv4Address | None = None
    dhcp: tuple[IPv4Address, IPv4Address, IPv4Address | None] | None = None  # start, end, server
    notes: list[str] = field(default_factory=list)


@dataclass
class FoundNic:
    network: str | None  # a FoundNet.key; None: on no network the source names
    label: str | None = None
    mac: str | None = None
    connected: bool = True
    seen: tuple[IPv4Interface, ...] = ()  # addresses VMware Tools reports on it
    gateway: IPv4Address | None = None
    interface: str | None = None  # the guest's name for it, when the source knows it
    notes: list[str] = field(default_factory=list)


@dataclass
class FoundVm:
    name: str  # the source's name for it ("CentOS 6.5", "web1.example.com")
    ids: dict[str, Any] = field(default_factory=dict)  # VM fields that find it: path, moid, backend_name
    os: Literal["linux", "windows"] | None = None
    os_note: str | None = None  # what the OS was read from ("guestOS windows7-64")
    dialect_hint: str | None = None  # a likely dialect, said in the comment, never written
    powered_on: bool | None = None
    nics: list[FoundNic] = field(default_factory=list)
    ssh: dict[str, Any] = field(default_factory=dict)  # Ssh fields, from the source's own names
    notes: list[str] = field(default_factory=list)  # comment lines above the VM


@dataclass
class Found:
    """One source's view of the lab."""

    source: str  # said in the file's header: "vmrest at http://127.0.0.1:8697/api"
    command: str  # the discover command that wrote it, for the header
    system: str  # whose names the found names are: "Workstation", "vSphere", "the Ansible inventory"
    backend: dict[str, Any]  # the inventory's backend section
    backend_type_known: bool = True  # False (Ansible): backend.type is a placeholder
    host_os: str | None = None
    host_os_note: str | None = None
    lan_subnet: IPv4Network | None = None
    lan_router: IPv4Address | None = None
    lan_note: str | None = None
    networks: list[FoundNet] = field(default_factory=list)
    vms: list[FoundVm] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # header lines
    warnings: list[str] = field(default_factory=list)  # printed by the command

    def network(self, key: str) -> FoundNet | None:
        return next((n for n in self.networks if n.key == key), None)
