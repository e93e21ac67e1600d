"""Build, inspect and tear down a network-namespace lab (`labkit lab up|down|status`).

Everything is made inside namespaces whose names start with the lab's prefix: veth pairs are
created in the switch namespace and moved straight into their owners, so the root namespace's
links, routes and firewall never change. State (PIDs, keys, each VM's /etc overlay) lives in
/var/lib/labkit/netns/PREFIX; `down` kills the processes inside the lab's namespaces and those it
started itself (each recorded with its start time when it starts, in processes.json, so a PID the
kernel has since given to another program is left alone), never a process merely because its
command line names the lab's directory; it deletes the namespaces and the state, and also works
after a crash (it scans for the prefix).

A VM runs as root on this machine, so it sees the machine's files read-only, with writable places of
its own (vmroot.py), and nothing in an inventory's `files:` that its guest would run is seeded
(labkit.dialects.plainconfig, checked again here whatever the inventory's backend says).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from importlib import resources
from ipaddress import IPv4Interface
from pathlib import Path
from typing import NotRequired, TypedDict

from labkit.guest import config as guestnet
from labkit.errors import BackendError, InputErrors
from labkit.inventory import seed_file_errors
from labkit.model import VM, Inventory, Ssh
from labkit.backends.netns import stack, users, vmroot
from labkit.backends.netns.plan import Dhcp, Plan, Port, VmPlan, make_plan, neighbour_entries
from labkit.backends.netns.stack import nsrun, run

STATE_ROOT = Path(os.environ.get("LABKIT_STATE", "/var/lib/labkit/netns"))  # not /run: VMs mount their own
TOOLS = ("ip", "iptables", "dnsmasq", "unshare", "nsenter", "setpriv", "ssh-keygen", "dhclient", "ifup", "fping",
         "ping", "arping")  # arping: the RHEL guests' duplicate address detection; setpriv: a guest's capabilities
BOOT_TIMEOUT = 60.0
PROCESSES = "processes.json"  # every process labkit started for the lab: [{"what", "pid", "start"}]


# ---- what state.json holds (JSON: plain dicts, typed here) ----

class PortState(TypedDict):
    port: str  # the switch-side end of the VM's veth pair
    mac: str | None


class VmState(TypedDict):
    ns: str
    dir: str
    flavour: str  # debian | rhel
    host_key: str  # "TYPE BASE64", pinned in known_hosts under the VM's name
    ports: dict[str, PortState]  # by guest interface name
    unshare_pid: NotRequired[int]  # set at boot
    init_pid: NotRequired[int | None]  # the VM's PID 1 once booted; None once powered off


class NetnsState(TypedDict):
    lab: str
    prefix: str
    namespaces: list[str]
    pids: dict[str, int]  # dnsmasq-NAME -> PID
    run_netns_existed: bool
    vms: dict[str, VmState]
    host_adapters: dict[str, str]  # network -> host ifname
    bridges: dict[str, str]  # network -> bridge in the switch namespace
    switch: str
    host: str
    router: str
    inet: str
    dir: str
    warnings: list[str]


class Booted(TypedDict):
    unshare_pid: int


class VmStatus(TypedDict):
    powered_on: bool
    addresses: list[str]


class NetnsStatus(TypedDict):
    lab: str
    prefix: str
    vms: dict[str, VmStatus]


def state_dir(inv_or_prefix: Inventory | str) -> Path:
    prefix = inv_or_prefix if isinstance(inv_or_prefix, str) else make_plan(inv_or_prefix).prefix
    return STATE_ROOT / prefix


def load_state(inv: Inventory) -> NetnsState:
    path = state_dir(inv) / "state.json"
    if not path.is_file():
        raise BackendError(f"the netns lab {inv.lab!r} is not up (labkit lab up -i INVENTORY)")
    state: NetnsState = json.loads(path.read_text())  # written by save_state, from a NetnsState
    return state


def preflight() -> None:
    if os.geteuid() != 0:
        raise BackendError("the netns lab needs root (network namespaces, bridges, iptables)")
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if not Path("/usr/sbin/sshd").exists():
        missing.append("sshd")
    if missing:
        raise BackendError(f"missing tools: {', '.join(missing)} (install them: make lab-deps)")


def neighbour_warning(inv: Inventory) -> str | None:
    """Say so when a full matrix would overflow the kernel's shared ARP table (labkit does not raise it:
    that would change the root namespace)."""
    try:
        limit = int(Path("/proc/sys/net/ipv4/neigh/default/gc_thresh3").read_text())
    except (OSError, ValueError):
        return None
    needed = neighbour_entries(inv)
    if needed <= limit * 0.9:
        return None
    want = 2 * needed + 512
    return (f"a full matrix needs about {needed} ARP entries but the kernel keeps at most {limit} "
            "(net.ipv4.neigh.default.gc_thresh3, shared by all namespaces): past it probes are dropped "
            "and look unreachable; labkit leaves the root namespace as it is, so raise it yourself "
            f"before a big matrix: sysctl -w net.ipv4.neigh.default.gc_thresh3={want} "
            f"net.ipv4.neigh.default.gc_thresh2={want // 2}")


def up(inv: Inventory) -> NetnsState:
    unsafe = seed_file_errors(inv)  # the guests would run them as root here: refused before anything is built
    if unsafe:
        raise InputErrors(unsafe)
    preflight()
    if any(users.vm_ssh(inv, vm).become == "sudo" for vm in inv.vms) and not Path("/usr/bin/sudo").exists():
        raise BackendError("the inventory's guests log in with become: sudo, and sudo is not installed here "
                           "(the guests share this machine's /usr): install it (make lab-deps)")
    plan = make_plan(inv)
    sdir = STATE_ROOT / plan.prefix
    if (sdir / "state.json").exists() or any(ns.startswith(plan.prefix + "-") for ns in _netns_list()):
        raise BackendError(f"the netns lab {inv.lab!r} is already up (labkit lab down -i INVENTORY first)")
    sdir.mkdir(parents=True, exist_ok=True)
    state: NetnsState = {
        "lab": inv.lab, "prefix": plan.prefix, "namespaces": plan.namespaces, "pids": {},
        "run_netns_existed": Path("/run/netns").is_dir(), "vms": {}, "host_adapters": plan.host_adapters,
        "bridges": {name: seg.bridge for name, seg in plan.segments.items()}, "switch": plan.switch,
        "host": plan.host, "router": plan.router, "inet": plan.inet, "dir": str(sdir),
        "warnings": [w for w in (neighbour_warning(inv),) if w]}
    try:
        save_state(sdir, state)
        _keys(sdir)
        for ns in plan.namespaces:
            run("ip", "netns", "add", ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
            nsrun(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1")
        stack.linux_host(plan.host)  # before any interface arrives: they take its defaults
        for bridge in sorted({seg.bridge for seg in plan.segments.values()}):
            run("ip", "-n", plan.switch, "link", "add", bridge, "type", "bridge", "stp_state", "0", "forward_delay", "0")
            run("ip", "-n", plan.switch, "link", "set", bridge, "up")
        for port in plan.ports:
            _plug(plan, port)
        stack.router_and_internet(inv, plan)
        stack.host_and_nat(inv, plan)
        if plan.host_icmp_firewall:
            stack.host_firewall(plan)
        for dhcp in plan.dhcp:
            state["pids"][f"dnsmasq-{dhcp.name}"] = _dnsmasq(sdir, dhcp)
        for vm in inv.vms:
            vp = plan.vms[vm.name]
            for port in vp.ports:
                _plug(plan, port)
            if vp.icmp_firewall:
                stack.guest_firewall(vp.ns)
            state["vms"][vm.name] = _prepare_vm(sdir, vm, vp, users.vm_ssh(inv, vm))
        # host keys are pinned by VM name (the address changes with DHCP): SSH looks them up by alias
        (sdir / "known_hosts").write_text("".join(f"{name} {vm['host_key']}\n" for name, vm in state["vms"].items()))
        for name in state["vms"]:
            state["vms"][name].update(boot(state, name, wait=False))
        for name in state["vms"]:
            wait_booted(state, name)
        save_state(sdir, state)
    except BaseException:
        down(inv)
        raise
    return state


def save_state(sdir: Path, state: NetnsState) -> None:
    tmp = sdir / "state.json.tmp"
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, sdir / "state.json")


def _keys(sdir: Path) -> None:
    key = sdir / "id_ed25519"
    if not key.exists():
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "labkit-lab", "-f", str(key))


def _plug(plan: Plan, port: Port) -> None:
    sw = plan.switch
    extra = ["address", port.mac] if port.mac else []
    run("ip", "-n", sw, "link", "add", port.port, "type", "veth", "peer", "name", port.ifname, *extra, "netns", port.ns)
    run("ip", "-n", sw, "link", "set", port.port, "master", port.bridge, "up")
    if port.address is not None and port.up:  # a disabled host adapter has no address
        run("ip", "-n", port.ns, "addr", "add", str(port.address), "dev", port.ifname)
    run("ip", "-n", port.ns, "link", "set", port.ifname, "up" if port.up else "down")


def _dnsmasq(sdir: Path, dhcp: Dhcp) -> int:
    base = sdir / f"dnsmasq-{dhcp.name}"
    argv = ["dnsmasq", "-C", "/dev/null", "--port=0", "--no-hosts", "--no-resolv", f"--interface={dhcp.ifname}",
            "--bind-interfaces", "--dhcp-authoritative", "--no-ping", "--user=root",
            f"--dhcp-range={dhcp.start},{dhcp.end},{dhcp.netmask},12h", f"--dhcp-leasefile={base}.leases",
            f"--pid-file={base}.pid", f"--log-facility={base}.log", "--log-dhcp"]
    argv.append(f"--dhcp-option=option:router,{dhcp.router}" if dhcp.router else "--dhcp-option=3")
    if dhcp.dns:
        argv.append(f"--dhcp-option=option:dns-server,{dhcp.dns}")
    nsrun(dhcp.ns, *argv)
    pid = int(Path(f"{base}.pid").read_text().split()[0])
    _remember(sdir, f"dnsmasq-{dhcp.name}", pid)
    return pid


def _prepare_vm(sdir: Path, vm: VM, vp: VmPlan, ssh: Ssh) -> VmState:
    """The VM's disk: an /etc overlay seeded with its network config, sshd and login user, its own
    /root, /home, /var/lib, /var/log and /var/tmp (vmroot.DISK)."""
    d = sdir / f"vm-{vm.name}"
    for sub in ("etc/ssh", "etc-work", "root/.ssh", "home", "var-lib/dhcp", "var-log", "var-tmp", "etc/dhcp"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    os.chmod(d / "var-tmp", 0o1777)
    etc = d / "etc"
    (etc / "hostname").write_text(vm.name + "\n")
    (etc / "resolv.conf").write_text(f"# {vm.name}\n")
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", vm.name, "-f", str(etc / "ssh/ssh_host_ed25519_key"))
    (etc / "ssh/sshd_config").write_text(users.sshd_config(ssh))
    (etc / "dhcp/dhclient.conf").write_text("timeout 10;\nretry 5;\n"
                                            "request subnet-mask, broadcast-address, routers, domain-name-servers;\n")
    shutil.copy(sdir / "id_ed25519.pub", d / "root/.ssh/authorized_keys")
    os.chmod(d / "root", 0o700)
    os.chmod(d / "root/.ssh", 0o700)
    users.add_login_user(d, etc, vm, ssh, sdir / "id_ed25519.pub")
    if vp.flavour == "rhel":
        scripts = etc / "sysconfig/network-scripts"
        scripts.mkdir(parents=True, exist_ok=True)
        for ad, port in zip(vm.adapters, vp.ports, strict=True):
            path = guestnet.config_path("ifcfg", ad.interface)
            if path in vm.files:
                text = vm.files[path]
            else:
                cfg = guestnet.to_interface_config(ad.config) if ad.config else None
                text = guestnet.render_new("ifcfg", ad.interface, port.mac, cfg) if cfg else \
                    f"DEVICE={ad.interface}\nONBOOT=no\n"
            (scripts / f"ifcfg-{ad.interface}").write_text(text)
        # says what the guest stands in for, so dialect detection sees a RHEL-family system
        (etc / "os-release").write_text('NAME="CentOS Linux (labkit netns emulation)"\nID="centos"\n'
                                        'ID_LIKE="rhel fedora"\nVERSION_ID="6"\n')
        (etc / "init.d").mkdir(exist_ok=True)
        stand_in = resources.files("labkit.backends.netns").joinpath("guest/network").read_text()
        (etc / "init.d/network").write_text(stand_in)
        os.chmod(etc / "init.d/network", 0o755)
    else:
        (etc / "network").mkdir(exist_ok=True)
        (etc / "network/interfaces").write_text(_interfaces(vm))
    pub = (etc / "ssh/ssh_host_ed25519_key.pub").read_text().split()
    return {"ns": vp.ns, "dir": str(d), "flavour": vp.flavour, "host_key": f"{pub[0]} {pub[1]}",
            "ports": {ad.interface: {"port": p.port, "mac": p.mac} for ad, p in zip(vm.adapters, vp.ports, strict=True)}}


def _interfaces(vm: VM) -> str:
    """/etc/network/interfaces as a Debian installer would write it for this VM's adapters."""
    out = [f"# /etc/network/interfaces of {vm.name} (labkit netns lab)", "auto lo", "iface lo inet loopback", ""]
    for ad in vm.adapters:
        if ad.config is None:
            continue
        out.append(f"auto {ad.interface}")
        if ad.config.dhcp:
            out.append(f"iface {ad.interface} inet dhcp")
        else:
            out.append(f"iface {ad.interface} inet static")
            assert ad.config.address is not None  # the model requires an address when dhcp is off
            out.append(f"    address {IPv4Interface(ad.config.address).with_prefixlen}")
            if ad.config.gateway:
                out.append(f"    gateway {ad.config.gateway}")
        out.append("")
    return "\n".join(out)


def boot(state: NetnsState, name: str, wait: bool = True) -> Booted:
    """Power on: the VM's PID 1 in its own UTS, PID and mount namespaces, inside its network namespace:
    vmroot.py sets up its file system view and bounds its capabilities, then runs vm-init.sh."""
    vm = state["vms"][name]
    d = Path(vm["dir"])
    (d / "ready").unlink(missing_ok=True)
    init = resources.files("labkit.backends.netns").joinpath("guest/vm-init.sh")
    with resources.as_file(init) as script, open(d / "console.log", "ab") as console:
        proc = subprocess.Popen(["ip", "netns", "exec", vm["ns"], "unshare", "--uts", "--pid", "--fork",
                                 "--mount-proc", sys.executable, "-I", "-S", vmroot.__file__, str(d),
                                 vm["flavour"], name, str(script)],
                                stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT,
                                start_new_session=True)
    vm["unshare_pid"] = proc.pid
    _remember(d.parent, f"vm-{name}", proc.pid)
    if wait:
        wait_booted(state, name)
    return {"unshare_pid": proc.pid}


def wait_booted(state: NetnsState, name: str) -> None:
    vm = state["vms"][name]
    d = Path(vm["dir"])
    deadline = time.monotonic() + BOOT_TIMEOUT
    while not (d / "ready").exists():
        if not _running(vm["unshare_pid"]):
            log = (d / "console.log").read_text(errors="replace").strip().splitlines()
            raise BackendError(f"{name} stopped while booting: {log[-1] if log else 'no output'} "
                               f"(see {d}/console.log)")
        if time.monotonic() > deadline:
            raise BackendError(f"{name} did not boot within {BOOT_TIMEOUT:g} s (see {d}/console.log)")
        time.sleep(0.02)
    children = Path(f"/proc/{vm['unshare_pid']}/task/{vm['unshare_pid']}/children").read_text().split()
    init_pid = vm["init_pid"] = int(children[0])
    _remember(d.parent, f"vm-{name}-init", init_pid)


def _running(pid: int) -> bool:
    """The process exists and has not exited (a zombie has: its parent has not reaped it yet)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def power_off(state: NetnsState, name: str) -> None:
    vm = state["vms"][name]
    pid = vm.get("init_pid")
    if pid and Path(f"/proc/{pid}").exists():
        os.kill(pid, signal.SIGTERM)  # PID 1 exits: the kernel kills everything in its PID namespace
        for _ in range(100):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.02)
    vm["init_pid"] = None


def _netns_list() -> list[str]:
    proc = run("ip", "netns", "list", check=False)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def down(inv: Inventory) -> dict[str, int]:
    """Kill every process in the lab's namespaces (by PID), delete them and the state. Idempotent."""
    plan = make_plan(inv)
    sdir = STATE_ROOT / plan.prefix
    existed = True
    if (sdir / "state.json").exists():
        existed = json.loads((sdir / "state.json").read_text()).get("run_netns_existed", True)
    namespaces = [ns for ns in _netns_list() if ns.startswith(plan.prefix + "-")]
    pids: set[int] = set()
    for ns in namespaces:
        pids |= {int(p) for p in run("ip", "netns", "pids", ns, check=False).stdout.split()}
    pids |= _remembered(sdir)  # strays whose namespace is already gone (a crash between delete and kill)
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
        time.sleep(0.05)
    for pid in pids:
        _signal(pid, signal.SIGKILL)
    for ns in namespaces:
        run("ip", "netns", "del", ns, check=False)
    shutil.rmtree(sdir, ignore_errors=True)
    if not existed and not _netns_list() and Path("/run/netns").is_dir():
        run("umount", "/run/netns", check=False)
        try:
            Path("/run/netns").rmdir()
        except OSError:
            pass
    return {"namespaces": len(namespaces), "killed": len(pids)}


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot, /proc/PID/stat's 22nd field): with the PID,
    it names one process, even after the PID is reused. None: no such process."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def _remember(sdir: Path, what: str, pid: int) -> None:
    """Record a process labkit started for the lab (`down` stops it, and only it)."""
    path = sdir / PROCESSES
    known = json.loads(path.read_text()) if path.is_file() else []
    known.append({"what": what, "pid": pid, "start": start_time(pid)})
    tmp = sdir / (PROCESSES + ".tmp")
    tmp.write_text(json.dumps(known, indent=1))
    os.replace(tmp, path)


def _remembered(sdir: Path) -> set[int]:
    """The recorded processes that still run: the same PID with the same start time."""
    try:
        known = json.loads((sdir / PROCESSES).read_text())
    except (OSError, ValueError):
        return set()
    return {p["pid"] for p in known if p.get("start") is not None and start_time(p["pid"]) == p["start"]}


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def status(inv: Inventory) -> NetnsStatus:
    state = load_state(inv)
    out: NetnsStatus = {"lab": inv.lab, "prefix": state["prefix"], "vms": {}}
    for name, vm in state["vms"].items():
        pid = vm.get("init_pid")
        alive = bool(pid) and Path(f"/proc/{pid}").exists()
        addrs = run("ip", "-n", vm["ns"], "-4", "-o", "addr", "show", check=False).stdout
        out["vms"][name] = {"powered_on": alive,
                            "addresses": [ln.split()[3] for ln in addrs.splitlines() if " lo " not in ln]}
    return out
