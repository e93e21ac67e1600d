"""A Workstation lab on a Windows laptop, end to end through the lab: capabilities known before it
opens, the tutorial's "disable VMnet8" step, the model's host adapters read from the OS, and the
host as a matrix source pinging with ping.exe in German. This machine is not Windows: the lab is told
`platform="win32"` and its one boundary with the OS, the command runner, answers as Windows would.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from labkit.backends import capabilities
from labkit.backends.transports.local import WindowsTransport
from labkit.backends.workstation.lab import WorkstationLab
from labkit.errors import TransportError
from labkit.inventory import inventory_from_data
from labkit.model import PingMatrix, SetHostAdapter, Step
from labkit.observe import observe
from labkit.protocols import CommandResult
from labkit.runner import run_step
from labkit.yamlsrc import load
from tests.backends.workstation.test_host_adapters import WIN_ADAPTERS, FakeWindows
from tests.conftest import REPO


@pytest.fixture(autouse=True)
def _no_system_root(monkeypatch):
    """Programs by their bare names (powershell.exe, ping.exe) even on a real Windows, where labkit
    would find them in System32: the runners below answer by name."""
    monkeypatch.delenv("SystemRoot", raising=False)
    monkeypatch.delenv("SYSTEMROOT", raising=False)

DATA = REPO / "tests" / "matrix" / "data"


class FakeWindowsHost(FakeWindows):
    """PowerShell as in test_host_adapters, and ping.exe printing German in cp850, as a German Windows does."""

    def __init__(self, pings: dict[str, bytes], **kw) -> None:
        super().__init__(dict(WIN_ADAPTERS), **kw)
        self.pings = pings  # address -> what ping.exe prints (cp850 bytes)

    def run(self, argv: Sequence[str], timeout: float | None = None) -> CommandResult:
        if argv[0] == "ping.exe":
            self.calls.append(list(argv))
            return CommandResult(0, self.pings[argv[-1]].decode("cp850"))
        return super().run(argv, timeout)


# the LAN router answers with its gateway's "Destination host unreachable" (Windows counts it received)
ROUTER_UNREACHABLE = ("\r\nPing wird ausgeführt für 192.168.1.1 mit 32 Bytes Daten:\r\n"
                      "Antwort von 10.0.0.1: Zielhost nicht erreichbar.\r\n"
                      "Antwort von 10.0.0.1: Zielhost nicht erreichbar.\r\n\r\n"
                      "Ping-Statistik für 192.168.1.1:\r\n"
                      "    Pakete: Gesendet = 2, Empfangen = 2, Verloren = 0\r\n    (0% Verlust),\r\n").encode("cp850")


def inventory_data(**backend) -> dict:
    data = load(REPO / "inventory" / "workstation-vmrest.yml").data
    data["backend"] = {"type": "workstation", **backend}
    data["vms"] = []
    return data


@pytest.fixture
def windows_lab():
    host = FakeWindowsHost({"10.0.0.2": (DATA / "windows-de-success.txt").read_bytes(),
                            "203.0.113.10": (DATA / "windows-de-timeout.txt").read_bytes(),
                            "192.168.1.1": ROUTER_UNREACHABLE})
    lab = WorkstationLab(inventory_from_data(inventory_data(), "windows-laptop"), runner=host, platform="win32")
    yield lab, host
    lab.close()


def test_capabilities_are_known_before_the_lab_opens():
    on_host = inventory_from_data(inventory_data(), "x")  # .vmx files: labkit is on the host
    local_vmrest = inventory_from_data(inventory_data(host="127.0.0.1", user="u", password_env="PW"), "x")
    remote_vmrest = inventory_from_data(inventory_data(host="192.0.2.10", user="u", password_env="PW"), "x")
    mac = inventory_from_data({**inventory_data(), "host": {"lan_address": "192.168.1.100", "os": "macos"}}, "x")
    assert capabilities(on_host) == frozenset({"host_adapters", "links", "snapshots"})  # .vmx: startConnected
    assert capabilities(local_vmrest) == frozenset({"host_adapters", "snapshots"})  # snapshots: vmrun, on the host
    assert capabilities(remote_vmrest) == frozenset()
    assert capabilities(mac) == frozenset({"links", "snapshots"})
    # and the lab agrees with the declaration
    from labkit.backends.workstation.vmrest import VmrestClient

    remote = WorkstationLab(remote_vmrest, client=VmrestClient("http://192.0.2.10:8697", "u", "pw"), platform="win32")
    assert remote.host_adapters is None
    remote.close()
    local = WorkstationLab(on_host, runner=FakeWindowsHost({}), platform="win32")
    assert local.host_adapters is not None


def test_the_tutorials_step_disables_vmnet8_and_the_model_sees_it(windows_lab):
    lab, host = windows_lab
    assert observe(lab).host_adapters == {"nat": True, "hostonly": True, "lab2": True}
    step = run_step(Step(name="off", kind="set_host_adapter", spec=SetHostAdapter(network="nat", enabled=False)), lab)
    assert step.ok and step.vms["host"].detail == "changed"
    assert host.adapters["VMware Network Adapter VMnet8"] == "Disabled"
    assert ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command"] == host.calls[-2][:4]
    assert host.calls[-2][-1].endswith("Disable-NetAdapter -Name 'VMware Network Adapter VMnet8' -Confirm:$false")
    assert observe(lab).host_adapters["nat"] is False  # the OS's word, not the inventory's (enabled: true)
    again = run_step(Step(name="off", kind="set_host_adapter", spec=SetHostAdapter(network="nat", enabled=False)), lab)
    assert again.vms["host"].detail == "unchanged"


def test_without_administrator_the_step_fails_for_the_host_alone():
    host = FakeWindowsHost({}, admin=False)
    lab = WorkstationLab(inventory_from_data(inventory_data(), "w"), runner=host, platform="win32")
    step = run_step(Step(name="off", kind="set_host_adapter", spec=SetHostAdapter(network="nat", enabled=False)), lab)
    assert not step.vms["host"].ok and "not running as Administrator" in step.vms["host"].error
    assert host.adapters["VMware Network Adapter VMnet8"] == "Up"


def test_the_host_pings_with_ping_exe_and_german_output_is_read(windows_lab):
    lab, host = windows_lab
    assert isinstance(lab.transport("host"), WindowsTransport)
    spec = PingMatrix(sources=["host"], targets=["nat.gateway", "internet", "router"], count=2, timeout=1,
                      expect="none")
    result = run_step(Step(name="m", kind="ping_matrix", spec=spec), lab)
    assert result.matrix is not None
    seen = {c.target: (c.observed.verdict, c.observed.via) for c in result.matrix.cells}
    assert seen == {"nat.gateway": ("reachable", "local"), "internet": ("unreachable", "local"),
                    "router": ("unreachable", "local")}
    pings = [c for c in host.calls if c[0] == "ping.exe"]
    assert sorted(pings) == sorted([["ping.exe", "-n", "2", "-w", "1000", a]
                                    for a in ("10.0.0.2", "203.0.113.10", "192.168.1.1")])


def test_a_windows_laptop_is_refused_as_a_linux_host():
    data = inventory_data()
    data["host"]["os"] = "linux"
    lab = WorkstationLab(inventory_from_data(data, "w"), runner=FakeWindowsHost({}), platform="win32")
    with pytest.raises(TransportError, match="host.os is linux in the inventory, but labkit runs on windows here"):
        lab.transport("host")
