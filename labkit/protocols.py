"""The boundaries every backend implements, in one place at the bottom of labkit.

A backend is a `Lab`: a `Hypervisor` (adapters, power, what VMware Tools reports), a
`GuestTransport` per node (read a file, write a file atomically, run a command) and a clock.
What only some backends can do is a typed attribute that is either an object or None (a console
that needs no guest networking, a batch set-mode, switching the host's virtual adapters, plugging
an adapter's virtual cable in and out), so the type checker, not a run-time `hasattr`, says where
a missing ability is used. The simulated
backend implements exactly these, which is why everything above them runs unchanged on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from typing import Protocol, runtime_checkable

from labkit.clock import Clock
from labkit.errors import LabkitError
from labkit.model import Adapter, Inventory


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a command left behind: its exit status and both output streams, all kept."""

    exit_status: int
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


@runtime_checkable
class GuestTransport(Protocol):
    """Read a file, write a file atomically, run a command. `kind` names the channel for reports."""

    kind: str

    def read_file(self, path: str) -> str:
        """Return the file's text; raise FileNotFoundError when it does not exist."""
        ...

    def write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        """Replace the file in one step (temp file + rename): readers see the old or the new text, never half."""
        ...

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        """Run a shell command line; a non-zero exit is a result, not an exception."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class GuestNic:
    """One guest NIC as the hypervisor sees it (VMware Tools' guest.net / vmrest nicips)."""

    mac: str | None
    addresses: tuple[IPv4Interface, ...] = field(default_factory=tuple)
    gateway: IPv4Address | None = None


class Hypervisor(Protocol):
    """What labkit asks of VMware (or of its stand-ins): adapters, power, the guest's NICs, and
    whether the host's virtual adapter on a network is enabled (False where there is none)."""

    kind: str

    def adapter_network(self, vm: str, adapter: Adapter) -> str | None:
        """The inventory network name the adapter is on now (None: disconnected)."""
        ...

    def set_adapter_network(self, vm: str, adapter: Adapter, network: str) -> bool:
        """Move the adapter to `network` (an inventory network name); False when already there."""
        ...

    def powered_on(self, vm: str) -> bool: ...

    def set_power(self, vm: str, on: bool) -> bool: ...

    def guest_nics(self, vm: str) -> list[GuestNic]: ...

    def host_adapter_enabled(self, network: str) -> bool: ...

    def close(self) -> None: ...


@runtime_checkable
class ExplainsNoAddress(Protocol):
    """A hypervisor that can say why it reports no address for an adapter, in its own terms and
    naming where it asked (vSphere: Tools not running, the VM off, no NIC with that MAC, as vCenter
    HOST reports). A wait_for_ip that timed out adds it to its message; a hypervisor without it gets
    a plain one naming the backend."""

    def no_address_reason(self, vm: str, adapter: Adapter) -> str: ...


# ---- optional abilities: a Lab has each as an object, or None ---------------------------------

SetModeRequest = tuple[str, Adapter, str]  # (VM name, adapter, inventory network name)


class BatchSetMode(Protocol):
    """Move many adapters in one go (vSphere submits tasks from a bounded pool and waits for them
    together). Per VM: True (changed and read back), False (already so) or the error."""

    def set_adapter_networks(self, requests: list[SetModeRequest],
                             on_done: Callable[[str], None] | None = None) -> dict[str, bool | LabkitError]: ...


class HostAdapters(Protocol):
    """Switch the host's virtual adapter on a network (Workstation's "VMware Network Adapter VMnetN")."""

    def set_host_adapter(self, network: str, enabled: bool) -> bool:
        """False when it already was so; the state is read back."""
        ...


class LinkControl(Protocol):
    """Plug or unplug a VM adapter's virtual cable (VMware's "Connected" checkbox): the adapter stays
    on its network, but while unplugged it has no link, and `adapter_network` says None."""

    def set_link(self, vm: str, adapter: Adapter, connected: bool) -> bool:
        """Plug (True) or unplug (False) the cable; False when it already was so. Read back after the change."""
        ...

    def link_connected(self, vm: str, adapter: Adapter) -> bool:
        """Whether the cable is plugged in now (a powered-off VM's: whether it will be at power on)."""
        ...


class Snapshots(Protocol):
    """Take and restore a VM's named snapshots (a trainer resets the lab between two classes).
    Names are the hypervisor's own (vSphere and Workstation accept any printable text)."""

    def take_snapshot(self, vm: str, name: str, description: str = "", memory: bool = False) -> bool:
        """Take snapshot `name` (with the guest's memory when `memory` and the VM is on); False when the VM
        already has one of that name (nothing taken: names must be unambiguous to revert to)."""
        ...

    def revert_snapshot(self, vm: str, name: str) -> None:
        """Return the VM to snapshot `name`; a missing or ambiguous name is a BackendError naming the ones there are."""
        ...

    def snapshot_names(self, vm: str) -> list[str]:
        """The VM's snapshot names, oldest first (every branch of the tree)."""
        ...


class Console(Protocol):
    """An out-of-band channel to a VM that needs no guest networking (VMware Tools, vmrun, nsenter)."""

    def reaches(self, node: str) -> bool:
        """Whether this VM has one (vSphere: only VMs with a guest_login)."""
        ...

    def open(self, node: str) -> GuestTransport:
        """The VM's console, one per VM for the run."""
        ...


class Lab(Protocol):
    """A run's view of one backend: opened once, closed once.

    Its data members are read-only (properties here): callers only read them, so a backend may
    hold a narrower type (its own hypervisor class, `console = None`) and still be a Lab.
    """

    @property
    def inventory(self) -> Inventory: ...

    @property
    def hypervisor(self) -> Hypervisor: ...

    @property
    def backend(self) -> str: ...

    @property
    def concurrency(self) -> int | None:
        """Most sources worth probing at once (None: the caller's choice)."""
        ...

    @property
    def clock(self) -> Clock:
        """The lab's time: the wall clock, or virtual time in the simulated lab."""
        ...

    @property
    def console(self) -> Console | None: ...

    @property
    def batch(self) -> BatchSetMode | None: ...

    @property
    def host_adapters(self) -> HostAdapters | None: ...

    @property
    def links(self) -> LinkControl | None: ...

    @property
    def snapshots(self) -> Snapshots | None: ...

    @property
    def lost(self) -> str | None:
        """Why the backend itself can no longer be reached (a vCenter that died or froze), so that
        every further call would fail; None while it answers. The runner stops there."""
        ...

    def transport(self, node: str) -> GuestTransport:
        """The channel to `node` (a VM name, "host", "router" or an external), opened once per run."""
        ...

    def network_transport(self, node: str, address: IPv4Address) -> GuestTransport:
        """The guest over the network at `address` and nothing else (safe apply's proof)."""
        ...

    def guest_address(self, node: str, interface: str) -> IPv4Address | None:
        """The address the hypervisor reports for that interface (matched by MAC)."""
        ...

    def close(self) -> None: ...
