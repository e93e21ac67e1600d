"""Real guests for the contract suite: netns labs of their own, and SSH into them from outside.

vcsim and the fake vmrest have no guests. Each backend under test that needs some gets a netns lab
of its own (a copy of inventory/seed-netns.yml under another lab name, so its namespaces never meet
those of the netns tests or of another backend), as tests/backends/vsphere/test_guestops.py pairs
vcsim with a netns guest. The guests are disposable: whatever a test writes into them goes with
the lab at the end of the session.
"""

from __future__ import annotations

import copy
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from ipaddress import IPv4Interface

from labkit.backends.netns.lab import NetnsHypervisor
from labkit.backends.netns.nsexec import socket_in_netns
from labkit.inventory import inventory_from_data
from labkit.model import Inventory
from labkit.protocols import GuestNic
from labkit.yamlsrc import load
from tests.backends.netns.conftest import NETNS_INVENTORY, lab_built


def seed_netns_as(lab: str) -> Inventory:
    """inventory/seed-netns.yml under another lab name (and so other namespaces)."""
    data = copy.deepcopy(load(NETNS_INVENTORY).data)
    data["lab"] = lab
    return inventory_from_data(data, f"{NETNS_INVENTORY} as lab {lab}")


@contextmanager
def netns_lab(lab: str) -> Iterator[Inventory]:
    """The seed netns lab built as `lab` (leftovers of a crashed run removed first), always torn down."""
    inv = seed_netns_as(lab)
    with lab_built(inv):
        yield inv


class Guests:
    """What the guests of a netns lab hold right now, read from their namespaces (never from labkit's
    backend under test)."""

    def __init__(self, inv: Inventory) -> None:
        self.inventory = inv
        self.hv = NetnsHypervisor(inv)  # reads the lab's state file: PIDs, namespaces, keys
        self.state = self.hv.state

    def nics(self, vm: str) -> list[GuestNic]:
        return self.hv.guest_nics(vm)

    def address(self, vm: str) -> IPv4Interface | None:
        """The first IPv4 address of the VM's first addressed NIC."""
        return next((a for nic in self.nics(vm) for a in nic.addresses), None)

    def by_mac(self, mac: str) -> GuestNic | None:
        """The NIC with this MAC in any guest of the lab."""
        for vm in self.state["vms"]:
            for nic in self.nics(vm):
                if nic.mac and nic.mac.lower() == mac.lower():
                    return nic
        return None

    def pid(self, vm: str) -> int:
        pid = self.state["vms"][vm]["init_pid"]
        assert pid, f"netns guest {vm} is powered off"
        return int(pid)

    @property
    def key_file(self) -> str:
        return f"{self.state['dir']}/id_ed25519"

    def host_key(self, vm: str) -> str:
        return str(self.state["vms"][vm]["host_key"])


class SshForwarder:
    """127.0.0.1:PORT on this machine -> port 22 of a guest, dialled from the lab's host namespace
    at the address the guest holds when the connection is made (as a jump host would)."""

    def __init__(self, host_ns: str, address: Callable[[], str | None]) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.host_ns, self.address = host_ns, address
        threading.Thread(target=self._accept, name=f"ssh-forward-{self.port}", daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:  # closed
                return
            target = self.address()
            try:
                if target is None:
                    raise OSError("the guest has no address")
                upstream = socket_in_netns(self.host_ns, target, 22, 5)
            except OSError:
                conn.close()
                continue
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    def close(self) -> None:
        self.server.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
