"""`labkit run --check`: what each step of a playbook would change, found by reading the lab only.

A plan reads exactly what a run would look at before it acts, and nothing else: each adapter's
network (Hypervisor.adapter_network) and cable (LinkControl.link_connected), each VM's power, the
host's virtual adapters (Hypervisor.host_adapter_enabled) and the guest's config file
(GuestTransport.read_file). It never writes, runs a guest command, submits a task or changes power,
so it is safe against a lab in use. The new config file comes from labkit.guest.config, the
functions a run renders it with, so the diff shown is the file a run would write.

Steps are planned in order against a projection of the lab: after a planned set_mode the later
steps see the adapter on its new network, and after a planned configure_guest they see the new
file. Each kind has one planner in PLANNERS; a kind without one (a step kind added since) is shown
as "would run KIND (no preview)" and counted as a change, never silently skipped. A VM that cannot
be read is reported as unknown on its own line; the other VMs are planned as usual.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from labkit.errors import BackendError, LabkitError, TransportError
from labkit.guest import config as guestnet
from labkit.model import (VM, Adapter, ConfigureGuest, PingMatrix, Playbook, RestartNetwork, RevertSnapshot,
                          SetHostAdapter, SetLink, SetMode, Snapshot, Step, WaitForIp)
from labkit.plan_results import Plan, PlanItem, StepPlan
from labkit.protocols import Lab

DEFAULT_ROLLBACK_AFTER = 60.0  # as labkit.runner: what a safe apply waits for unless told otherwise
OBSERVES = "(observes only, not run in --check)"


@dataclass(slots=True)
class _Port:
    """A VM adapter's switch port as the plan sees it. `known` is False while the cable is out and
    the backend cannot say which network the port is on (adapter_network is None then)."""

    network: str | None
    connected: bool
    known: bool = True


class Projection:
    """The lab as the steps planned so far would leave it: each fact is read from the lab the first
    time a step needs it, then changed only by the plan. Safe for one thread per VM (as a step plans
    its VMs in parallel): each VM's facts are its own."""

    def __init__(self, lab: Lab, workers: int = 8) -> None:
        self.lab = lab
        self.workers = workers
        self._lock = threading.Lock()
        self._ports: dict[tuple[str, str], _Port] = {}
        self._power: dict[str, bool] = {}
        self._host: dict[str, bool] = {}
        self._files: dict[tuple[str, str], str | None] = {}  # None: no such file
        self._snapshots: dict[str, list[str]] = {}  # VM -> its snapshot names, as the plan leaves them
        self._reverted: dict[str, str] = {}  # VM -> the snapshot a planned revert returns it to

    def _not_reverted(self, vm: str) -> None:
        """After a planned revert the VM's adapters, power and files are the snapshot's, which --check
        cannot read: every later look at them is an unknown, never a guess."""
        name = self._reverted.get(vm)
        if name is not None:
            raise LabkitError(f"a revert to snapshot {name!r} earlier in this plan gives it the snapshot's "
                              "adapters, power and files, which --check does not read")

    def snapshot_names(self, vm: str) -> list[str]:
        """The VM's snapshot names: read once, then with the snapshots the plan takes."""
        snapshots = self.lab.snapshots
        if snapshots is None:
            return []
        with self._lock:
            names = self._snapshots.get(vm)
        if names is None:
            names = snapshots.snapshot_names(vm)
            with self._lock:
                names = self._snapshots.setdefault(vm, names)
        return names

    def take_snapshot(self, vm: str, name: str) -> None:
        with self._lock:
            self._snapshots.setdefault(vm, []).append(name)

    def revert(self, vm: str, name: str) -> None:
        with self._lock:
            self._reverted[vm] = name

    def port(self, vm: str, adapter: Adapter) -> _Port:
        self._not_reverted(vm)
        key = (vm, adapter.interface)
        with self._lock:
            port = self._ports.get(key)
        if port is None:
            links = self.lab.links
            connected = links.link_connected(vm, adapter) if links is not None else True
            network = self.lab.hypervisor.adapter_network(vm, adapter)
            port = _Port(network, connected, known=connected or network is not None)
            with self._lock:
                port = self._ports.setdefault(key, port)
        return port

    def powered_on(self, vm: str) -> bool:
        self._not_reverted(vm)
        with self._lock:
            on = self._power.get(vm)
        if on is None:
            on = self.lab.hypervisor.powered_on(vm)
            with self._lock:
                self._power[vm] = on
        return on

    def host_adapter(self, network: str) -> bool:
        if network not in self._host:
            self._host[network] = self.lab.hypervisor.host_adapter_enabled(network)
        return self._host[network]

    def set_host_adapter(self, network: str, enabled: bool) -> None:
        self._host[network] = enabled

    def file(self, vm: str, path: str) -> str | None:
        """The guest file's text as the plan has it (None: it does not exist); read once, through
        the channel a run would write it through."""
        self._not_reverted(vm)
        key = (vm, path)
        with self._lock:
            if key in self._files:
                return self._files[key]
        try:
            text: str | None = self.lab.transport(vm).read_file(path)
        except FileNotFoundError:
            text = None
        with self._lock:
            self._files[key] = text
        return text

    def set_file(self, vm: str, path: str, text: str) -> None:
        with self._lock:
            self._files[(vm, path)] = text


StepPlanner = Callable[[Projection, Step], list[PlanItem]]
VmPlanner = Callable[[Projection, VM, Any], PlanItem]


def plan_playbook(pb: Playbook, lab: Lab, workers: int = 8) -> Plan:
    """Every step's plan, in order, against one projection of the lab. Reads only."""
    projection = Projection(lab, workers)
    plan = Plan(pb.name, lab.backend)
    for step in pb.steps:
        plan.steps.append(plan_step(step, projection))
    return plan


def plan_step(step: Step, projection: Projection) -> StepPlan:
    out = StepPlan(step.name, step.kind)
    lost = projection.lab.lost
    if lost is not None:  # the backend is gone: nothing more can be read
        out.items.append(PlanItem("unknown", f"not planned: {lost}"))
        return out
    planner = PLANNERS.get(type(step.spec), _no_preview)
    try:
        out.items = planner(projection, step)
    except (LabkitError, OSError) as exc:  # the step as a whole (a host adapter that cannot be read)
        out.items = [PlanItem("unknown", f"cannot read: {exc}")]
    return out


# ---- planners: one function per step kind ------------------------------------------------------


def per_vm(plan_vm: VmPlanner) -> StepPlanner:
    """A step planner that plans each of the step's VMs (in parallel, as a run does) with `plan_vm`;
    a VM that cannot be read is an unknown line of its own, and the others are planned as usual."""

    def plan(projection: Projection, step: Step) -> list[PlanItem]:
        names: list[str] = step.spec.vms  # type: ignore[attr-defined]

        def one(name: str) -> PlanItem:
            try:
                return plan_vm(projection, projection.lab.inventory.vm(name), step.spec)
            except (BackendError, TransportError, OSError) as exc:  # the hypervisor or the guest did not answer
                return PlanItem("unknown", f"{name}: cannot read: {_without(name, exc)}", name)
            except LabkitError as exc:
                return PlanItem("unknown", f"{name}: cannot plan: {_without(name, exc)}", name)

        with ThreadPoolExecutor(max_workers=max(1, min(projection.workers, len(names)))) as pool:
            return list(pool.map(one, names))

    return plan


def _without(name: str, exc: BaseException) -> str:
    """The error's message without a leading "NAME: " (the plan line names the VM already)."""
    text = str(exc) or type(exc).__name__
    return text[len(name) + 2:] if text.startswith(f"{name}: ") else text


def _set_mode(p: Projection, vm: VM, spec: SetMode) -> PlanItem:
    adapter = vm.adapter_or_error(spec.adapter)
    port = p.port(vm.name, adapter)
    head = f"{vm.name}: {adapter.interface}"
    # whether a move plugs the cable back in is the backend's to say (vSphere plugs in a card that is
    # only not connected now), so the line says how the cable is, never how it will be
    cable = "" if port.connected else " (its cable is out)"
    if not port.known:
        port.network, port.known = spec.mode, True
        return PlanItem("unknown", f"{head} ? -> {spec.mode}: its cable is out, so its network cannot be read",
                        vm.name)
    if port.network == spec.mode:
        return PlanItem("same", f"{head} already on {spec.mode}{cable} (no change)", vm.name)
    was, port.network = port.network, spec.mode
    return PlanItem("change", f"{head} {was or 'no network'} -> {spec.mode}{cable}", vm.name)


def _set_link(p: Projection, vm: VM, spec: SetLink) -> PlanItem:
    adapter = vm.adapter_or_error(spec.adapter)
    head = f"{vm.name}: {adapter.interface} cable"
    if p.lab.links is None:
        return PlanItem("unknown", f"{head}: the {p.lab.backend} backend cannot plug or unplug it "
                                   "(a run would fail)", vm.name)
    port = p.port(vm.name, adapter)
    word = {True: "in", False: "out"}
    if port.connected == spec.connected:
        return PlanItem("same", f"{head} already {word[spec.connected]} (no change)", vm.name)
    port.connected = spec.connected
    where = f" ({port.network or 'no network'})" if spec.connected and port.known else ""
    return PlanItem("change", f"{head} {word[not spec.connected]} -> {word[spec.connected]}{where}", vm.name)


def _configure(p: Projection, vm: VM, spec: ConfigureGuest) -> PlanItem:
    adapter = vm.adapter_or_error(spec.interface)
    cfg = guestnet.to_interface_config(spec.address_config())
    what = "dhcp" if cfg.mode == "dhcp" else str(cfg.address)
    if vm.os == "windows":  # netsh: no file to read, and --check runs no command in a guest
        connection = adapter.connection or adapter.interface
        return PlanItem("unknown", f"{vm.name}: {connection} -> {what} with netsh (no preview: Windows keeps "
                                   "no config file to read)", vm.name)
    if not p.powered_on(vm.name):
        return PlanItem("unknown", f"{vm.name}: cannot read: it is powered off", vm.name)
    dialect = vm.dialect
    if dialect is None:
        return PlanItem("unknown", f"{vm.name}: cannot read: the inventory names no dialect, and --check does "
                                   "not run the command that detects it (set dialect: for this VM)", vm.name)
    path = guestnet.config_path(dialect, adapter.interface)
    old = p.file(vm.name, path)
    if old is None and spec.apply:
        return PlanItem("unknown", f"{vm.name}: {path} does not exist, and a safe apply (apply: true) starts "
                                   "from the current file: a run would fail", vm.name, path)
    # exactly what labkit.guest.config.configure writes (safe apply edits the same way)
    new = (guestnet.render_new(dialect, adapter.interface, adapter.mac, cfg) if old is None
           else guestnet.edited(dialect, old, adapter.interface, cfg))
    if new == old:
        return PlanItem("same", f"{vm.name}: {path} already says {what} (no change)", vm.name, path)
    p.set_file(vm.name, path, new)
    if old is None:
        n = len(new.splitlines())
        text = f"{vm.name}: {path} would be created ({n} line{'s' if n != 1 else ''})"
    else:
        n = changed_lines(old, new)
        text = f"{vm.name}: {path} would change ({n} line{'s' if n != 1 else ''})"
    if spec.apply:
        rollback = spec.rollback_after or vm.rollback_after or DEFAULT_ROLLBACK_AFTER
        text += f", then be applied safely (rolled back unless confirmed within {rollback:g} s)"
    return PlanItem("change", text, vm.name, path, unified_diff(vm.name, path, old, new))


def _restart(p: Projection, vm: VM, spec: RestartNetwork) -> PlanItem:
    adapter = vm.adapter_or_error(spec.interface)
    if not p.powered_on(vm.name):
        return PlanItem("unknown", f"{vm.name} is powered off: restarting {adapter.interface} would fail", vm.name)
    how = ""  # the command, when the inventory says how (otherwise a run detects the dialect first)
    if vm.os == "windows" or vm.dialect is not None:
        how = f" ({guestnet.restart_command(vm.dialect, vm.os, adapter.interface)})"
    return PlanItem("change", f"would restart {adapter.interface} on {vm.name}{how}", vm.name)


def _host_adapter(p: Projection, step: Step) -> list[PlanItem]:
    spec = step.spec
    assert isinstance(spec, SetHostAdapter)
    net = p.lab.inventory.networks[spec.network]
    head = f"host adapter {net.backend_network or spec.network}"
    word = {True: "enabled", False: "disabled"}
    now = p.host_adapter(spec.network)
    if now == spec.enabled:
        return [PlanItem("same", f"{head}: already {word[now]} (no change)")]
    if p.lab.host_adapters is None:
        return [PlanItem("unknown", f"{head}: {word[now]} -> {word[spec.enabled]}, but the {p.lab.backend} "
                                    "backend cannot switch it (a run would fail)")]
    p.set_host_adapter(spec.network, spec.enabled)
    return [PlanItem("change", f"{head}: {word[now]} -> {word[spec.enabled]}")]


def _observes(p: Projection, step: Step) -> list[PlanItem]:
    spec = step.spec
    if isinstance(spec, PingMatrix):
        what = f"a {len(spec.sources)} x {len(spec.targets)} ping matrix"
    elif isinstance(spec, WaitForIp):
        what = f"wait_for_ip on {', '.join(spec.vms)}"
    else:
        what = step.kind
    return [PlanItem("observe", f"would run {what} {OBSERVES}")]


def _no_preview(p: Projection, step: Step) -> list[PlanItem]:
    """A kind this module has no planner for: it may change anything, so it counts as a change."""
    return [PlanItem("change", f"would run {step.kind} (no preview)")]


def _snapshot(p: Projection, vm: VM, spec: Snapshot) -> PlanItem:
    if p.lab.snapshots is None:
        return PlanItem("unknown", f"{vm.name}: the {p.lab.backend} backend cannot take snapshots (a run would fail)",
                        vm.name)
    if spec.name in p.snapshot_names(vm.name):
        return PlanItem("same", f"{vm.name}: snapshot {spec.name!r} already exists (nothing taken)", vm.name)
    p.take_snapshot(vm.name, spec.name)
    memory = " with the guest's memory" if spec.memory else ""
    return PlanItem("change", f"{vm.name}: would take snapshot {spec.name!r}{memory}", vm.name)


def _revert_snapshot(p: Projection, vm: VM, spec: RevertSnapshot) -> PlanItem:
    if p.lab.snapshots is None:
        return PlanItem("unknown", f"{vm.name}: the {p.lab.backend} backend cannot revert snapshots (a run would "
                                   "fail)", vm.name)
    names = p.snapshot_names(vm.name)
    if spec.name not in names:
        there = f"its snapshots: {', '.join(repr(n) for n in names)}" if names else "it has no snapshots"
        return PlanItem("unknown", f"{vm.name}: no snapshot {spec.name!r} to revert to ({there}; a run would "
                                   "fail)", vm.name)
    p.revert(vm.name, spec.name)
    then = ", then power it on if the snapshot leaves it off" if spec.power_on else ""
    return PlanItem("change", f"{vm.name}: would revert to snapshot {spec.name!r}{then}", vm.name)


PLANNERS: dict[type, StepPlanner] = {
    SetMode: per_vm(_set_mode),
    SetLink: per_vm(_set_link),
    ConfigureGuest: per_vm(_configure),
    RestartNetwork: per_vm(_restart),
    SetHostAdapter: _host_adapter,
    WaitForIp: _observes,
    PingMatrix: _observes,
    Snapshot: per_vm(_snapshot),
    RevertSnapshot: per_vm(_revert_snapshot),
}


# ---- the config file's change, as lines and as a diff --------------------------------------------


def changed_lines(old: str, new: str) -> int:
    """How many lines a run would change: per changed block, the larger of the lines it removes and
    the lines it adds (a value rewritten in place is one line)."""
    matcher = difflib.SequenceMatcher(None, old.splitlines(), new.splitlines(), autojunk=False)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal")


# a key that holds a secret in any dialect's file (nmkeyfile psk=, ifupdown wpa-psk, netplan password:)
_SECRET = re.compile(r"^([ +-]\s*[\w.-]*(?:psk|passw(?:or)?d|secret|wep-key\d?)[\w.-]*(?:\s*[=:]\s*|\s+))\S.*$",
                     re.IGNORECASE)


def unified_diff(vm: str, path: str, old: str | None, new: str) -> str:
    """A unified diff from the file as it is (None: absent) to what a run would write, labelled
    with the VM; a line without a newline at the end of the file is marked as diff(1) marks it, and
    the value of a secret-looking key (a Wi-Fi PSK, a password) is never shown."""
    lines = difflib.unified_diff((old or "").splitlines(keepends=True), new.splitlines(keepends=True),
                                 fromfile="/dev/null" if old is None else f"{vm}:{path} (now)",
                                 tofile=f"{vm}:{path} (after the run)")
    out: list[str] = []
    for n, line in enumerate(lines):
        if n >= 2 and not line.startswith("@@"):  # past the two file headers: a content line
            line = _SECRET.sub(r"\1(hidden)", line.rstrip("\n")) + ("\n" if line.endswith("\n") else "")
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)
