"""The vSphere backend (ESXi/vCenter through pyvmomi) behind the Hypervisor protocol.

One session per run, opened on first use (or by `resolve_all` when the lab is opened) and logged
out in close(). A login or lookup failure is remembered, so 50 VMs do not try a wrong password 50
times (and lock the account); a lost vCenter is remembered by the session's Link (session.py),
so every later call fails at once. Moving many VMs is one batch: reconfigure tasks are submitted
from a bounded pool of `backend.workers` threads (vCenter answers a submit at once, vcsim only
after its delay: threads are right for both), then waited for together for at most
`backend.task_timeout`; each VM gets its own outcome and is read back to verify.

Errors here are about one VM and are reported under its name, so they do not start with it;
they name the vSphere objects (VM, host, network, task) by name and moid instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pyVmomi import vim, vmodl

from labkit.errors import BackendError, InputError, InputErrors, LabkitError
from labkit.model import Adapter, Inventory
from labkit.protocols import GuestNic
from labkit.backends.vsphere import nics
from labkit.backends.vsphere.cards import Placed, read_cards
from labkit.backends.vsphere.catalog import Catalog, read_catalog
from labkit.backends.vsphere.connection import Session, connect, disconnect, link_for
from labkit.backends.vsphere.finder import FoundVm
from labkit.backends.vsphere.guestnet import addresses, no_address_reason
from labkit.backends.vsphere.lookup import NetTarget
from labkit.backends.vsphere.props import fault_message, retrieve
from labkit.backends.vsphere.tasks import outcomes

Request = tuple[str, Adapter, str]  # (VM name, adapter, inventory network name)


class VsphereHypervisor:
    kind = "vsphere"

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.backend = inventory.backend
        self.workers = inventory.backend.workers
        # the subnets the inventory knows, narrowest first: the prefix of a bare guest address
        self._subnets = sorted({s for s in [inventory.lan.subnet, *(n.subnet for n in inventory.networks.values())]
                                if s is not None}, key=lambda s: -s.prefixlen)
        self._lock = threading.Lock()
        self._link = link_for(inventory.backend)
        self._session: Session | None = None
        self._failure: LabkitError | None = None
        self._catalog: Catalog | None = None
        self._vms: dict[str, FoundVm] = {}

    # ---- session and lookups ----

    @property
    def lost(self) -> str | None:
        """Why vCenter is unreachable (every later call fails at once), or None while it answers."""
        return self._link.lost

    def session(self) -> Session:
        with self._lock:
            if self._failure is not None:
                raise self._failure
            if self._session is None:
                try:
                    self._session = self._open()
                except LabkitError as exc:
                    self._failure = exc
                    raise
            return self._session

    def _open(self) -> Session:
        session = connect(self.backend, self._link, pool=self.workers)
        try:
            self._catalog = read_catalog(session, self.inventory)
        except LabkitError:
            disconnect(session)
            raise
        return session

    @property
    def _targets(self) -> dict[str, NetTarget]:
        return self._catalog.targets if self._catalog is not None else {}

    def resolve_all(self) -> None:
        """Find every network and VM of the inventory now, before anything changes. Bad input (a
        name several networks or VMs fit, a folder or cluster that does not exist) raises
        InputError(s); a VM not found, or vSphere not reachable, is left for the steps to report."""
        try:
            self.session()
        except InputError:
            raise
        except LabkitError:
            return
        problems: list[InputError] = []
        for vm in self.inventory.vms:
            try:
                self._vm(vm.name)
            except InputError as exc:
                problems.append(exc)
            except LabkitError:
                pass
        if problems:
            raise problems[0] if len(problems) == 1 else InputErrors(problems)

    def _vm(self, name: str) -> tuple[Session, FoundVm]:
        session = self.session()
        with self._lock:
            found = self._vms.get(name)
        if found is None:
            assert self._catalog is not None  # session() opened the session, which read the catalog
            try:
                with session.link.doing(f"looking {name} up"):
                    found = self._catalog.finder.find(self.inventory.vm(name))
            except vmodl.MethodFault as exc:
                raise BackendError(f"looking the VM up failed: {fault_message(exc)}") from None
            with self._lock:
                self._vms[name] = found
        return session, found

    def _placed(self, adapters: dict[str, Adapter]) -> dict[str, Placed | LabkitError]:
        """Each VM's adapter as vSphere has it now, all read in one round trip."""
        session = self.session()
        out: dict[str, Placed | LabkitError] = {}
        wanted: dict[str, tuple[FoundVm, Adapter]] = {}
        for name, adapter in adapters.items():
            try:
                wanted[name] = (self._vm(name)[1], adapter)
            except LabkitError as exc:
                out[name] = exc
        listed = ", ".join(list(wanted)[:3]) + (f" and {len(wanted) - 3} more" if len(wanted) > 3 else "")
        with session.link.doing(f"reading the network adapters of {listed}"):
            out.update(read_cards(session.content, wanted))
        return out

    def _one(self, name: str, adapter: Adapter) -> Placed:
        placed = self._placed({name: adapter})[name]
        if isinstance(placed, LabkitError):
            raise placed
        return placed

    def _card(self, name: str, adapter: Adapter) -> tuple[Session, vim.VirtualMachine, nics.EthernetCard, bool]:
        """(session, the VM, the adapter's device, whether the VM is on): benchmarks/bench_vsphere.py
        builds its one-at-a-time baseline on this."""
        placed = self._one(name, adapter)
        return self.session(), placed.vm.obj, placed.card, placed.on

    def _network_of(self, placed: Placed, plugged_or_not: bool = False) -> str | None:
        """The inventory network the card is on; None while its cable is out, unless `plugged_or_not`."""
        if not plugged_or_not and not nics.connected(placed.card, placed.on):
            return None
        return next((mode for mode, t in self._targets.items() if nics.on_target(placed.card, t)), None)

    # ---- the Hypervisor protocol ----

    def adapter_network(self, vm: str, adapter: Adapter) -> str | None:
        return self._network_of(self._one(vm, adapter))

    def set_adapter_network(self, vm: str, adapter: Adapter, network: str) -> bool:
        outcome = self.set_adapter_networks([(vm, adapter, network)])[vm]
        if isinstance(outcome, LabkitError):
            raise outcome
        return outcome

    def set_adapter_networks(self, requests: list[Request],
                             on_done: Callable[[str], None] | None = None) -> dict[str, bool | LabkitError]:
        """Move many adapters; per VM: True (changed and verified), False (already so) or the error.
        Each pool thread reads its VM's adapter and submits the task (reads overlap the submits a
        busy vCenter is slow to answer); the tasks are waited for together and every adapter is
        read back in one call."""
        outcomes: dict[str, bool | LabkitError] = {}
        wanted = {vm: (adapter, network) for vm, adapter, network in requests}

        def finish(vm: str, outcome: bool | LabkitError) -> None:
            outcomes[vm] = outcome
            if on_done:
                on_done(vm)

        tasks: dict[str, vim.Task] = {}
        with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(wanted)))) as pool:
            submitted = {vm: pool.submit(self._submit, vm, adapter, network) for vm, (adapter, network) in wanted.items()}
            for vm, future in submitted.items():
                try:
                    task = future.result()
                except (LabkitError, OSError) as exc:
                    finish(vm, _as_error(exc))
                    continue
                if task is None:
                    finish(vm, False)
                else:
                    tasks[vm] = task
        ended = self._wait(tasks, "reconfigure")
        done = [vm for vm in tasks if ended[vm] is None]
        for vm in tasks:
            error = ended[vm]
            if error is not None:
                finish(vm, error)
        for vm, placed in self._placed_or_error({vm: wanted[vm][0] for vm in done}).items():
            if isinstance(placed, LabkitError):
                finish(vm, placed)
                continue
            now, network = self._network_of(placed, plugged_or_not=nics.unplugged(placed.card)), wanted[vm][1]
            if now == network:
                finish(vm, True)
            else:
                finish(vm, BackendError(f"{wanted[vm][0].interface} is on {now!r} after the change, not {network!r}"))
        return {vm: outcomes[vm] for vm in wanted}

    def _placed_or_error(self, adapters: dict[str, Adapter]) -> dict[str, Placed | LabkitError]:
        """_placed, with a failure of the whole read (no session, a lost vCenter) given to each VM."""
        if not adapters:
            return {}
        try:
            return self._placed(adapters)
        except LabkitError as exc:
            return {vm: exc for vm in adapters}

    def _wait(self, tasks: dict[str, vim.Task], what: str) -> dict[str, LabkitError | None]:
        """Wait for the tasks (key -> task): per key None (the task succeeded) or the error."""
        if not tasks:
            return {}
        return outcomes(self.session(), tasks, what, self.backend.task_timeout)

    def run_task(self, vm: str, doing: str, refused: str, submit: Callable[[], vim.Task], what: str) -> None:
        """Submit one task for `vm` (`doing` names it while vCenter is asked) and wait for it: a fault at
        submit is a BackendError that starts with `refused`; a failed or timed-out task is its error."""
        session = self.session()
        try:
            with session.link.doing(doing):
                task = submit()
        except vmodl.MethodFault as exc:
            raise BackendError(f"{refused}: {fault_message(exc) or type(exc).__name__}") from None
        error = self._wait({vm: task}, what)[vm]
        if error is not None:
            raise error

    def _submit(self, vm: str, adapter: Adapter, network: str) -> vim.Task | None:
        """Submit the reconfigure task, or None when the adapter is already there and connected (or
        unplugged: an unplugged adapter moves with its cable out, which is set_link's to plug in).
        Nothing is submitted when the VM's host does not carry the network."""
        target = self._target(network)
        placed = self._one(vm, adapter)
        out = nics.unplugged(placed.card)  # its cable stays out (set_link's): the backing alone moves
        if nics.on_target(placed.card, target) and (out or nics.connected(placed.card, placed.on)):
            return None
        session, found = self.session(), placed.vm
        assert self._catalog is not None  # session() read it
        with session.link.doing(f"checking {vm}'s ESXi host"):
            refusal = self._catalog.hosts.refusal(f"VM {found.describe()}", placed.host, target)
        if refusal is not None:
            raise BackendError(refusal)
        try:
            with session.link.doing(f"reconfiguring {vm}"):
                return found.obj.Reconfigure(spec=nics.edit_spec(placed.card, target, not out))  # ReconfigVM_Task
        except vmodl.MethodFault as exc:
            raise BackendError(f"vCenter refused the reconfigure of {found.describe()}: "
                               f"{fault_message(exc) or type(exc).__name__}") from None

    def _target(self, network: str) -> NetTarget:
        self.session()
        try:
            return self._targets[network]
        except KeyError:
            raise BackendError(f"no inventory network {network!r}") from None

    def powered_on(self, vm: str) -> bool:
        session, found = self._vm(vm)
        with session.link.doing(f"reading {vm}'s power state"):
            state = _props(session, found, ["runtime.powerState"]).get("runtime.powerState")
        return bool(state == "poweredOn")

    def set_power(self, vm: str, on: bool) -> bool:
        if self.powered_on(vm) == on:
            return False
        session, found = self._vm(vm)
        word = "power on" if on else "power off"
        try:
            with session.link.doing(f"{word.replace('power', 'powering')} {vm}"):
                task = found.obj.PowerOn(host=None) if on else found.obj.PowerOff()  # PowerOnVM_Task, ...
        except vmodl.MethodFault as exc:
            raise BackendError(f"vCenter refused to {word} {found.describe()}: "
                               f"{fault_message(exc) or type(exc).__name__}") from None
        error = self._wait({vm: task}, word)[vm]
        if error is not None:
            raise error
        return True

    def guest_nics(self, vm: str) -> list[GuestNic]:
        """What VMware Tools reports (guest.net): IPv4 addresses per MAC, with prefixes when known."""
        session, found = self._vm(vm)
        with session.link.doing(f"reading {vm}'s guest addresses"):
            nets = _props(session, found, ["guest.net"]).get("guest.net") or []
        return [GuestNic((nic.macAddress or "").lower() or None, tuple(addresses(nic, self._subnets)))
                for nic in nets]

    def no_address_reason(self, vm: str, adapter: Adapter) -> str:
        """Why the hypervisor reports no address for the adapter, in vSphere's words and naming the
        server (for a wait_for_ip that timed out)."""
        try:
            session, found = self._vm(vm)
            with session.link.doing(f"reading {vm}'s VMware Tools status"):
                props = _props(session, found, ["guest.toolsRunningStatus", "guest.net", "runtime.powerState"])
        except LabkitError as exc:
            return str(exc)
        return no_address_reason(found.describe(), session.link.where, adapter, props)

    def host_adapter_enabled(self, network: str) -> bool:
        """vSphere gives the machine running labkit no virtual adapter on its port groups."""
        return False

    def close(self) -> None:
        with self._lock:
            session, self._session = self._session, None
            self._vms.clear()
        if session is not None:
            disconnect(session)


def _as_error(exc: Exception) -> LabkitError:
    """A dropped connection is that VM's failure, worded like the others."""
    if isinstance(exc, LabkitError):
        return exc
    return BackendError(f"vSphere connection failed: {type(exc).__name__}: {exc}")


def _props(session: Session, vm: FoundVm, paths: list[str]) -> dict[str, Any]:
    try:
        found = retrieve(session.content, [vm.obj], vim.VirtualMachine, paths)
    except vmodl.fault.ManagedObjectNotFound:
        raise BackendError(f"the VM {vm.describe()} is gone from vSphere") from None
    except vmodl.MethodFault as exc:
        raise BackendError(f"reading {', '.join(paths)} of {vm.describe()} failed: {fault_message(exc)}") from None
    return found[0][1] if found else {}

