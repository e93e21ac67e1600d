"""Run a playbook's steps against a Lab and collect per-VM and per-cell results.

Steps run in order; within a step the VMs run in parallel and one VM's failure is recorded for
that VM while the others go on. A failed step does not stop the playbook: later steps still run
and report, because a lab trainer wants the whole picture (exit status 1 says something failed).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from labkit.guest import config as guestnet
from labkit.guest.detect import detect
from labkit.guest.pending import settle
from labkit.dialects import file_dialect
from labkit.errors import BackendError, LabkitError
from labkit.matrix.engine import run_matrix
from labkit.results import (AdapterSummary, NetworkSummary, RunResult, StepResult, TopologySummary, VMResult,
                            VMSummary)
from labkit.model import (
    VM,
    Adapter,
    ConfigureGuest,
    PingMatrix,
    Playbook,
    RestartNetwork,
    RevertSnapshot,
    SetHostAdapter,
    SetLink,
    SetMode,
    Snapshot,
    Step,
    WaitForIp,
)
from labkit.observe import observe
from labkit.netconfig import InterfaceConfig
from labkit.protocols import BatchSetMode, ExplainsNoAddress, GuestTransport, Lab, Snapshots
from labkit.state import LabState

# the steps that act on each of their VMs
VmStep = SetMode | SetLink | ConfigureGuest | RestartNetwork | WaitForIp | Snapshot | RevertSnapshot
Action = Callable[[Lab, VM, Any], str]  # what one VM gets from its step: a detail line, or LabkitError

DEFAULT_ROLLBACK_AFTER = 60.0  # seconds a guest waits for confirmation before restoring its backup


class Progress(Protocol):
    """What a front end hears while a playbook runs (the CLI draws a progress bar from it)."""

    def step(self, step: Step, units: int) -> None: ...  # a step begins; units: sources or VMs

    def advance(self, what: str) -> None: ...  # one unit done


def run_playbook(pb: Playbook, lab: Lab, progress: Progress | None = None, workers: int = 8) -> RunResult:
    result = RunResult(pb.name, lab.backend)
    for step in pb.steps:
        lost = lab.lost  # the backend is gone: the remaining steps are reported, not attempted
        if lost is not None:
            result.steps.append(StepResult(step.name, step.kind, error=f"not run: {lost}"))
            continue
        result.steps.append(run_step(step, lab, workers, progress))
    return result


def run_step(step: Step, lab: Lab, workers: int = 8, progress: Progress | None = None) -> StepResult:
    spec = step.spec
    out = StepResult(step.name, step.kind)
    inv = lab.inventory
    try:
        units = len(spec.sources) if isinstance(spec, PingMatrix) else (
            len(spec.vms) if isinstance(spec, VmStep) else 1)
        if progress:
            progress.step(step, units)
        done = progress.advance if progress else None
        if isinstance(spec, SetHostAdapter):
            out.vms["host"] = _guarded_host(lab, spec)
            if done:
                done("host")
        elif isinstance(spec, PingMatrix):
            state = observe(lab)
            out.topology = _summary(state)
            out.matrix = run_matrix(lab, step.name, spec, state, workers, on_source_done=done)
        elif isinstance(spec, SetMode) and lab.batch is not None:
            out.vms = _set_mode_batch(lab, lab.batch, spec, done)
        else:
            assert isinstance(spec, VmStep)
            action = _ACTIONS[type(spec)]
            with ThreadPoolExecutor(max_workers=max(1, min(workers, len(spec.vms)))) as pool:
                futures = {name: pool.submit(_guarded, action, lab, inv.vm(name), spec, done) for name in spec.vms}
            out.vms = {name: f.result() for name, f in futures.items()}
    except LabkitError as exc:
        out.error = str(exc)
    return out


def _summary(state: LabState) -> TopologySummary:
    """The observed lab as plain strings, kept with a matrix step so a report can draw it."""
    inv = state.inventory

    def text(value: object) -> str | None:
        return None if value is None else str(value)

    nets = tuple(NetworkSummary(name, n.type, n.backend_network,
                                text(n.subnet or (inv.lan.subnet if n.type == "bridged" else None)),
                                text(n.host_adapter.address if n.host_adapter else None),
                                state.host_adapters.get(name), text(n.gateway))
                 for name, n in inv.networks.items())
    vms = tuple(VMSummary(v.name, v.os, v.powered_on,
                          tuple(AdapterSummary(i.name, i.network, text(i.address)) for i in v.ifaces))
                for v in state.vms.values())
    return TopologySummary(inv.lab, str(inv.host.lan_address), str(inv.lan.subnet), str(inv.lan.router),
                           nets, vms, tuple((name, str(e.address)) for name, e in inv.externals.items()))


def _guarded(action: Action, lab: Lab, vm: VM, spec: VmStep, done: Callable[[str], None] | None = None) -> VMResult:
    try:
        return VMResult(True, detail=action(lab, vm, spec))
    except LabkitError as exc:
        return VMResult(False, error=_under(vm.name, str(exc)))
    except OSError as exc:
        return VMResult(False, error=f"{type(exc).__name__}: {exc}")
    finally:
        if done:
            done(vm.name)


def _under(vm: str, message: str) -> str:
    """A message reported under the VM's name, without that name again in front ("web: web: ..."):
    transports start theirs with the guest's name, for callers that do not know it."""
    prefix = f"{vm}: "
    return message[len(prefix):] if message.startswith(prefix) else message


def _guarded_host(lab: Lab, spec: SetHostAdapter) -> VMResult:
    switch = lab.host_adapters
    try:
        if switch is None:
            raise BackendError(f"the {lab.backend} backend cannot switch the host's virtual adapter on "
                               f"{spec.network!r}; switch it on the host and set "
                               f"networks.{spec.network}.host_adapter.enabled in the inventory")
        changed = switch.set_host_adapter(spec.network, spec.enabled)
    except LabkitError as exc:
        return VMResult(False, error=str(exc))
    return VMResult(True, detail="changed" if changed else "unchanged")


def _set_mode(lab: Lab, vm: VM, spec: SetMode) -> str:
    adapter = vm.adapter_or_error(spec.adapter)
    changed = lab.hypervisor.set_adapter_network(vm.name, adapter, spec.mode)
    now = lab.hypervisor.adapter_network(vm.name, adapter)
    if now is None and lab.links is not None and not lab.links.link_connected(vm.name, adapter):
        # an unplugged cable stays out (set_link plugs it): the adapter has no network to read back
        return _moved(adapter, spec.mode, changed) + ", cable unplugged"
    if now != spec.mode:
        raise LabkitError(f"{adapter.interface} is on {now!r} after the change, not {spec.mode!r}")
    return _moved(adapter, spec.mode, changed)


def _set_link(lab: Lab, vm: VM, spec: SetLink) -> str:
    """Plug or unplug the adapter's virtual cable, then read it back (and the network it has now)."""
    adapter = vm.adapter_or_error(spec.adapter)
    links = lab.links
    if links is None:
        raise BackendError(f"the {lab.backend} backend cannot plug or unplug {adapter.interface}'s virtual cable")
    changed = links.set_link(vm.name, adapter, spec.connected)
    if links.link_connected(vm.name, adapter) != spec.connected:
        raise LabkitError(f"{adapter.interface}'s cable is {'out' if spec.connected else 'in'} after the change")
    network = lab.hypervisor.adapter_network(vm.name, adapter)
    if not spec.connected and network is not None:
        raise LabkitError(f"{adapter.interface} still reports network {network!r} with its cable out")
    word = f"plugged in ({network or 'no network'})" if spec.connected else "unplugged"
    return f"{adapter.interface} cable {word} " + ("(changed)" if changed else "(unchanged)")


def _moved(adapter: Adapter, mode: str, changed: bool) -> str:
    return f"{adapter.interface} -> {mode} " + ("(changed)" if changed else "(unchanged)")


def _set_mode_batch(lab: Lab, batch: BatchSetMode, spec: SetMode, done: Callable[[str], None] | None) -> dict[str, VMResult]:
    """One call for all VMs, for a backend that submits tasks from its own bounded pool and waits for
    them together (vSphere); its contract includes reading each VM back to verify, as _set_mode does."""
    results: dict[str, VMResult] = {}
    requests = []
    for name in spec.vms:
        try:
            requests.append((name, lab.inventory.vm(name).adapter_or_error(spec.adapter), spec.mode))
        except LabkitError as exc:
            results[name] = VMResult(False, error=str(exc))
            if done:
                done(name)
    outcomes = batch.set_adapter_networks(requests, on_done=done)
    for name, adapter, mode in requests:
        outcome = outcomes[name]
        if isinstance(outcome, Exception):
            results[name] = VMResult(False, error=str(outcome))
        else:
            results[name] = VMResult(True, detail=_moved(adapter, mode, outcome))
    return {name: results[name] for name in spec.vms}


def _configure(lab: Lab, vm: VM, spec: ConfigureGuest) -> str:
    adapter = vm.adapter_or_error(spec.interface)
    ac = spec.address_config()
    cfg = guestnet.to_interface_config(ac)
    if vm.os == "windows":  # netsh changes the running state: the console, where there is one, stays up
        console = _console_of(lab, vm.name)
        channel = console() if console else lab.transport(vm.name)
        changed = guestnet.configure(channel, "netsh", adapter.connection or adapter.interface, adapter.mac, cfg)
        return _configured(adapter, cfg, "applied" if changed else None, channel)
    channel = lab.transport(vm.name)
    dialect = vm.dialect or detect(channel)
    # an earlier run's unconfirmed change to this file is settled first: never "already so" before a revert
    settled = settle(channel, file_dialect(dialect).path_for(adapter.interface), console=_console_of(lab, vm.name),
                     clock=lab.clock)
    warnings = guestnet.edit_warnings(channel, dialect, adapter.interface, cfg) + ([settled] if settled else [])
    if spec.apply:
        rollback = spec.rollback_after or vm.rollback_after or DEFAULT_ROLLBACK_AFTER
        return guestnet.with_warnings(_safe_apply(lab, vm, adapter, channel, dialect, cfg, rollback), warnings)
    changed = guestnet.configure(channel, dialect, adapter.interface, adapter.mac, cfg)
    return guestnet.with_warnings(_configured(adapter, cfg, "written" if changed else None, channel), warnings)


def _configured(adapter: Adapter, cfg: InterfaceConfig, done: str | None, channel: GuestTransport) -> str:
    """A configure_guest detail line: what the interface got, what was done (None: nothing), and how."""
    what = "dhcp" if cfg.mode == "dhcp" else str(cfg.address)
    return f"{adapter.interface}: {what} ({done or 'already so'}, via {channel.kind})"


def _safe_apply(lab: Lab, vm: VM, adapter: Adapter, channel: GuestTransport, dialect: str, cfg: InterfaceConfig,
                rollback_after: float) -> str:
    from labkit.guest.safeapply import safe_apply

    return safe_apply(channel, dialect, adapter.interface, cfg, rollback_after=rollback_after,
                      find_address=lambda: lab.guest_address(vm.name, adapter.interface),
                      reach=lambda address: lab.network_transport(vm.name, address),
                      console=_console_of(lab, vm.name), clock=lab.clock)


def _console_of(lab: Lab, name: str) -> Callable[[], GuestTransport] | None:
    """The backend's out-of-band console to a VM as a factory, or None when it has none for that VM
    (a backend may have one for some VMs only: vSphere needs guest credentials for VMware Tools)."""
    console = lab.console
    if console is None or not console.reaches(name):
        return None
    return lambda: console.open(name)


def _restart(lab: Lab, vm: VM, spec: RestartNetwork) -> str:
    """Through the backend's console when it has one: a restart over SSH cuts its own session."""
    adapter = vm.adapter_or_error(spec.interface)
    console = _console_of(lab, vm.name)
    channel = console() if console else lab.transport(vm.name)
    dialect = vm.dialect or (None if vm.os == "windows" else detect(channel))
    guestnet.restart(channel, dialect, vm.os, adapter.interface)
    return f"{adapter.interface} restarted (via {channel.kind})"


def _wait_for_ip(lab: Lab, vm: VM, spec: WaitForIp) -> str:
    """Poll the hypervisor's view of the guest until the adapter has an address in its network."""
    from labkit.inventory import network_subnet

    adapter = vm.adapter_or_error(spec.interface)
    clock = lab.clock
    deadline = clock.monotonic() + spec.timeout
    delay = 0.2
    while True:
        network = lab.hypervisor.adapter_network(vm.name, adapter)
        subnet = network_subnet(lab.inventory, network) if network else None
        for nic in lab.hypervisor.guest_nics(vm.name):
            if adapter.mac and nic.mac and nic.mac.lower() != adapter.mac.lower():
                continue
            for addr in nic.addresses:
                if subnet is None or addr.ip in subnet:
                    return f"{adapter.interface}: {addr.with_prefixlen}"
            if adapter.mac:
                break
        if clock.monotonic() >= deadline:
            raise LabkitError(f"{adapter.interface} has no address in {subnet or 'any subnet'} after "
                              f"{spec.timeout:g} s: {_why_no_address(lab, vm, adapter)}")
        clock.sleep(min(delay, max(0.0, deadline - clock.monotonic())))
        delay = min(delay * 2, 5.0)


def _why_no_address(lab: Lab, vm: VM, adapter: Adapter) -> str:
    """The hypervisor's own words for it where it has them (vSphere names vCenter and what Tools
    says), else a plain line naming the backend."""
    hv = lab.hypervisor
    if isinstance(hv, ExplainsNoAddress):
        return hv.no_address_reason(vm.name, adapter)
    nic = f"the NIC with MAC {adapter.mac}" if adapter.mac else adapter.interface
    return f"the {lab.backend} backend reports no IPv4 address on {nic}"


def _snapshots_of(lab: Lab) -> Snapshots:
    if lab.snapshots is None:  # labkit check refuses the step first; a Lab built in code may still lack it
        raise BackendError(f"the {lab.backend} backend cannot take or revert VM snapshots")
    return lab.snapshots


def _snapshot(lab: Lab, vm: VM, spec: Snapshot) -> str:
    """Take the snapshot unless the VM has one of that name (a revert must find exactly one)."""
    if not _snapshots_of(lab).take_snapshot(vm.name, spec.name, spec.description, spec.memory):
        return f"snapshot {spec.name!r} already exists (nothing taken)"
    if not spec.memory:
        return f"snapshot {spec.name!r} taken"
    on = lab.hypervisor.powered_on(vm.name)
    return f"snapshot {spec.name!r} taken, " + ("with the guest's memory" if on else "powered off (no memory to keep)")


def _revert_snapshot(lab: Lab, vm: VM, spec: RevertSnapshot) -> str:
    """Revert, then read the power state back: a snapshot without memory leaves the VM off, and
    power_on starts it. What the adapters and the guest hold is read from the hypervisor by the
    steps after it (observe, wait_for_ip), never carried over from the steps before."""
    snapshots = _snapshots_of(lab)
    names = snapshots.snapshot_names(vm.name)
    if spec.name not in names:
        there = ", ".join(repr(n) for n in names)
        raise LabkitError(f"no snapshot {spec.name!r} to revert to " +
                          (f"(its snapshots: {there})" if names else "(it has no snapshots)"))
    snapshots.revert_snapshot(vm.name, spec.name)
    done = f"reverted to {spec.name!r}"
    if lab.hypervisor.powered_on(vm.name):
        return f"{done}, running (the snapshot kept the guest's memory)"
    if not spec.power_on:
        return f"{done}, powered off (power_on: false)"
    lab.hypervisor.set_power(vm.name, True)
    return f"{done}, powered on"


_ACTIONS: dict[type, Action] = {SetMode: _set_mode, SetLink: _set_link, ConfigureGuest: _configure,
                                RestartNetwork: _restart, WaitForIp: _wait_for_ip, Snapshot: _snapshot,
                                RevertSnapshot: _revert_snapshot}


