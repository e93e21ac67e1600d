"""The Hypervisor contract: adapters, power, what VMware Tools reports, batch moves, host adapters,
an adapter's cable."""

from __future__ import annotations

import pytest

from labkit.inventory import network_subnet
from tests.contract.subject import Subject


@pytest.mark.needs("adapters")
def test_set_adapter_network_reads_back_and_is_idempotent(subject: Subject) -> None:
    hv, vm, adapter, other = subject.lab.hypervisor, subject.vm, subject.adapter(), subject.other_network
    before = hv.adapter_network(vm, adapter)
    assert before == adapter.network  # the lab starts as the inventory says
    assert other != before
    try:
        assert hv.set_adapter_network(vm, adapter, other) is True
        assert hv.adapter_network(vm, adapter) == other
        assert hv.set_adapter_network(vm, adapter, other) is False  # already there: nothing to do
        assert hv.adapter_network(vm, adapter) == other
    finally:
        hv.set_adapter_network(vm, adapter, before)
    assert hv.adapter_network(vm, adapter) == before


@pytest.mark.needs("adapters", "links")
def test_unplugged_adapter_has_no_network_and_plugs_back_onto_its_own(subject: Subject) -> None:
    lab, vm, adapter, other = subject.lab, subject.vm, subject.adapter(), subject.other_network
    links, hv = lab.links, lab.hypervisor
    assert links is not None
    before = hv.adapter_network(vm, adapter)
    assert links.link_connected(vm, adapter) is True
    try:
        assert links.set_link(vm, adapter, False) is True
        assert links.link_connected(vm, adapter) is False
        assert hv.adapter_network(vm, adapter) is None  # no link: the model sees it disconnected
        assert links.set_link(vm, adapter, False) is False  # already out
        hv.set_adapter_network(vm, adapter, other)  # a set_mode moves it and leaves the cable out
        assert links.link_connected(vm, adapter) is False
        assert hv.adapter_network(vm, adapter) is None
        hv.set_adapter_network(vm, adapter, before)
        assert links.set_link(vm, adapter, True) is True
        assert links.link_connected(vm, adapter) is True
        assert hv.adapter_network(vm, adapter) == before
        assert links.set_link(vm, adapter, True) is False
    finally:
        links.set_link(vm, adapter, True)
        hv.set_adapter_network(vm, adapter, before)
    assert hv.adapter_network(vm, adapter) == before


@pytest.mark.needs("power")
def test_power_off_and_on_is_idempotent(subject: Subject) -> None:
    hv, vm = subject.lab.hypervisor, subject.power_vm
    assert hv.powered_on(vm) is True
    try:
        assert hv.set_power(vm, False) is True
        assert hv.powered_on(vm) is False
        assert hv.set_power(vm, False) is False
        assert hv.powered_on(vm) is False
    finally:
        on = hv.set_power(vm, True)
    assert on is True
    assert hv.powered_on(vm) is True
    assert hv.set_power(vm, True) is False


@pytest.mark.needs("guest_nics")
def test_guest_nics_are_matched_by_mac_and_agree_with_guest_address(subject: Subject) -> None:
    lab, vm, adapter = subject.lab, subject.vm, subject.adapter()
    assert adapter.mac, f"{vm}'s first adapter needs a MAC in the inventory for this test"
    nics = lab.hypervisor.guest_nics(vm)
    mine = [nic for nic in nics if nic.mac == adapter.mac.lower()]
    assert len(mine) == 1, nics
    network = lab.hypervisor.adapter_network(vm, adapter)
    assert network is not None
    subnet = network_subnet(lab.inventory, network)
    assert subnet is not None, f"network {network} has no subnet in the inventory"
    inside = [a for a in mine[0].addresses if a.ip in subnet]
    assert inside, (mine[0], subnet)
    assert lab.guest_address(vm, adapter.interface) == inside[0].ip


@pytest.mark.needs("batch")
def test_batch_moves_several_adapters_and_reads_them_back(subject: Subject) -> None:
    lab, batch, other = subject.lab, subject.lab.batch, subject.other_network
    assert batch is not None
    vms = [subject.vm, subject.power_vm]
    before: dict[str, str] = {}
    for vm in vms:
        now = lab.hypervisor.adapter_network(vm, subject.adapter(vm))
        assert now is not None and now != other, (vm, now)
        before[vm] = now
    done: list[str] = []
    try:
        out = batch.set_adapter_networks([(vm, subject.adapter(vm), other) for vm in vms], on_done=done.append)
        assert out == {vm: True for vm in vms}
        assert sorted(done) == sorted(vms)
        assert {vm: lab.hypervisor.adapter_network(vm, subject.adapter(vm)) for vm in vms} == {vm: other for vm in vms}
        again = batch.set_adapter_networks([(vm, subject.adapter(vm), other) for vm in vms])
        assert again == {vm: False for vm in vms}
    finally:
        back = batch.set_adapter_networks([(vm, subject.adapter(vm), net) for vm, net in before.items()])
    assert back == {vm: True for vm in vms}
    assert {vm: lab.hypervisor.adapter_network(vm, subject.adapter(vm)) for vm in vms} == before


@pytest.mark.needs("host_adapters")
def test_host_adapter_off_and_on_is_idempotent(subject: Subject) -> None:
    lab, net = subject.lab, subject.host_network
    assert net is not None, "a backend declaring host_adapters names a network with one"
    switch, hv = lab.host_adapters, lab.hypervisor
    assert switch is not None
    assert hv.host_adapter_enabled(net) is True
    try:
        assert switch.set_host_adapter(net, False) is True
        assert hv.host_adapter_enabled(net) is False
        assert switch.set_host_adapter(net, False) is False
        assert hv.host_adapter_enabled(net) is False
    finally:
        on = switch.set_host_adapter(net, True)
    assert on is True
    assert hv.host_adapter_enabled(net) is True
