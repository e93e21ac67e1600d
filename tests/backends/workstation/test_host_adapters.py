"""The host's VMnet adapters: captured Windows and Linux outputs parsed, the exact argv lists labkit
builds (no shell; a name with spaces is one element, or one quoted literal inside PowerShell's one
-Command element), and HostAdapterSwitch over a runner that plays the host's OS.

No Windows here and no vmnet8 on this machine: the runners below answer as PowerShell, netsh and
iproute2 do (their outputs captured from real hosts' formats), at the one boundary labkit has with
the OS, `CommandRunner.run(argv)`.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence

import pytest

from labkit.backends.transports.commands import LocalRunner
from labkit.backends.workstation.facts import HostNic
from labkit.backends.workstation.hostadapters import HostAdapterSwitch, host_nics
from labkit.backends.workstation.linuxadapters import LinuxHostNics, parse_ip_links, set_argv, show_argv
from labkit.backends.workstation.winadapters import (
    ADMIN_CHECK,
    LIST_SCRIPT,
    NOT_ADMIN,
    WindowsHostNics,
    parse_netadapters,
    parse_netsh_interfaces,
    powershell,
    ps_literal,
    switch_script,
)
from labkit.errors import BackendError
from labkit.inventory import inventory_from_data
from labkit.protocols import CommandResult
from labkit.yamlsrc import load
from tests.conftest import REPO


@pytest.fixture(autouse=True)
def _no_system_root(monkeypatch):
    """Programs by their bare names (powershell.exe, ping.exe) even on a real Windows, where labkit
    would find them in System32: the runners below answer by name."""
    monkeypatch.delenv("SystemRoot", raising=False)
    monkeypatch.delenv("SYSTEMROOT", raising=False)

# ---- captured outputs ------------------------------------------------------------------------------

NETADAPTER_JSON = (
    '[{"Name":"VMware Network Adapter VMnet1","InterfaceDescription":"VMware Virtual Ethernet Adapter for VMnet1",'
    '"Status":"Up","MacAddress":"00-50-56-C0-00-01"},'
    '{"Name":"VMware Network Adapter VMnet8","InterfaceDescription":"VMware Virtual Ethernet Adapter for VMnet8",'
    '"Status":"Disabled","MacAddress":"00-50-56-C0-00-08"}]')
# one adapter: ConvertTo-Json unwraps the list; the user renamed the connection, the description stays
NETADAPTER_JSON_ONE = ('{"Name":"NAT adapter","InterfaceDescription":"VMware Virtual Ethernet Adapter for VMnet8",'
                       '"Status":"Disconnected","MacAddress":"00-50-56-C0-00-08"}')
NETADAPTER_TABLE = """\r
Name                      InterfaceDescription                    ifIndex Status       MacAddress             LinkSpeed\r
----                      --------------------                    ------- ------       ----------             ---------\r
WLAN                      Intel(R) Dual Band Wireless-AC 7265          12 Up           5C-51-4F-12-34-56       300 Mbps\r
VMware Network Adapte...1 VMware Virtual Ethernet Adapter for ...      17 Up           00-50-56-C0-00-01       100 Mbps\r
VMware Network Adapte...8 VMware Virtual Ethernet Adapter for ...      19 Disabled     00-50-56-C0-00-08       100 Mbps\r
\r
"""
NETSH_EN = """\r
Admin State    State          Type             Interface Name\r
-------------------------------------------------------------------------\r
Enabled        Connected      Dedicated        Local Area Connection\r
Enabled        Connected      Dedicated        VMware Network Adapter VMnet1\r
Disabled       Disconnected   Dedicated        VMware Network Adapter VMnet8\r
\r
"""
NETSH_DE = """\r
Administratorstatus Status         Typ              Schnittstellenname\r
-------------------------------------------------------------------------\r
Aktiviert      Verbunden      Dediziert        LAN-Verbindung\r
Aktiviert      Verbunden      Dediziert        VMware Network Adapter VMnet1\r
Deaktiviert    Getrennt       Dediziert        VMware Network Adapter VMnet8\r
\r
"""


def ip_link(name: str, up: bool) -> dict:
    """One link as `ip -j link show` prints it (iproute2 5.x)."""
    flags = ["BROADCAST", "MULTICAST", *(["UP", "LOWER_UP"] if up else [])]
    return {"ifindex": 7, "ifname": name, "flags": flags, "mtu": 1500, "qdisc": "fq_codel",
            "operstate": "UNKNOWN" if up else "DOWN", "linkmode": "DEFAULT", "group": "default", "txqlen": 1000,
            "link_type": "ether", "address": "00:50:56:c0:00:08", "broadcast": "ff:ff:ff:ff:ff:ff"}


# ---- parsers -----------------------------------------------------------------------------------------

def states(nics: list[HostNic]) -> dict[str, tuple[str, bool]]:
    return {n.vnet: (n.name, n.enabled) for n in nics}


def test_get_netadapter_json():
    assert states(parse_netadapters(NETADAPTER_JSON)) == {
        "vmnet1": ("VMware Network Adapter VMnet1", True), "vmnet8": ("VMware Network Adapter VMnet8", False)}
    assert states(parse_netadapters(NETADAPTER_JSON_ONE)) == {"vmnet8": ("NAT adapter", True)}
    assert parse_netadapters("") == [] and parse_netadapters("[]") == []
    pretty = json.dumps(json.loads(NETADAPTER_JSON), indent=4)  # without -Compress
    assert states(parse_netadapters(pretty)) == states(parse_netadapters(NETADAPTER_JSON))


def test_get_netadapter_table_shortened_names_are_placed_by_mac():
    nics = parse_netadapters(NETADAPTER_TABLE)
    assert [(n.vnet, n.status, n.enabled) for n in nics] == [("vmnet1", "Up", True), ("vmnet8", "Disabled", False)]
    with pytest.raises(BackendError, match="no Get-NetAdapter table"):
        parse_netadapters("Get-NetAdapter : Access denied")


def test_get_netadapter_unreadable_json_says_what_it_got():
    with pytest.raises(BackendError, match=r"no readable JSON .*\[\{\"Name\""):
        parse_netadapters('[{"Name": ')


@pytest.mark.parametrize("text", [NETSH_EN, NETSH_DE], ids=["English", "German"])
def test_netsh_show_interface(text):
    assert states(parse_netsh_interfaces(text)) == {
        "vmnet1": ("VMware Network Adapter VMnet1", True), "vmnet8": ("VMware Network Adapter VMnet8", False)}


def test_netsh_in_another_language_is_refused_by_name():
    french = NETSH_EN.replace("Disabled ", "Désactivé")
    with pytest.raises(BackendError, match="English and German only"):
        parse_netsh_interfaces(french)


def test_ip_json_links():
    text = json.dumps([ip_link("lo", True), ip_link("vmnet1", True), ip_link("vmnet8", False), ip_link("eth0", True)])
    assert states(parse_ip_links(text)) == {"vmnet1": ("vmnet1", True), "vmnet8": ("vmnet8", False)}
    with pytest.raises(BackendError, match="no readable JSON"):
        parse_ip_links("1: lo: <LOOPBACK,UP> mtu 65536")


@pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 is not installed here")
def test_ip_json_shape_is_this_machines_iproute2():
    """The loopback link as this machine's own iproute2 prints it, read as if it were vmnet8 (read only)."""
    res = LocalRunner().run(["ip", "-j", "link", "show", "lo"])
    assert res.ok, res.stderr
    (nic,) = parse_ip_links(res.stdout.replace('"ifname":"lo"', '"ifname":"vmnet8"'))
    assert (nic.vnet, nic.enabled) == ("vmnet8", True)


# ---- argv lists ------------------------------------------------------------------------------------------

def test_powershell_argv_is_one_script_element_and_the_name_one_literal():
    argv = powershell(switch_script("VMware Network Adapter VMnet8", False))
    assert argv == ["powershell.exe", "-NoProfile", "-NonInteractive", "-Command",
                    f"$ErrorActionPreference = 'Stop'; {ADMIN_CHECK}; "
                    "Disable-NetAdapter -Name 'VMware Network Adapter VMnet8' -Confirm:$false"]
    assert switch_script("VMware Network Adapter VMnet8", True).endswith(
        "Enable-NetAdapter -Name 'VMware Network Adapter VMnet8' -Confirm:$false")
    # the check comes before the change, in the same script
    assert argv[-1].index("IsInRole") < argv[-1].index("Disable-NetAdapter")


def test_powershell_found_in_system32_when_windows_says_where(tmp_path):
    exe = tmp_path / "System32" / "WindowsPowerShell" / "v1.0" / "powershell.exe"
    exe.parent.mkdir(parents=True)
    exe.write_text("")
    assert powershell("x", {"SystemRoot": str(tmp_path)})[0] == str(exe)


@pytest.mark.parametrize("name, literal", [
    ("VMware Network Adapter VMnet8", "'VMware Network Adapter VMnet8'"),
    ("Jane's NAT", "'Jane''s NAT'"),
    ("NAT \u2019quoted\u2019", "'NAT \u2019\u2019quoted\u2019\u2019'"),
    ("net[1]*?", "'net`[1`]`*`?'"),
    ("$(reboot); `x`", "'$(reboot); ``x``'"),
])
def test_ps_literal_names_exactly_that_adapter(name, literal):
    assert ps_literal(name) == literal


def test_ps_literal_refuses_control_characters():
    with pytest.raises(BackendError):
        ps_literal("VMnet8\nRestart-Computer")


def test_iproute2_argv():
    assert show_argv(["vmnet8"]) == ["ip", "-j", "link", "show", "vmnet8"]
    assert show_argv(["vmnet1", "vmnet8"]) == ["ip", "-j", "link", "show"]
    assert set_argv("vmnet8", False) == ["ip", "link", "set", "vmnet8", "down"]
    assert set_argv("vmnet8", True) == ["ip", "link", "set", "vmnet8", "up"]
    with pytest.raises(BackendError, match="not a VMnet interface name"):
        set_argv("eth0; reboot", False)


# ---- runners that play the host's OS -----------------------------------------------------------------------

class FakeWindows:
    """PowerShell's NetAdapter cmdlets (or, on Windows 7, netsh) over a table of adapters."""

    def __init__(self, adapters: dict[str, str], admin: bool = True, netadapter: bool = True) -> None:
        self.adapters = adapters  # name -> Status
        self.admin, self.netadapter = admin, netadapter
        self.calls: list[list[str]] = []

    def run(self, argv: Sequence[str], timeout: float | None = None) -> CommandResult:
        argv = list(argv)
        self.calls.append(argv)
        if argv[0] == "powershell.exe":
            script = argv[-1]
            if script == LIST_SCRIPT:
                if not self.netadapter:
                    return CommandResult(3)
                return CommandResult(0, json.dumps([
                    {"Name": n, "InterfaceDescription": n.replace("Network Adapter", "Virtual Ethernet Adapter for"),
                     "Status": s, "MacAddress": None} for n, s in self.adapters.items()]) + "\r\n")
            if not self.admin:
                return CommandResult(NOT_ADMIN)
            if script == ADMIN_CHECK:
                return CommandResult(0)
            m = re.search(r"(Enable|Disable)-NetAdapter -Name '([^']*)' -Confirm:\$false$", script)
            assert m, script
            if m.group(2) not in self.adapters:
                return CommandResult(1, "", f"Disable-NetAdapter : No MSFT_NetAdapter objects found with property "
                                            f"'Name' equal to '{m.group(2)}'.")
            self.adapters[m.group(2)] = "Up" if m.group(1) == "Enable" else "Disabled"
            return CommandResult(0)
        if argv[0] == "netsh.exe":
            if argv[1:4] == ["interface", "show", "interface"]:
                rows = "".join(f"{'Disabled' if s == 'Disabled' else 'Enabled':15}{'Connected':15}"
                               f"{'Dedicated':17}{n}\r\n" for n, s in self.adapters.items())
                return CommandResult(0, "\r\nAdmin State    State          Type             Interface Name\r\n"
                                        + "-" * 73 + "\r\n" + rows)
            assert argv[1:4] == ["interface", "set", "interface"] and len(argv) == 6, argv
            self.adapters[argv[4]] = "Disabled" if argv[5] == "admin=disabled" else "Up"
            return CommandResult(0)
        raise AssertionError(f"unexpected command {argv}")


class FakeLinux:
    """iproute2 over a set of links (name -> up); `prefix` is what a namespace runner would prepend."""

    def __init__(self, links: dict[str, bool], root: bool = True) -> None:
        self.links, self.root = links, root
        self.calls: list[list[str]] = []
        self.addresses: dict[str, list[str]] = {name: [] for name in links}  # IPv4 addresses per link

    def run(self, argv: Sequence[str], timeout: float | None = None) -> CommandResult:
        argv = list(argv)
        self.calls.append(argv)
        if argv[:4] == ["ip", "-j", "link", "show"]:
            names = argv[4:] or list(self.links)
            for name in names:
                if name not in self.links:
                    return CommandResult(1, "", f'Device "{name}" does not exist.\n')
            return CommandResult(0, json.dumps([ip_link(n, self.links[n]) for n in names]) + "\n")
        if argv[:3] == ["ip", "link", "set"]:
            if not self.root:
                return CommandResult(2, "", "RTNETLINK answers: Operation not permitted\n")
            self.links[argv[3]] = argv[4] == "up"
            return CommandResult(0)
        if argv[:5] == ["ip", "-4", "addr", "flush", "dev"]:
            self.addresses[argv[5]] = []
            return CommandResult(0)
        if argv[:3] == ["ip", "addr", "replace"] and argv[4:7] == ["brd", "+", "dev"]:
            self.addresses[argv[7]] = [argv[3]]
            return CommandResult(0)
        raise AssertionError(f"unexpected command {argv}")


def inventory(os: str = "windows", **backend):
    data = load(REPO / "inventory" / "workstation-vmrest.yml").data
    data["host"]["os"] = os
    data["backend"] = {"type": "workstation", **backend}  # .vmx mode: labkit is on the host
    data["vms"] = []
    return inventory_from_data(data, "workstation-test")


WIN_ADAPTERS = {"VMware Network Adapter VMnet1": "Up", "VMware Network Adapter VMnet8": "Up",
                "VMware Network Adapter VMnet2": "Disconnected"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def switch_on(runner, os: str = "windows", platform: str = "win32", **kw) -> HostAdapterSwitch:
    clock = Clock()
    return HostAdapterSwitch(inventory(os), host_nics(platform, runner), "windows" if platform == "win32" else os,
                             clock=clock, sleep=clock.sleep, **kw)


# ---- Windows ---------------------------------------------------------------------------------------------

def test_windows_disable_then_enable_reads_back_and_says_unchanged():
    host = FakeWindows(dict(WIN_ADAPTERS))
    switch = switch_on(host)
    assert switch.enabled("nat") is True
    assert switch.set_host_adapter("nat", False) is True
    assert host.adapters["VMware Network Adapter VMnet8"] == "Disabled"
    assert switch.enabled("nat") is False
    assert switch.set_host_adapter("nat", False) is False  # already so: nothing run but the listing
    assert not any("Disable-NetAdapter" in c[-1] for c in host.calls[-1:])
    assert switch.set_host_adapter("nat", True) is True and switch.enabled("nat") is True
    assert switch.enabled("lab2") is True  # "Disconnected" is enabled: no VM on it, but not switched off
    switched = [c for c in host.calls if "NetAdapter -Name" in c[-1]]
    assert [c[:4] for c in switched] == [["powershell.exe", "-NoProfile", "-NonInteractive", "-Command"]] * 2


def test_windows_not_administrator_is_a_clear_error_and_changes_nothing():
    host = FakeWindows(dict(WIN_ADAPTERS), admin=False)
    switch = switch_on(host)
    with pytest.raises(BackendError, match=r"needs Administrator rights .* not running as Administrator; "
                                           r"nothing was changed"):
        switch.set_host_adapter("nat", False)
    assert host.adapters["VMware Network Adapter VMnet8"] == "Up"


def test_windows_missing_adapter_names_the_vmnet():
    host = FakeWindows({"VMware Network Adapter VMnet1": "Up"})
    switch = switch_on(host)
    with pytest.raises(BackendError, match=r"no VMware adapter on vmnet8 \(network 'nat'\)"):
        switch.set_host_adapter("nat", False)


def test_windows_7_falls_back_to_netsh_with_the_name_as_one_argument():
    host = FakeWindows(dict(WIN_ADAPTERS), netadapter=False)
    switch = switch_on(host)
    assert switch.set_host_adapter("nat", False) is True
    assert ["netsh.exe", "interface", "set", "interface", "VMware Network Adapter VMnet8", "admin=disabled"] \
        in host.calls
    assert powershell(ADMIN_CHECK) in host.calls  # elevation checked before netsh changes anything
    assert switch.enabled("nat") is False


def test_windows_7_without_administrator_runs_no_netsh_change():
    host = FakeWindows(dict(WIN_ADAPTERS), admin=False, netadapter=False)
    with pytest.raises(BackendError, match="not running as Administrator"):
        switch_on(host).set_host_adapter("nat", False)
    assert not any(c[:4] == ["netsh.exe", "interface", "set", "interface"] for c in host.calls)


def test_listing_is_reused_for_a_matrix_and_dropped_by_a_switch():
    host = FakeWindows(dict(WIN_ADAPTERS))
    clock = Clock()
    switch = HostAdapterSwitch(inventory(), WindowsHostNics(host), "windows", clock=clock, sleep=clock.sleep)
    for net in ("nat", "hostonly", "lab2"):
        switch.enabled(net)
    assert len(host.calls) == 1  # one PowerShell for every network
    clock.now += 5
    switch.enabled("nat")
    assert len(host.calls) == 2  # stale after max_age
    host.adapters["VMware Network Adapter VMnet8"] = "Disabled"  # someone else switched it ...
    assert switch.enabled("nat") is True  # ... within max_age: not seen yet
    clock.now += 5
    assert switch.enabled("nat") is False


def test_a_switch_that_does_not_read_back_is_an_error():
    class Stuck(FakeWindows):
        def run(self, argv, timeout=None):
            res = super().run(argv, timeout)
            self.adapters["VMware Network Adapter VMnet8"] = "Up"  # the driver refuses to go down
            return res

    with pytest.raises(BackendError, match=r"was disabled but is Up 5 s later"):
        switch_on(Stuck(dict(WIN_ADAPTERS))).set_host_adapter("nat", False)


# ---- Linux -----------------------------------------------------------------------------------------------

def test_linux_down_and_up_with_iproute2():
    host = FakeLinux({"lo": True, "vmnet1": True, "vmnet8": True, "vmnet2": True})
    switch = switch_on(host, "linux", "linux")
    assert switch.set_host_adapter("nat", False) is True
    assert ["ip", "link", "set", "vmnet8", "down"] in host.calls
    assert ["ip", "-j", "link", "show", "vmnet8"] in host.calls  # read back by name
    assert host.links["vmnet8"] is False and switch.enabled("nat") is False
    assert switch.set_host_adapter("nat", True) is True and host.links["vmnet8"] is True


def test_linux_takes_a_disabled_adapters_address_away_and_gives_the_inventorys_back():
    """A down link keeps its addresses as the host's own (the host would still answer for 10.0.0.1),
    so labkit's switch on the host removes them too, as Windows' Disable and the model do."""
    host = FakeLinux({"vmnet1": True, "vmnet8": True, "vmnet2": True})
    host.addresses["vmnet8"] = ["10.0.0.1/24"]
    switch = HostAdapterSwitch.for_this_machine(inventory("linux"), host, "linux")
    assert switch.set_host_adapter("nat", False) is True
    changes = [c for c in host.calls if "-j" not in c]
    assert changes == [["ip", "link", "set", "vmnet8", "down"], ["ip", "-4", "addr", "flush", "dev", "vmnet8"]]
    assert (host.links["vmnet8"], host.addresses["vmnet8"]) == (False, [])
    host.calls.clear()
    assert switch.set_host_adapter("nat", True) is True
    changes = [c for c in host.calls if "-j" not in c]
    assert changes == [["ip", "link", "set", "vmnet8", "up"],
                       ["ip", "addr", "replace", "10.0.0.1/24", "brd", "+", "dev", "vmnet8"]]
    assert (host.links["vmnet8"], host.addresses["vmnet8"]) == (True, ["10.0.0.1/24"])


def test_linux_without_root_is_a_clear_error():
    host = FakeLinux({"vmnet8": True, "vmnet1": True, "vmnet2": True}, root=False)
    with pytest.raises(BackendError, match=r"needs root \(CAP_NET_ADMIN\).*nothing was changed"):
        switch_on(host, "linux", "linux").set_host_adapter("nat", False)
    assert host.links["vmnet8"] is True


def test_linux_in_a_namespace_through_the_runners_prefix(monkeypatch):
    """What the netns lab would run: the same argv after `ip netns exec NS` (recorded, not run)."""
    ran: list[list[str]] = []

    def fake_run(argv, **kwargs):
        import subprocess

        ran.append(argv)
        out = json.dumps([ip_link("vmnet8", True)]).encode() if "-j" in argv else b""
        return subprocess.CompletedProcess(argv, 0, out, b"")

    monkeypatch.setattr("labkit.backends.transports.commands.subprocess.run", fake_run)
    nics = LinuxHostNics(LocalRunner(["ip", "netns", "exec", "lab-host"], encoding="utf-8"))
    assert nics.read(["vmnet8"])["vmnet8"].enabled is True
    nics.switch(HostNic("vmnet8", "vmnet8", True, "UNKNOWN"), False)
    assert ran == [["ip", "netns", "exec", "lab-host", "ip", "-j", "link", "show", "vmnet8"],
                   ["ip", "netns", "exec", "lab-host", "ip", "link", "set", "vmnet8", "down"]]


def test_absent_adapter_or_failing_command_falls_back_to_the_inventory_with_a_warning(caplog):
    host = FakeLinux({"vmnet1": False})  # no vmnet8 here: vmrest on 127.0.0.1 may be a tunnel
    switch = switch_on(host, "linux", "linux")
    assert switch.enabled("nat") is True  # the inventory's word
    assert switch.enabled("nat") is True
    assert caplog.text.count("no VMware adapter on vmnet8") == 1  # said once
    assert "networks.nat.host_adapter.enabled (True)" in caplog.text


def test_another_os_than_host_os_switches_nothing():
    host = FakeLinux({"vmnet8": True})
    switch = HostAdapterSwitch(inventory("windows"), host_nics("linux", host), "linux")
    with pytest.raises(BackendError, match="host.os is windows in the inventory, but labkit runs on linux"):
        switch.set_host_adapter("nat", False)
    assert host.calls == []
    assert switch.enabled("nat") is True and host.calls == []


def test_host_nics_per_platform():
    assert isinstance(host_nics("win32", FakeWindows({})), WindowsHostNics)
    assert isinstance(host_nics("linux", FakeLinux({})), LinuxHostNics)
    assert host_nics("darwin", FakeLinux({})) is None
