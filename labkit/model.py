"""The lab as the user describes it: inventory and playbook schemas, validated before anything runs.

Plain typed data, no I/O. Every string that may end up in a guest command or config file is
constrained here to a safe alphabet, and every address is an `ipaddress` value, so nothing a user
types reaches a shell-sourced file unvalidated. Cross-field rules (a gateway inside its subnet,
unique names and static addresses, steps naming known VMs) live in inventory.py/playbook.py, where
the file and line of the offending value are known.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
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

from labkit.errors import LabkitError

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _no_control(value: str) -> str:
    """A path as the OS takes it: anything but control characters (NUL, newline, tab, ...)."""
    if _CONTROL.search(value):
        raise ValueError(f"{value!r} is not a usable file path: it holds a control character "
                         "(a path may hold spaces, quotes and any letter, but no newline, tab or NUL)")
    return value


# A name used as an identifier: VMs, networks, externals, interfaces. No spaces, no shell syntax.
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")]
IfName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,14}$")]
# Free text that is shown or matched, never executed: adapter labels, port group names.
Label = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.:/()+-]{0,79}$")]
UserName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_.-]{0,31}$")]
EnvVar = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]{0,63}$")]
GuestPath = Annotated[str, StringConstraints(pattern=r"^/[A-Za-z0-9_./@:+-]{1,200}$")]
Ref = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,80}$")]
VcUser = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.@\\-]{1,64}$")]  # vCenter: user@domain
Mac = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")]
# A file on the machine labkit runs on (an SSH key, known_hosts, a CA, Workstation's networking
# folder): opened by labkit itself, never given to a guest or to any shell, so it may be whatever
# the OS accepts (C:\Users\Jane Doe\.ssh\id_ed25519, ~/Lab Keys/id). Only control characters
# are refused: no OS path needs one, and a newline would be a mistake in the YAML, not a file name.
HostPath = Annotated[str, StringConstraints(min_length=1, max_length=4096), AfterValidator(_no_control)]
FilePath = HostPath  # the former name (it had a no-spaces alphabet): every such path is on this machine
# Where a hypervisor keeps a VM: a vSphere inventory path or a Workstation .vmx path (sent over
# HTTP/SOAP or opened as a file, never given to a shell): the same rule.
HvPath = Annotated[str, StringConstraints(min_length=1, max_length=4096), AfterValidator(_no_control)]

_VS_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_VS_ESCAPE = re.compile(r"%(2[fF]|5[cC]|25)")


def _vsphere_name(value: str) -> str:
    """What vCenter takes as a name: 1 to 80 characters as shown (an escape such as %2f counts as
    one), not only spaces, no control character."""
    if _VS_CONTROL.search(value):
        raise ValueError(f"{value!r} holds a control character, which no vSphere name may")
    if not value.strip():
        raise ValueError("a vSphere name cannot be empty or only spaces")
    if len(_VS_ESCAPE.sub("_", value)) > 80:
        raise ValueError(f"{value[:40]!r}... is longer than the 80 characters vSphere allows in a name")
    return value


def _vsphere_path(value: str) -> str:
    """An inventory path: names as _vsphere_name allows, '/' between them."""
    for part in value.strip("/").split("/"):
        _vsphere_name(part)
    return value


# A vSphere object's name (VM, port group, switch, folder, datacenter, cluster, ESXi host): what
# vCenter accepts, any text of up to 80 characters but no control character ("Prod [VLAN 100]",
# "web#2", "R&D, Zürich"; a '/' may be written as vCenter stores it, %2f). Sent in SOAP requests
# and compared, never given to a shell or written into a guest's files.
VsName = Annotated[str, StringConstraints(min_length=1, max_length=255), AfterValidator(_vsphere_name)]
# A vSphere inventory path (DC0/vm/Lab%2fTest/web#2): such names with '/' between them, a '/'
# inside a name escaped as %2f (as vCenter does).
VsPath = Annotated[str, StringConstraints(min_length=1, max_length=4096), AfterValidator(_vsphere_path)]
# A Windows connection name ("Local Area Connection 2"): spaces allowed, nothing cmd.exe expands.
WinConnection = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.()#*-]{0,79}$")]
Uuid = Annotated[str, StringConstraints(pattern=r"^[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}$")]

# A guest's OS family (what its dialects and ping are), and the host's, which may also be a Mac
# (labkit on the user's own laptop: BSD ping, weak host model).
GuestOs = Literal["linux", "busybox", "windows"]
OsFamily = Literal["linux", "busybox", "windows", "macos"]
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
    backend_network: VsName | None = None  # Workstation vnet (VMnet8) or vSphere port group
    switch: VsName | None = None  # vSphere: the switch the port group is on, when names repeat
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
    # how labkit logs in to the router to ping from it, on backends that do not build one (workstation,
    # vsphere); its address defaults to `router`
    router_ssh: Ssh | None = None


class Host(Strict):
    lan_address: IPv4Address
    os: OsFamily = "linux"  # the machine VMware (and, for its own pings, labkit) runs on
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
    ca_file: HostPath | None = None
    insecure: bool = False  # explicit opt-out of TLS verification (logged as a warning)
    tls: bool | None = None  # Workstation vmrest: https (None: https unless host is loopback)
    datacenter: VsName | None = None  # vSphere: restrict lookups to this datacenter
    workers: StrictInt = Field(default=32, ge=1, le=128)  # vSphere: reconfigure tasks submitted at once
    # vSphere limits, in seconds: a TCP connection and TLS handshake; one call's answer; a task
    # (a reconfigure queued behind others on a busy vCenter) before it is reported still running.
    connect_timeout: float = Field(default=20, gt=0, le=300)
    call_timeout: float = Field(default=120, gt=0, le=3600)
    task_timeout: float = Field(default=900, gt=0, le=86400)
    networking_dir: HostPath | None = None  # Workstation: host networking files (/etc/vmware)
    # Workstation: vmrun's path (C:\Program Files (x86)\VMware\VMware Workstation\vmrun.exe); left out, it
    # is looked for on PATH, then where Workstation or Fusion installs it. Run as an argv list, never a shell.
    vmrun: HostPath | None = None

    @model_validator(mode="after")
    def _tls_settings_need_tls(self) -> Backend:
        # the vmrest client refuses this when the lab is opened; said here, check names the line
        if self.tls is False and (self.ca_file is not None or self.insecure):
            raise field_error("tls", "ca_file and insecure apply to https only; remove them or set tls: true")
        return self


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


# An SSH destination as ssh would take it: an IPv4 address, a host name or an ssh_config alias. It
# never reaches a guest's shell, but it reaches ssh_config lookups and the resolver, so no options
# (a leading '-'), spaces or shell syntax.
SshHost = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}$")]
# ProxyJump as OpenSSH writes it: [user@]host[:port], up to four hops joined by commas; or "none".
_HOP = r"([a-z_][a-z0-9_.-]{0,31}@)?[A-Za-z0-9_][A-Za-z0-9_.-]{0,252}(:[0-9]{1,5})?"
JumpSpec = Annotated[str, StringConstraints(pattern=rf"^{_HOP}(,{_HOP}){{0,3}}$")]


class Ssh(Strict):
    """How labkit logs in to a guest. Left out, user/port/key come from ssh_config (~/.ssh/config or
    config_file), then root and 22; what is written here wins over ssh_config, as ssh's command line does."""

    address: SshHost | None = None  # IPv4 address, host name, or an ssh_config Host alias
    port: StrictInt | None = Field(default=None, ge=1, le=65535)
    user: UserName | None = None
    key_file: FilePath | None = None
    password_env: EnvVar | None = None
    known_hosts: FilePath | None = None
    trust_on_first_use: bool = False  # record an unknown host key in labkit's own known_hosts
    connect_timeout: float = Field(default=10, gt=0, le=300)
    config_file: FilePath | None = None  # an ssh_config read instead of ~/.ssh/config (as ssh -F)
    proxy_jump: JumpSpec | None = None  # jump host(s): [user@]host[:port][,...], or none
    become: Literal["sudo"] | None = None  # a login user that is not root: commands and /etc writes via sudo
    become_password_env: EnvVar | None = None  # sudo's password, by variable name (none: NOPASSWD)

    @model_validator(mode="after")
    def _become(self) -> Ssh:
        if self.become_password_env is not None and self.become is None:
            raise field_error("become_password_env", "a sudo password needs become: sudo")
        if self.proxy_jump is not None and "none" in self.proxy_jump.split(",") and self.proxy_jump != "none":
            raise field_error("proxy_jump", "'none' stands alone (no jump host), not in a chain")
        return self

    def over(self, defaults: Ssh | None) -> Ssh:
        """These settings on top of the lab-wide ones (the inventory's top-level `ssh`): a key set here wins."""
        if defaults is None:
            return self
        merged = defaults.model_dump(exclude_unset=True)
        merged.update(self.model_dump(exclude_unset=True))
        return Ssh.model_validate(merged)


class GuestLogin(Strict):
    """Credentials for the hypervisor's in-guest console (VMware Tools guest operations)."""

    user: Label
    password_env: EnvVar


class VM(Strict):
    name: Name
    backend_name: VsName | None = None  # the VM's name in the hypervisor when it differs
    path: HvPath | None = None  # vSphere inventory path or Workstation .vmx path
    uuid: Uuid | None = None  # vSphere instance UUID
    bios_uuid: Uuid | None = None  # vSphere BIOS UUID (config.uuid: what govc and Ansible call uuid)
    moid: Ref | None = None  # vSphere managed object id (vm-42)
    folder: VsPath | None = None  # vSphere: look the VM up in this folder (inventory path) only
    cluster: VsName | None = None  # vSphere: ... on a host of this cluster only
    esxi_host: VsName | None = None  # vSphere: ... on this ESXi host only
    guest_login: GuestLogin | None = None
    rollback_after: StrictFloat | None = Field(default=None, ge=5, le=3600)  # safe apply default
    os: GuestOs = "linux"
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

    def adapter_or_error(self, ref: str | int | None) -> Adapter:
        """`adapter(ref)`, or a LabkitError naming the VM and the reference (a step's per-VM error)."""
        found = self.adapter(ref)
        if found is None:
            raise LabkitError(f"{self.name} has no adapter {ref!r}")
        return found


class Inventory(Strict):
    lab: Name
    backend: Backend = Backend()
    host: Host
    lan: Lan
    externals: dict[Name, External] = Field(default_factory=dict)
    networks: dict[Name, Network]
    ssh: Ssh | None = None  # lab-wide SSH defaults: each VM's own `ssh` keys win over these
    vms: list[VM] = Field(default_factory=list)

    def vm(self, name: str) -> VM:
        found = self._by_name().get(name)
        if found is None:
            raise KeyError(name)
        return found

    def os_of(self, node: str) -> str:
        """The OS family of a matrix node: a VM's, the host's, else Linux (router, externals)."""
        if node == "host":
            return self.host.os
        found = self._by_name().get(node)
        return found.os if found is not None else "linux"

    def _by_name(self) -> dict[str, VM]:
        """Each VM by name (the first of a name), kept: a thousand-VM matrix looks up every source
        several times. Made again when `vms` is another list or another length (a copy's update)."""
        kept = self.__dict__.get("_vm_index")
        if kept is None or kept[0] is not self.vms or kept[1] != len(self.vms):
            kept = self.__dict__["_vm_index"] = (self.vms, len(self.vms), {vm.name: vm for vm in reversed(self.vms)})
        return kept[2]

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


class SetLink(Strict):
    """Plug (connected: true) or unplug the adapter's virtual cable; it stays on its network."""

    vms: VmList
    adapter: Label | StrictInt = 0  # interface, label or index
    connected: bool


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


# Snapshot names and descriptions go to the hypervisor (a SOAP field on vSphere, an argument of
# vmrun on Workstation) and are shown in reports, never given to a guest or a shell: any printable
# text, as both accept, minus what would mislead a terminal (control characters, line separators,
# bidi overrides, zero-width characters) and, in a name, '/' and '\', which vmrun reads as the path
# from a parent snapshot to its child ('a/b').
_SNAPSHOT_HIDDEN = "\u061c\u200b\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff"
_SNAPSHOT_NAME_BAD = re.compile(f"[\x00-\x1f\x7f-\x9f{_SNAPSHOT_HIDDEN}/\\\\]")
_SNAPSHOT_TEXT_BAD = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_SNAPSHOT_HIDDEN}]")  # newline and tab allowed


def _snapshot_name(value: str) -> str:
    found = _SNAPSHOT_NAME_BAD.search(value)
    if found is not None:
        char = found.group()
        if char in "/\\":
            raise ValueError(f"{value!r}: a snapshot name cannot hold {char!r} (vmrun reads it as the path from "
                             "a parent snapshot to a child); use letters, digits, spaces and other punctuation")
        raise ValueError(f"{value!r}: a snapshot name cannot hold the control or invisible character "
                         f"U+{ord(char):04X}")
    if value != value.strip():
        raise ValueError(f"{value!r}: a snapshot name cannot start or end with a space (it would not match "
                         "the name shown in vSphere or Workstation)")
    return value


def _snapshot_text(value: str) -> str:
    found = _SNAPSHOT_TEXT_BAD.search(value)
    if found is not None:
        raise ValueError(f"a snapshot description cannot hold the control or invisible character "
                         f"U+{ord(found.group()):04X} (newlines and tabs are fine)")
    return value


# A snapshot's name as vSphere and Workstation show it ("before class", "Lab 3: NAT (clean)").
SnapshotName = Annotated[str, StringConstraints(min_length=1, max_length=80), AfterValidator(_snapshot_name)]
SnapshotText = Annotated[str, StringConstraints(max_length=1000), AfterValidator(_snapshot_text)]


class Snapshot(Strict):
    """Take snapshot `name` of each VM (a trainer's "before class"). A VM that already has a snapshot
    of that name keeps it and nothing is taken: a revert must find exactly one."""

    vms: VmList
    name: SnapshotName
    description: SnapshotText = ""  # kept by vSphere (and the simulated lab); vmrun takes none
    memory: bool = False  # also the running guest's memory: a revert then resumes it, running


class RevertSnapshot(Strict):
    """Return each VM to its snapshot `name`. A snapshot taken without memory (or of a powered-off VM)
    leaves the VM powered off after the revert, as VMware does: power_on (the default) then starts
    it, so its guest boots from the snapshot's disk; power_on: false leaves it as the snapshot has it."""

    vms: VmList
    name: SnapshotName
    power_on: bool = True


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
    "set_link": SetLink,
    "configure_guest": ConfigureGuest,
    "restart_network": RestartNetwork,
    "wait_for_ip": WaitForIp,
    "set_host_adapter": SetHostAdapter,
    "ping_matrix": PingMatrix,
    "snapshot": Snapshot,
    "revert_snapshot": RevertSnapshot,
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
