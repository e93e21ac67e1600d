"""The runner: steps in order, one VM's failure kept to that VM, a lost backend stops the work."""

from __future__ import annotations

from labkit.backends import open_lab
from labkit.inventory import load_inventory
from labkit.model import Playbook, SetMode, Step
from labkit.runner import run_playbook
from tests.conftest import REPO


class LosesItsBackend:
    """The simulated lab, whose backend is declared lost after the first step (as a vCenter that
    dies mid-playbook): everything else is the real lab."""

    def __init__(self) -> None:
        self.inner = open_lab(load_inventory(REPO / "inventory" / "seed-lab.yml"))
        self.calls = 0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    @property
    def lost(self) -> str | None:
        self.calls += 1
        return "vCenter at 127.0.0.1:8989 is unreachable since step one" if self.calls > 1 else None


def test_steps_after_the_backend_is_lost_are_reported_not_run():
    lab = LosesItsBackend()
    steps = [Step(name=n, kind="set_mode", spec=SetMode(vms=["nat2"], mode=m))
             for n, m in (("one", "hostonly"), ("two", "nat"), ("three", "bridged"))]
    result = run_playbook(Playbook(name="pb", path="pb.yml", inventory=None, steps=steps), lab)  # type: ignore[arg-type]
    assert [s.ok for s in result.steps] == [True, False, False]
    assert result.steps[1].error == "not run: vCenter at 127.0.0.1:8989 is unreachable since step one"
    # nothing was attempted after the loss: the adapter is where step one put it
    nat2 = lab.inner.inventory.vm("nat2")
    assert lab.inner.hypervisor.adapter_network("nat2", nat2.adapters[0]) == "hostonly"
