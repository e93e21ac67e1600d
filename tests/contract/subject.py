"""What the contract tests are given: a backend's declaration and the lab opened on it.

A `BackendSpec` is a backend as this suite knows it: its name, the capabilities it declares (a test
for a capability it lacks is not collected for it), the channels a matrix probe may report as
`via`, how to open its lab here, and any contract test it is known to fail (xfail, strict). A
`Subject` is that lab opened, with the roles the tests play on it (which VM, which other network).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from labkit.model import Adapter
from labkit.protocols import Lab

CAPABILITIES = frozenset({
    "adapters",       # hypervisor.adapter_network / set_adapter_network
    "power",          # hypervisor.powered_on / set_power
    "guest_nics",     # hypervisor.guest_nics (VMware Tools' view) and lab.guest_address
    "files",          # lab.transport(vm).read_file / write_file
    "commands",       # lab.transport(vm).run keeps exit status, stdout and stderr
    "console",        # lab.console is not None
    "batch",          # lab.batch is not None
    "host_adapters",  # lab.host_adapters is not None
    "links",          # lab.links is not None: an adapter's virtual cable plugged in and out
    "snapshots",      # lab.snapshots is not None: take a VM's named snapshot and revert to it
    "matrix",         # runner.run_step with a PingMatrix probes from inside the guests
})

# Cells whose verdict the model is sure of in every lab of this suite (the tutorial's lab, or one
# mirroring its segments): a VM to its own segment's peer, a VM on the LAN to a VM behind NAT (the
# LAN router has no route to the NAT's private subnet), and a VM on the LAN to the internet.
CELLS: tuple[tuple[str, str, str], ...] = (
    ("centos", "nat2", "reachable"),
    ("win7", "centos", "unreachable"),
    ("win7", "internet", "reachable"),
)


@dataclass
class Subject:
    """One backend's lab under test. Tests restore whatever they change on it."""

    lab: Lab
    other_network: str  # an inventory network `vm`'s first adapter is not on, to move it to
    vm: str = "centos"  # a VM with a running guest: adapters, guest NICs, files, commands, console
    power_vm: str = "nat2"  # the VM the power test switches off and on again
    host_network: str | None = None  # a network with a host virtual adapter, where host_adapters is declared
    cells: tuple[tuple[str, str, str], ...] = CELLS
    violations: Callable[[], list[str]] = list  # what a fake server saw break its definition (none: [])
    spec: BackendSpec | None = None  # set by the `subject` fixture

    @property
    def backend(self) -> BackendSpec:
        assert self.spec is not None, "the `subject` fixture sets spec"
        return self.spec

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def caps(self) -> frozenset[str]:
        return self.backend.caps

    def adapter(self, vm: str | None = None) -> Adapter:
        return self.lab.inventory.vm(vm or self.vm).adapters[0]


@dataclass(frozen=True)
class BackendSpec:
    name: str
    caps: frozenset[str]
    channels: frozenset[str]  # transport kinds a probe of this lab may report as `via`
    open: Callable[[Path], AbstractContextManager[Subject]]  # given a scratch directory
    xfail: Mapping[str, str] = field(default_factory=dict)  # test function name -> why it fails here

    def __post_init__(self) -> None:
        unknown = self.caps - CAPABILITIES
        if unknown:
            raise ValueError(f"backend {self.name}: unknown capabilities {sorted(unknown)}")
