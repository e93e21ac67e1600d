"""The lab as the user describes it: inventory and playbook schemas, validated before anything runs.

Plain typed data, no I/O. Every string that may end up in a guest command or config file is
constrained here to a safe alphabet, and every address is an `ipaddress` value, so nothing a user
types reaches a shell-sourced file unvalidated. Cross-field rules (a gateway inside its subnet,
unique names and static addresses, steps naming known VMs) live in inventory.py/playbook.py, where
the file and line of the offending value are known.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

# A name used as an identifier: VMs, networks, externals, interfaces. No spaces, no shell syntax.
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")]
IfName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,14}$")]
# Free text that is shown or matched, never executed: adapter labels, port group names.
Label = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.:/()+-]{0,79}$")]
UserName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_.-]{0,31}$")]
EnvVar = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]{0,63}$")]
FilePath = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_./~@+:=\\-]{1,255}$")]
GuestPath = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9_./@:+-]{1,200}$")]
Ref = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,80}$")]
VcUser = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@\\-]{1,64}$")]  # vCenter: user@domain
Mac = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")]
# Where a hypervisor keeps a VM: a vSphere inventory path or a Workstation .vmx path (sent over
# HTTP/SOAP or opened as a file, never given to a shell). Spaces and Windows separators allowed.
HvPath = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 _./\\:()+@~-]{1,255}$")]
# A Windows connection name ("Local Area Connection 2"): spaces allowed, nothing cmd.exe expands.
WinConnection = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.()#-]{0,79}$")]
Uuid = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")]

OsFamily = Literal["linux", "busybox", "windows"]
Dialect = Literal["ifcfg", "ifupdown", "nmkeyfile", "netplan", "netsh"]
NetworkType = Literal["nat", "hostonly", "bridged", "custom"]
BackendType = Literal["sim", "netns", "vsphere", "workstation"]

RESERVED = {"host", "router", "all", "model"}


def field_error(field: str, message: str) -> PydanticCustomError:
    """A cross-field error that belongs to one field: validation.py adds `field` to its location."""
    return PydanticCustomError("field_error", "{message}", {"field": field, "message": message})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DhcpPool(Strict):
    server: IPv4Address | None = None
    start: IPv4Address
    end: IPv4Address

    @model_validator(mode="after")
    def _order(self) -> DhcpPool:
        if int(self.start) > int(self.end):
            raise field_error("end", f"pool end {self.end} is before its start {self.start}")
        return self


class HostAdapter(Strict):
    address: IPv4Address
    enabled: bool = True


class Network(Strict):
    """A mode name's network: the backend's name for it plus the segment facts the model needs."""

    type: NetworkType
    backend_network: Label | None = None  # Workstation vnet (VMnet8) or vSphere port group
    switch: Label | None = None  # vSphere: the switch the port group is on, when names repeat
    moid: Ref | None = None  # vSphere: the network's managed object id (e.g. dvportgroup-12)
    subnet: IPv4Network | None = None  # bridged networks take the LAN's
    host_adapter: HostAdapter | None = None
    gateway: IPv4Address | None = None  # the NAT device (nat networks)
    dhcp: DhcpPool | None = None


class Lan(Strict):
    subnet: IPv4Network
    router: IPv4Address
    wan_address: IPv4Address | None = None
    dhcp: DhcpPool | None = None


class Host(Strict):
    lan_address: IPv4Address
    os: OsFamily = "linux"
    icmp_firewall: bool = False  # True: the host drops inbound echo requests


class External(Strict):
    address: IPv4Address


class Backend(Strict):
    """Which hypervisor drives the lab and how to reach it; secrets only by reference."""

    type: BackendType = "sim"
    host: Label | None = None
    port: StrictInt | None = Field(default=None, ge=1, le=65535)
    user: VcUser | None = None
    password_env: EnvVar | None = None
    ca_file: FilePath | None = None
    insecure: bool = False  # explicit opt-out of TLS verification (logged as a warning)
    tls: bool | None = None  # Workstation vmrest: https (None: https unless host is loopback)
    datacenter: Label | None = None  # vSphere: restrict lookups to this datacenter
    workers: StrictInt = Field(default=32, ge=1, le=128)  # vSphere: reconfigure tasks submitted at once
    networking_dir: FilePath | None = None  # Workstation: host networking files (/etc/vmware)


def _prefix_required(value: object) -> object:
    """An address as the user writes it must say its prefix: 10.0.0.101/24, never 10.0.0.101."""
    if isinstance(value, str) and "/" not in value:
        if " " in value.strip():
            raise ValueError(f"{value!r}: write address/prefix (e.g. 10.0.0.101/24), "
                             "not the ifconfig 'address netmask' form")
        raise ValueError(f"{value!r} has no prefix length (write it as {value}/24)")
    return value


class AddressConfig(Strict):
    """An interface's addressing as the user writes it: `dhcp: true`, or address/gateway/dns."""

    dhcp: bool = False
    address: IPv4Interface | None = None
    gateway: IPv4Address | None = None
    dns: list[IPv4Address] = Field(default_factory=list, max_length=8)

    @model_validator(mode="after")
    def _coherent(self) -> AddressConfig:
        if self.dhcp and self.address is not None:
            raise field_error("address", "give either dhcp: true or an address, not both")
        if not self.dhcp and self.address is None:
            raise ValueError("give dhcp: true or an address with its prefix (e.g. 10.0.0.101/24)")
        if self.address is not None:
            net = self.address.network
            if self.address.ip in (net.network_address, net.broadcast_address) and net.prefixlen < 31:
                raise field_error("address", f"{self.address} is the network or broadcast address of {net}")
            if self.gateway is not None and self.gateway not in net:
                raise field_error("gateway", f"gateway {self.gateway} is outside the subnet {net}")
        return self

    @field_validator("address", mode="before")
    @classmethod
    def _needs_prefix(cls, value: object) -> object:
        return _prefix_required(value)


class Adapter(Strict):
    interface: IfName  # the guest's name for it (eth0, ens33); on Windows a short handle for the step
    connection: WinConnection | None = None  # Windows: the connection name netsh knows it by
    label: Label | None = None  # the hypervisor's name ("Network adapter 1")
    mac: Mac | None = None
    network: Name
    connected: bool = True
    config: AddressConfig | None = None  # what the guest is configured with at the start


class Ssh(Strict):
    address: IPv4Address | None = None
    port: StrictInt = Field(default=22, ge=1, le=65535)
    user: UserName = "root"
    key_file: FilePath | None = None
    password_env: EnvVar | None = None
    known_hosts: FilePath | None = None
    trust_on_first_use: bool = False  # record an unknown host key in labkit's own known_hosts
    connect_timeout: float = Field(default=10, gt=0, le=300)


class GuestLogin(Strict):
    """Credentials for the hypervisor's in-guest console (VMware Tools guest operations)."""

    user: Label
    password_env: EnvVar


class VM(Strict):
    name: Name
    backend_name: Label | None = None  # the VM's name in the hypervisor when it differs
    path: HvPath | None = None  # vSphere inventory path or Workstation .vmx path
    uuid: Uuid | None = None  # vSphere instance UUID
    guest_login: GuestLogin | None = None
    rollback_after: StrictFloat | None = Field(default=None, ge=5, le=3600)  # safe apply default
    os: OsFamily = "linux"
    dialect: Dialect | None = None
    icmp_firewall: bool = False
    ssh: Ssh | None = None
    adapters: list[Adapter] = Field(min_length=1, max_length=10)
    files: dict[GuestPath, str] = Field(default_factory=dict)  # seed files for the simulated guest
    powered_on: bool = True

    def adapter(self, ref: str | int | None) -> Adapter | None:
        """The adapter named by index, guest interface name or hypervisor label (None: the first)."""
        if ref is None:
            return self.adapters[0]
        if isinstance(ref, int):
            return self.adapters[ref] if 0 <= ref < len(self.adapters) else None
        return next((a for a in self.adapters if ref in (a.interface, a.label)), None)


class Inventory(Strict):
    lab: Name
    backend: Backend = Backend()
    host: Host
    lan: Lan
    externals: dict[Name, External] = Field(default_factory=dict)
    networks: dict[Name, Network]
    vms: list[VM] = Field(default_factory=list)

    def vm(self, name: str) -> VM:
        for vm in self.vms:
            if vm.name == name:
                return vm
        raise KeyError(name)

    def os_of(self, node: str) -> str:
        """The OS family of a matrix node: a VM's, the host's, else Linux (router, externals)."""
        if node == "host":
            return self.host.os
        return next((vm.os for vm in self.vms if vm.name == node), "linux")

    @property
    def vm_names(self) -> list[str]:
        return [vm.name for vm in self.vms]


# ---- playbooks -------------------------------------------------------------------------------

# no_address: the source or the target has no address when the matrix runs (a lab that breaks
# DHCP on purpose). Such a cell holds when that is what happened (it is then not probed).
Result = Literal["reachable", "unreachable", "no_address"]
VmList = Annotated[list[Name], Field(min_length=1)]


class SetMode(Strict):
    vms: VmList
    adapter: Label | StrictInt = 0  # interface, label or index
    mode: Name


class ConfigureGuest(Strict):
    vms: VmList
    interface: IfName | None = None
    apply: bool = False  # also apply it, safely: confirmed over the network or rolled back by the guest
    rollback_after: StrictFloat | None = Field(default=None, ge=5, le=3600)  # None: the VM's, else 60
    dhcp: bool = False
    address: IPv4Interface | None = None
    gateway: IPv4Address | None = None
    dns: list[IPv4Address] = Field(default_factory=list, max_length=8)

    def address_config(self) -> AddressConfig:
        return AddressConfig(dhcp=self.dhcp, address=self.address, gateway=self.gateway, dns=self.dns)

    @model_validator(mode="after")
    def _coherent(self) -> ConfigureGuest:
        self.address_config()
        if self.address is not None and len(self.vms) > 1:
            raise field_error("vms", "a static address can be given to one VM only")
        return self

    @field_validator("address", mode="before")
    @classmethod
    def _needs_prefix(cls, value: object) -> object:
        return _prefix_required(value)


class RestartNetwork(Strict):
    vms: VmList
    interface: IfName | None = None


class WaitForIp(Strict):
    vms: VmList
    interface: IfName | None = None
    timeout: StrictFloat = Field(default=60, gt=0, le=3600)


class SetHostAdapter(Strict):
    network: Name
    enabled: bool


class CellExpectation(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    source: Ref = Field(alias="from")
    target: Ref = Field(alias="to")
    result: Result


class Expectations(Strict):
    model: bool = False  # cells not listed take the model's prediction
    cells: list[CellExpectation] = Field(default_factory=list)


class PingMatrix(Strict):
    sources: list[Ref] = Field(min_length=1)
    targets: list[Ref] = Field(min_length=1)
    count: StrictInt = Field(default=2, ge=1, le=100)
    timeout: StrictFloat = Field(default=1.0, gt=0, le=60)
    expect: Literal["model", "none"] | Expectations = "model"


STEP_KINDS: dict[str, type[Strict]] = {
    "set_mode": SetMode,
    "configure_guest": ConfigureGuest,
    "restart_network": RestartNetwork,
    "wait_for_ip": WaitForIp,
    "set_host_adapter": SetHostAdapter,
    "ping_matrix": PingMatrix,
}


class Step(Strict):
    name: str
    kind: str
    spec: Strict
    line: int | None = None
    index: int | None = None  # its place in the playbook's steps (error locations); None: built in code


class Playbook(Strict):
    name: str
    path: str
    inventory: str | None
    steps: list[Step]
