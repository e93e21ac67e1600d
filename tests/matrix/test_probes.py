"""How the engine probes a row: the commands a source is sent and the time its row takes on the lab's
clock (the simulated lab charges a lost probe its timeout, as a real one does). No wall-clock limits."""

from __future__ import annotations

import pytest

from labkit.backends import open_lab
from labkit.errors import TransportError
from labkit.inventory import load_inventory
from labkit.matrix import engine
from labkit.model import PingMatrix
from labkit.observe import observe
from labkit.protocols import CommandResult, GuestTransport
from tests.conftest import REPO

TARGETS = ["host", "router", "internet", "centos", "nat2", "host.nat", "host.hostonly"]


@pytest.fixture
def lab():
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    yield lab
    lab.close()


class Wrapped:
    """A source's transport seen through another shell: `refuse` raises as labkit's own Windows
    host does for shell syntax; `answer` stands for a shell that is not cmd (PowerShell)."""

    def __init__(self, inner: GuestTransport, mode: str) -> None:
        self.inner, self.mode, self.kind = inner, mode, "ssh"

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        if "&" in command:
            if self.mode == "refuse":
                raise TransportError(f"host: {command[:20]!r} needs a shell ('&')")
            return CommandResult(1, "", "The token '&&' is not a valid statement separator in this version.\r\n")
        return self.inner.run(command, timeout)

    def read_file(self, path: str) -> str:
        return self.inner.read_file(path)

    def write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        self.inner.write_file(path, data, mode)

    def close(self) -> None:
        self.inner.close()


class Through:
    """The lab, with one node's transport wrapped."""

    def __init__(self, lab, node: str, mode: str) -> None:
        self.lab, self.node, self.wrapped = lab, node, Wrapped(lab.transport(node), mode)

    def __getattr__(self, name):
        return getattr(self.lab, name)

    def transport(self, node):
        return self.wrapped if node == self.node else self.lab.transport(node)


def row(lab, source: str, count: int = 1, timeout: float = 1.0, through=None):
    """Run `source`'s row; (its cells by target, the lab-clock seconds it took, the commands it was sent)."""
    spec = PingMatrix(sources=[source], targets=TARGETS, count=count, timeout=timeout, expect="model")
    guest = lab.world.guest(source)
    sent = len(guest.commands)
    before = lab.clock.monotonic()
    m = engine.run_matrix(through or lab, "m", spec, observe(lab))
    return {c.target: c for c in m.cells}, lab.clock.monotonic() - before, guest.commands[sent:]


def test_a_windows_row_is_one_parallel_batch_of_ping_exe(lab):
    cells, took, sent = row(lab, "win7")
    assert len(sent) == 1 and 'start "" /b ping -n 1 -w 1000 %a' in sent[0]
    assert all(c.ok for c in cells.values()), [(c.target, c.observed) for c in cells.values() if not c.ok]
    lost = [c for c in cells.values() if c.observed.verdict == "unreachable"]
    assert len(lost) >= 2  # win7 is bridged: centos and nat2 sit behind VMware's NAT
    assert took <= 1.0 + 1.0  # one deadline, and the wait loop's one-second step


def test_one_by_one_costs_a_timeout_per_unreachable_target(lab):
    """The sequential fallback, for comparison: the same verdicts, a timeout for each lost target."""
    parallel, took_parallel, _ = row(lab, "win7", count=2, timeout=1.5)
    cells, took, sent = row(lab, "win7", count=2, timeout=1.5, through=Through(lab, "win7", "refuse"))
    assert {t: c.observed.verdict for t, c in cells.items()} == {t: c.observed.verdict for t, c in parallel.items()}
    lost = sum(c.observed.verdict == "unreachable" for c in cells.values())
    assert sent == [f"ping -n 2 -w 1500 {c.address}" for c in sorted(cells.values(), key=lambda c: _key(c.address))]
    assert took >= lost * 2 * 1.5 > took_parallel


def _key(address: str) -> tuple[int, ...]:
    return tuple(int(x) for x in address.split("."))


@pytest.mark.parametrize("mode", ["refuse", "answer"], ids=["no-shell", "another-shell"])
def test_without_cmd_the_windows_row_falls_back_to_one_ping_per_target(lab, mode):
    cells, _, sent = row(lab, "win7", through=Through(lab, "win7", mode))
    assert all(c.ok for c in cells.values())
    assert len(sent) == len({c.address for c in cells.values()}) and all(s.startswith("ping -n 1 ") for s in sent)


def test_more_targets_than_a_line_holds_take_more_lines(lab, monkeypatch):
    monkeypatch.setattr(engine, "WINDOWS_BATCH", 2)
    cells, took, sent = row(lab, "win7")
    assert all(c.ok for c in cells.values())
    assert len(sent) == -(-len({c.address for c in cells.values()}) // 2)
    assert took <= len(sent) * 2.0


def test_a_linux_row_is_one_fping_with_no_question_first(lab):
    cells, _, sent = row(lab, "nat2")
    assert len(sent) == 1 and "fping -q -C 1 -t 1000 -i 1 -r 0 " in sent[0] and "command -v" not in sent[0]
    assert all(c.ok for c in cells.values())


def test_a_linux_guest_without_fping_gets_background_pings_next(lab, monkeypatch):
    guest = lab.world.guest("nat2")
    monkeypatch.setattr(guest, "_tools", {k: v for k, v in guest._tools.items() if k != "fping"})
    cells, took, sent = row(lab, "nat2")
    assert len(sent) == 2 and "fping -q" in sent[0] and "mktemp -d" in sent[1]
    assert all(c.ok for c in cells.values())
    assert took <= 3.0  # the pings ran side by side: one deadline (-w 2), not one per target


def vmrun_console(lab, vm: str, monkeypatch):
    """`vm`'s Workstation console (vmrun's guest operations), with the simulated guest behind vmrun."""
    from labkit.backends.workstation.vmrun import Vmrun
    from labkit.backends.workstation.vmrun_console import VmrunConsole
    from labkit.model import GuestLogin
    from tests.matrix.sim_vmrun import SimVmrun

    monkeypatch.setenv("LABKIT_TEST_GUEST_PW", "not-a-real-one")
    runner = SimVmrun(lab.world.guest(vm))
    console = VmrunConsole(vm, Vmrun("vmrun", runner), f"/vms/{vm}.vmx",
                           GuestLogin(user="labkit", password_env="LABKIT_TEST_GUEST_PW"), os_family="windows")
    return console, runner


def test_a_windows_row_through_the_workstation_console_is_one_vmrun_program(lab, monkeypatch):
    """The vmrun console wraps a command as `cmd.exe /s /c "(COMMAND) <NUL >OUT 2>ERR"`: the parallel
    probe's line must survive that, and still cost one deadline."""
    console, runner = vmrun_console(lab, "win7", monkeypatch)
    through = Through(lab, "win7", "refuse")
    through.wrapped = console
    try:
        cells, took, sent = row(lab, "win7", through=through)
    finally:
        console.close()
    assert all(c.ok for c in cells.values()), [(c.target, c.observed) for c in cells.values() if not c.ok]
    assert {c.observed.via for c in cells.values() if c.address} == {"vmrun"}
    assert runner.calls.count("runProgramInGuest") == 1
    assert len(sent) == 1 and sent[0].startswith("C:\\Windows\\System32\\cmd.exe /s /c \"(cd /d \"%TEMP%\" && md ")
    assert took <= 2.0


def test_an_old_fping_that_refuses_the_short_interval_is_asked_again_at_its_own(lab, monkeypatch):
    from labkit.backends.sim import tools

    guest = lab.world.guest("nat2")
    real = guest._tools["fping"]

    def old_fping(g, argv):  # fping 3 for an ordinary user
        if "-i" in argv:
            return CommandResult(1, "", "fping: these options are too risky for mere mortals.\n")
        return real(g, argv)
    monkeypatch.setattr(guest, "_tools", {**guest._tools, "fping": old_fping})
    assert tools.TOOLS["linux"]["fping"] is real  # only this guest's fping is old
    cells, took, sent = row(lab, "nat2")
    assert len(sent) == 2 and "-i 1 " in sent[0] and "-i " not in sent[1] and "fping -q" in sent[1]
    assert all(c.ok for c in cells.values())
