"""The Snapshots contract: a name is taken once, a revert brings back the adapter's network as the
hypervisor reports it and leaves a VM snapshotted without memory powered off, a missing name is a
BackendError. The VM is the power test's (it is switched off and on again there too); the snapshot
stays behind (the capability has no delete), under a name of this run's own."""

from __future__ import annotations

import secrets

import pytest

from labkit.errors import BackendError
from tests.contract.subject import Subject


def test_snapshots_are_present_exactly_when_declared(subject: Subject) -> None:
    assert (subject.lab.snapshots is not None) == ("snapshots" in subject.caps)


@pytest.mark.needs("snapshots", "adapters", "power")
def test_a_revert_brings_the_adapter_back_and_leaves_the_vm_off(subject: Subject) -> None:
    lab, vm, other = subject.lab, subject.power_vm, subject.other_network
    snapshots, hv, adapter = lab.snapshots, lab.hypervisor, subject.adapter(subject.power_vm)
    assert snapshots is not None
    before = hv.adapter_network(vm, adapter)
    assert other != before
    name = f"contract {secrets.token_hex(4)}"
    try:
        assert snapshots.take_snapshot(vm, name, "labkit's contract suite") is True
        assert snapshots.take_snapshot(vm, name) is False  # the name is there: nothing taken
        assert snapshots.snapshot_names(vm).count(name) == 1
        assert hv.set_adapter_network(vm, adapter, other) is True
        snapshots.revert_snapshot(vm, name)
        assert hv.adapter_network(vm, adapter) == before  # read back through the hypervisor
        assert hv.powered_on(vm) is False  # taken without memory: VMware leaves the VM off
        with pytest.raises(BackendError, match=name):
            snapshots.revert_snapshot(vm, f"{name} (not taken)")
    finally:
        hv.set_adapter_network(vm, adapter, before)
        hv.set_power(vm, True)
    assert hv.powered_on(vm) is True
