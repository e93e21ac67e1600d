"""The tutorial's playbooks on a Linux Workstation host, with real packets (issue 13).

The netns lab's host namespace is the Linux host VMware Workstation runs on: its `vmnet8` and
`vmnet1` links are the host's VMware adapters, its LAN NIC is on the lab's LAN. labkit runs there
as root, as a user runs it on their own host: the real CLI (`python -m labkit.cli run`) under
`ip netns exec`, with a Workstation inventory. So, as on a real host:
- vmrest is at 127.0.0.1 (the validating fake, served inside that namespace: vmrest_in_netns.py),
  hence labkit knows it runs on the Workstation host (placement.py);
- vmrun is the test vmrun (tests/backends/workstation/fake_vmrun.py, backend.vmrun): each VM's
  .vmx, as vmrest lists it, is mapped to its netns guest, where VMware Tools' guest operations run;
  it asks the same vmrest for the VMs' power;
- the matrix's `host` is this namespace, through labkit's LocalTransport (real ping);
- `set_host_adapter` is labkit's LinuxAdapters switching the real `vmnet8` with iproute2 and
  reading it back; what the kernel did is watched from outside (`ip monitor`) and read at the end;
- a NIC that labkit moves through vmrest really moves: the guest's port goes to that network's
  bridge (the netns backend's own set_adapter_network), and VMware Tools' answers are the guests';
- every VM has a guest_login (the vmrun console). win7 stands for the tutorial's Windows 7, which
  has no sshd: the inventory gives it no `ssh`, so everything reaches it through vmrun (its guest
  is Debian, so its os and dialect are its guest's, as tests/contract/workstation_lab.py does: a
  real Windows guest through vmrun, netsh and ping.exe, cannot run here). centos and nat2 are
  reached over SSH by ssh_config aliases whose host keys are pinned by name (HostKeyAlias), at the
  address vmrest reports for the adapter's MAC, so SSH follows a guest a mode switch re-addressed;
  where SSH cannot get there (centos bridged while it still holds its NAT address, nat2 while the
  host's VMnet8 adapter is down) the same operation goes through vmrun. The LAN router is reached
  over SSH because the inventory says how (`lan.router_ssh`).
Only vmrest and vmrun are stand-ins; the packets, adapters, DHCP, NAT and guests are real.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from labkit.backends.netns.nsexec import ConsoleTransport
from labkit.model import Inventory
from tests.backends.netns.conftest import lab_built
from tests.backends.workstation import fake_vmrun
from tests.backends.workstation.conftest import PASSWORD, load_contract
from tests.conftest import REPO
from tests.contract.guests import Guests
from tests.e2e.linux_host_lab import LinkWatch, lab_data, lab_inventory, router_sshd
from tests.e2e.test_playbooks import TUTORIAL_IFCFG_AFTER
from tests.e2e.vmrest_in_netns import LabVmrest, vmx_path

PASSWORD_ENV = "LABKIT_VMREST_PASSWORD"
GUEST_PASSWORD_ENV = "LABKIT_GUEST_PASSWORD"
GUEST_PASSWORD = "lab guest-Pw 13"
IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"
SSH_VMS = ("centos", "nat2")  # win7 has no sshd, as the tutorial's Windows 7


@dataclass
class World:
    lab: Inventory  # the netns lab's inventory
    state: dict  # the built lab (namespaces, PIDs)
    guests: Guests
    vmrest: LabVmrest
    inventory: Path  # the Workstation inventory labkit is given
    vmrun_map: Path  # the test vmrun's map: each .vmx to its guest


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    contract = load_contract()  # the vmrest definition (../shared); absent: skip, or fail under CI
    lab = lab_inventory()
    workdir = tmp_path_factory.mktemp("ws-linux-host")
    with lab_built(lab) as state:
        guests = Guests(lab)
        vmrest = LabVmrest(contract, guests).start_in_netns(state["host"])
        try:
            vmrun_map = fake_vmrun.write_guests(workdir / "vmrun-guests.json",
                                                {vmx_path(vm): {"pid": guests.pid(vm)} for vm in lab.vm_names},
                                                vmrest={"url": vmrest.url, "user": vmrest.user})
            vmrun = fake_vmrun.install(workdir / "bin")
            with router_sshd(state, str(lab.lan.router), workdir) as router_key:
                yield World(lab, state, guests, vmrest,
                            workstation_inventory(workdir, lab, guests, vmrest.port, router_key, vmrun), vmrun_map)
        finally:
            vmrest.stop()


def workstation_inventory(workdir: Path, lab: Inventory, guests: Guests, port: int, router_key: str,
                          vmrun: Path) -> Path:
    """The lab as a user describes their Linux Workstation host: vmrest on loopback, vmrun, the
    host's networking file, the tutorial's networks and VMs (the lab's MACs and guests' OS), a guest
    account on every VM for the vmrun console, SSH to centos and nat2 by ssh_config aliases (their
    addresses then, keys pinned by name) and to the router, host keys pinned."""
    key = f"{guests.state['dir']}/id_ed25519"
    known_hosts = workdir / "known_hosts"
    known_hosts.write_text("".join(f"{vm} {guests.host_key(vm)}\n" for vm in SSH_VMS)
                           + f"{lab.lan.router} {router_key}\n")
    now = {"centos": "10.0.0.101", "nat2": str(_held(guests, "nat2"))}  # centos's static address, nat2's lease
    ssh_config = workdir / "ssh_config"
    ssh_config.write_text("".join(f"Host {vm}\n  HostName {now[vm]}\n  HostKeyAlias {vm}\n" for vm in SSH_VMS))
    login = {"user": "root", "key_file": key, "known_hosts": str(known_hosts), "connect_timeout": 5}
    data = copy.deepcopy(lab_data())
    data["backend"] = {"type": "workstation", "host": "127.0.0.1", "port": port, "user": "labkit",
                       "password_env": PASSWORD_ENV, "networking_dir": str(networking_dir(workdir, lab)),
                       "vmrun": str(vmrun)}
    data["lan"]["router_ssh"] = dict(login)
    for vm in data["vms"]:
        vm.pop("files", None)  # the simulated guest's seed files: the lab's guests have theirs
        vm["path"] = vmx_path(vm["name"])
        vm["guest_login"] = {"user": "root", "password_env": GUEST_PASSWORD_ENV}
        vm.pop("ssh", None)
        if vm["name"] in SSH_VMS:
            vm["ssh"] = {"address": vm["name"], "config_file": str(ssh_config), **login}
    path = workdir / "workstation-linux-host.yml"
    with path.open("w") as f:
        YAML().dump(data, f)
    return path


def _held(guests: Guests, vm: str) -> IPv4Address:
    address = guests.address(vm)
    assert address is not None, f"{vm} has no address"
    return address.ip


def networking_dir(workdir: Path, lab: Inventory) -> Path:
    """/etc/vmware of the Linux host: `networking` as Workstation writes it for the lab's VMnets."""
    d = workdir / "vmware"
    d.mkdir()
    lines = ["VERSION=1,0"]
    for net in lab.networks.values():
        if net.type == "bridged" or net.subnet is None:
            continue
        n = (net.backend_network or "").lower().removeprefix("vmnet")
        lines += [f"answer VNET_{n}_DHCP yes", f"answer VNET_{n}_HOSTONLY_NETMASK {net.subnet.netmask}",
                  f"answer VNET_{n}_HOSTONLY_SUBNET {net.subnet.network_address}",
                  f"answer VNET_{n}_VIRTUAL_ADAPTER {'yes' if net.host_adapter else 'no'}"]
        if net.type == "nat":
            lines.append(f"answer VNET_{n}_NAT yes")
    lines.append("add_bridge_mapping eth0 0")  # the host's LAN NIC (the lab host's eth0)
    (d / "networking").write_text("\n".join(lines) + "\n")
    return d


def cli_env(home: Path, world: World, vmrun_log: Path) -> dict[str, str]:
    """What the user's shell holds (the vmrest and guest passwords), and the test vmrun's wiring."""
    return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(home),
            "NO_COLOR": "1", "LANG": "C.UTF-8", PASSWORD_ENV: PASSWORD, GUEST_PASSWORD_ENV: GUEST_PASSWORD,
            fake_vmrun.GUESTS_ENV: str(world.vmrun_map), fake_vmrun.PASSWORD_ENV: GUEST_PASSWORD,
            fake_vmrun.VMREST_PASSWORD_ENV: PASSWORD, fake_vmrun.LOG_ENV: str(vmrun_log)}


@dataclass
class Run:
    proc: subprocess.CompletedProcess
    report: dict
    html: str
    vmnet8: list[tuple[str, ...]]  # what the kernel did to vmnet8 during the run, in order
    vmrun: list[dict]  # the test vmrun's calls during the run, in order (command, parameters)


def run_playbook(world: World, playbook: str, tmp_path: Path) -> Run:
    """`labkit run playbooks/PLAYBOOK.yml` as root inside the lab's host namespace."""
    out, html, home = tmp_path / "report.json", tmp_path / "report.html", tmp_path / "home"
    log = tmp_path / "vmrun.jsonl"
    home.mkdir()
    watch = LinkWatch(world.state["host"], "vmnet8")
    try:
        proc = subprocess.run(["ip", "netns", "exec", world.state["host"], sys.executable, "-m", "labkit.cli", "run",
                               f"playbooks/{playbook}.yml", "-i", str(world.inventory), "--json", str(out),
                               "--html", str(html)], cwd=REPO, env=cli_env(home, world, log), capture_output=True,
                              text=True, timeout=600)
    finally:
        events = watch.stop()
    assert proc.returncode == 0, proc.stdout + proc.stderr
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    assert all(GUEST_PASSWORD not in json.dumps(c) for c in calls)
    return Run(proc, json.loads(out.read_text()), html.read_text(), events, calls)


def guest_programs(run: Run) -> dict[str, list[str]]:
    """What each VM ran through vmrun (runProgramInGuest's program and arguments), by VM name."""
    vm_of = {vmx_path(vm): vm for vm in ("centos", "win7", "nat2")}
    out: dict[str, list[str]] = {}
    for call in run.vmrun:
        if call["verb"] == "runProgramInGuest":
            out.setdefault(vm_of[call["params"][0]], []).append(" ".join(call["params"][1:]))
    return out


def check_every_cell(run: Run, via: dict[tuple[int, str], str]) -> None:
    """Every cell expected (by the playbook or the model), probed, and as expected, from each source
    through the channel `via` names for (matrix, source) (`ssh` if unnamed; the host: `local`); never
    a secret."""
    report = run.report
    assert report["backend"] == "workstation" and report["ok"] is True
    assert all(step["ok"] for step in report["steps"]), [s for s in report["steps"] if not s["ok"]]
    assert report["summary"]["failed_cells"] == 0 and "conflict_cells" not in report["summary"]
    for m in report["matrices"]:
        pairs = {(c["source"], c["target"]) for c in m["cells"]}
        assert pairs == {(s, t) for s in m["sources"] for t in m["targets"] if s != t}, m["step"]
        for c in m["cells"]:
            assert c["expected"] in ("reachable", "unreachable") and c["observed"] == c["expected"], c
            replied = c["observed"] == "reachable"  # as a real ping's statistics say
            assert (c["loss_pct"] < 100) == replied and (c["rtt_avg_ms"] is not None) == replied, c
    for k, m in enumerate(report["matrices"]):
        for c in m["cells"]:
            assert c["via"] == ("local" if c["source"] == "host" else via.get((k, c["source"]), "ssh")), (k, c)
    for text in (run.proc.stdout, run.proc.stderr, json.dumps(report), run.html):
        assert PASSWORD not in text and GUEST_PASSWORD not in text


def cells(report: dict, step: int) -> dict[tuple[str, str], str]:
    return {(c["source"], c["target"]): c["observed"] for c in report["matrices"][step]["cells"]}


def step(report: dict, name: str) -> dict:
    return next(s for s in report["steps"] if s["name"] == name)


def vmnet8(world: World) -> tuple[bool, list[str]]:
    """vmnet8 in the host namespace now, read from outside: (UP, its IPv4 addresses)."""
    def ip(*argv: str) -> list[dict]:
        return json.loads(subprocess.run(["ip", "-n", world.state["host"], "-j", *argv], capture_output=True,
                                         text=True, check=True).stdout)

    (link,) = ip("link", "show", "vmnet8")
    (addr,) = ip("-4", "addr", "show", "vmnet8")
    return "UP" in link["flags"], [f"{a['local']}/{a['prefixlen']}" for a in addr["addr_info"]]


def changes(events: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """The events without repeats (a link reports each carrier change too)."""
    return [e for k, e in enumerate(events) if k == 0 or e != events[k - 1]]


def guest_address(world: World, vm: str, interface: str = "eth0") -> IPv4Interface:
    """What the guest itself holds on `interface` (its first address), read from its namespace."""
    mac = world.lab.vm(vm).adapter(interface).mac
    nic = world.guests.by_mac(mac)
    assert nic is not None and nic.addresses, f"{vm}'s {interface} has no address"
    return nic.addresses[0]


def check_vmrest(world: World) -> None:
    assert world.vmrest.take_violations() == [] and world.vmrest.failures == []


def test_seed_nat_on_a_linux_host_switches_the_real_vmnet8(world: World, tmp_path: Path) -> None:
    moved = len(world.vmrest.moves)
    run = run_playbook(world, "seed-nat", tmp_path)
    # win7 through vmrun only; nat2 over SSH, but through vmrun while the host's VMnet8 adapter is
    # down (the host reaches no NAT VM then, rule 5, so SSH cannot either)
    check_every_cell(run, via={(0, "win7"): "vmrun", (1, "win7"): "vmrun", (2, "win7"): "vmrun",
                               (1, "nat2"): "vmrun"})
    report = run.report
    # win7's network restart and its pings went through vmrun's guest operations, in its guest
    assert step(report, "ipconfig /renew")["vms"]["win7"]["detail"] == "eth0 restarted (via vmrun)"
    ran = guest_programs(run)
    assert set(ran) == {"win7", "nat2"}, ran  # centos is not in this playbook
    assert any("ifdown" in line and "ifup" in line for line in ran["win7"]), ran["win7"]
    assert any("ping" in line for line in ran["win7"]) and any("ping" in line for line in ran["nat2"])
    # the tutorial's cells, with the host as a source through its own stack
    enabled, disabled, again = cells(report, 0), cells(report, 1), cells(report, 2)
    for pair in (("host", "win7"), ("host", "nat2"), ("win7", "host.nat"), ("win7", "internet"), ("win7", "nat2"),
                 ("nat2", "win7"), ("router", "host"), ("win7", "host")):
        assert enabled[pair] == "reachable", pair
    assert enabled[("router", "win7")] == enabled[("router", "nat2")] == "unreachable"
    for pair in (("host", "win7"), ("host", "nat2"), ("host", "host.nat"), ("win7", "host.nat"), ("nat2", "host.nat")):
        assert disabled[pair] == "unreachable", pair
    for pair in (("win7", "internet"), ("win7", "nat2"), ("win7", "host"), ("host", "internet")):
        assert disabled[pair] == "reachable", pair
    assert again[("host", "win7")] == again[("win7", "host.nat")] == "reachable"
    # vmnet8 really went down (and lost its address) and came back, as the kernel reports it
    assert step(report, "disable the host's VMnet8 adapter")["vms"]["host"]["detail"] == "changed"
    assert step(report, "enable the host's VMnet8 adapter again")["vms"]["host"]["detail"] == "changed"
    assert changes(run.vmnet8) == [("link", "down"), ("address", "deleted", "10.0.0.1/24"), ("link", "up"),
                                   ("address", "added", "10.0.0.1/24")]
    assert vmnet8(world) == (True, ["10.0.0.1/24"])
    # win7's NIC really moved to VMnet8 and the guest took a NAT lease there, as reported
    assert world.vmrest.moves[moved:] == [("win7", "eth0", "nat")]
    assert world.guests.hv.adapter_network("win7", world.lab.vm("win7").adapters[0]) == "nat"
    address = guest_address(world, "win7")
    assert address in IPv4Network("10.0.0.0/24")
    assert step(report, "both NAT VMs have a VMnet8 address")["vms"]["win7"]["detail"] == f"eth0: {address}"
    check_vmrest(world)


def test_seed_bridged_on_a_linux_host_moves_centos_onto_the_lan(world: World, tmp_path: Path) -> None:
    moved = len(world.vmrest.moves)
    run = run_playbook(world, "seed-bridged", tmp_path)
    check_every_cell(run, via={})  # centos's pings over SSH, at the LAN address vmrest reports for its MAC
    seen = cells(run.report, 0)
    # bridged, centos still held 10.0.0.101, which SSH could not reach: its ifcfg-eth0 was edited
    # and its network restarted through vmrun; then SSH followed it to its new address
    assert step(run.report, "ifcfg-eth0 static -> BOOTPROTO=dhcp")["vms"]["centos"]["detail"].endswith("via vmrun)")
    assert step(run.report, "/etc/init.d/network restart")["vms"]["centos"]["detail"] == "eth0 restarted (via vmrun)"
    ran = guest_programs(run)
    assert set(ran) == {"centos"} and not any("ping" in line for line in ran["centos"]), ran
    for pair in (("host", "centos"), ("centos", "host"), ("centos", "router"), ("centos", "internet"),
                 ("router", "centos")):
        assert seen[pair] == "reachable", pair
    assert run.vmnet8 == []  # this playbook leaves the host's adapters alone
    assert world.vmrest.moves[moved:] == [("centos", "eth0", "bridged")]
    address = guest_address(world, "centos")
    assert address in world.lab.lan.subnet
    assert step(run.report, "centos has a LAN address")["vms"]["centos"]["detail"] == f"eth0: {address}"
    check_vmrest(world)
    # the tutorial's ifcfg-eth0, edited in place over SSH: read back through the guest's console
    ifcfg = ConsoleTransport("centos", world.guests.pid("centos")).read_file(IFCFG)
    assert ifcfg == TUTORIAL_IFCFG_AFTER
