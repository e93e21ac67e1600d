"""The matrix engine on the simulated lab: what a cell says about how it was probed."""

from __future__ import annotations

from labkit.backends import open_lab
from labkit.inventory import load_inventory
from labkit.matrix.engine import probe_source
from labkit.model import PingMatrix
from labkit.protocols import CommandResult, GuestTransport
from labkit.topology import Topology
from labkit.observe import observe
from tests.conftest import REPO


class SwitchesChannel:
    """A transport that learns its channel only when it runs something, as FallbackTransport does
    (it tries SSH, finds the guest unreachable, and carries the command over the console)."""

    def __init__(self, inner: GuestTransport) -> None:
        self.inner = inner
        self.kind = "ssh"

    def read_file(self, path: str) -> str:
        return self.inner.read_file(path)

    def write_file(self, path: str, data: str, mode: int = 0o644) -> None:
        self.inner.write_file(path, data, mode)

    def run(self, command: str, timeout: float | None = None) -> CommandResult:
        self.kind = "console"
        return self.inner.run(command, timeout)

    def close(self) -> None:
        self.inner.close()


def test_via_names_the_channel_that_carried_the_probe():
    lab = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
    wrapped = SwitchesChannel(lab.transport("centos"))
    topo = Topology(observe(lab))
    targets = [topo.resolve("router"), topo.resolve("host")]
    spec = PingMatrix(sources=["centos"], targets=["router", "host"], count=1, timeout=1.0)

    class OneTransport:
        def __getattr__(self, name):
            return getattr(lab, name)

        def transport(self, node):
            return wrapped

    cells = probe_source(OneTransport(), "centos", targets, spec)  # type: ignore[arg-type]
    assert {o.via for o in cells.values()} == {"console"}, cells
    assert all(o.verdict == "reachable" for o in cells.values()), cells
