"""An adapter's cable on Workstation: in .vmx mode, ethernetN.startConnected edited in the powered-off
VM's file (one line, the rest byte for byte) and read back; vmrest 1.3.0 has no call for it, so a
vmrest lab has no `links` and the set_link step is refused at check time (tests/broken/playbook)."""

from __future__ import annotations

import pytest

from labkit.backends import capabilities
from labkit.backends.workstation.vmx import VmxError, VmxFile, set_start_connected, start_connected
from labkit.errors import BackendError
from labkit.model import SetLink, Step
from labkit.runner import run_step
from tests.backends.workstation.test_vmx import changed_lines, text_of
from tests.backends.workstation.test_workstation_backend import lab, vmx_lab  # noqa: F401 (fixtures)


def test_start_connected_defaults_to_true_and_edits_one_line():
    before = text_of("centos65.vmx")
    vmx = VmxFile.parse(before)
    assert start_connected(vmx, 0) is True  # no ethernet0.startConnected: VMware connects it
    assert set_start_connected(vmx, 0, True) is False
    assert set_start_connected(vmx, 0, False) is True
    assert start_connected(vmx, 0) is False
    assert changed_lines(before, vmx.render()) == ['+ ethernet0.startConnected = "FALSE"\n']
    assert set_start_connected(vmx, 0, True) is True and start_connected(vmx, 0) is True
    with pytest.raises(VmxError, match="no network adapter 5"):
        start_connected(vmx, 5)


def test_mixed_case_keys_are_read_as_vmware_does():
    vmx = VmxFile.parse(text_of("centos65.vmx") + 'Ethernet0.StartConnected = "false"\n')
    assert start_connected(vmx, 0) is False
    assert set_start_connected(vmx, 0, True) is True
    assert vmx.render().endswith('Ethernet0.StartConnected = "TRUE"\n')  # the user's own line, in place


def test_vmx_lab_plugs_and_unplugs_through_the_file(vmx_lab):  # noqa: F811
    lab, vmx = vmx_lab
    eth0 = lab.inventory.vm("centos").adapters[0]
    assert lab.links is lab.hypervisor and "links" in capabilities(lab.inventory)
    assert lab.links.link_connected("centos", eth0) is True
    out = run_step(Step(name="out", kind="set_link", spec=SetLink(vms=["centos"], connected=False)), lab)
    assert out.vms["centos"].ok and out.vms["centos"].detail == "eth0 cable unplugged (changed)"
    assert 'ethernet0.startConnected = "FALSE"' in vmx.read_text()
    assert lab.links.link_connected("centos", eth0) is False
    assert lab.hypervisor.adapter_network("centos", eth0) is None  # no link at power on
    assert lab.links.set_link("centos", eth0, False) is False

    # set_mode on the unplugged adapter: the network changes, the cable stays out
    assert lab.hypervisor.set_adapter_network("centos", eth0, "lab2") is True
    assert lab.hypervisor.adapter_network("centos", eth0) is None

    back = run_step(Step(name="in", kind="set_link", spec=SetLink(vms=["centos"], connected=True)), lab)
    assert back.vms["centos"].detail == "eth0 cable plugged in (lab2) (changed)"
    assert 'ethernet0.startConnected = "TRUE"' in vmx.read_text()
    assert lab.hypervisor.adapter_network("centos", eth0) == "lab2"


def test_a_running_vm_is_refused_and_its_file_untouched(vmx_lab):  # noqa: F811
    lab, vmx = vmx_lab
    eth0 = lab.inventory.vm("centos").adapters[0]
    before = vmx.read_bytes()
    vmx.with_name(vmx.name + ".lck").mkdir()
    with pytest.raises(BackendError, match="running or open in Workstation"):
        lab.links.set_link("centos", eth0, False)
    assert vmx.read_bytes() == before


def test_vmrest_has_no_links(lab):  # noqa: F811
    assert lab.links is None
    assert "links" not in capabilities(lab.inventory)
