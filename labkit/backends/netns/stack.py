"""The lab's IP stacks: routing, NAT and ICMP filtering, set with iproute2, sysctl and iptables.

Each piece stands in for one thing of a VMware Workstation host, and behaves the way labkit's model
(labkit/predict.py) says it does, so the model can be checked against real packets:
  - the LAN router masquerades the LAN to the internet and drops what the internet starts;
  - the host is a Linux host (weak host model: it answers ARP and echo for any of its addresses on
    any interface) and not a router, except for its NAT devices: vmnat is a user-level proxy that
    re-sends a NAT VM's traffic from the host's own stack, so the host forwards a NAT device's
    traffic out of any of its interfaces (LAN NIC, VMnet adapters) and masquerades it to that
    interface's address. A disabled VMnet adapter has no address and is down, so nothing goes out
    of it, NAT devices' traffic included;
  - ICMP firewalls drop inbound echo requests: a VM's in its own namespace, the host's on its
    interfaces, but not on the links from its NAT devices (what vmnat re-sends to the host's own
    addresses is local to the host's stack in VMware, never crossing an interface).
"""

from __future__ import annotations

import subprocess

from labkit.errors import BackendError
from labkit.model import Inventory
from labkit.backends.netns.plan import Plan
from labkit.topology import DEFAULT_WAN

NATLINK = "natlink"  # host-side ends of the host <-> NAT device links: natlink0, natlink1, ...
ECHO_REQUEST = ("-p", "icmp", "--icmp-type", "echo-request")


def run(*argv: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, input=input)
    if check and proc.returncode != 0:
        raise BackendError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def nsrun(ns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("ip", "netns", "exec", ns, *argv, check=check)


def linux_host(ns: str) -> None:
    """The host's kernel settings, pinned whatever the machine's own are: a Linux host (rule 11) that
    is not a router.

    A new namespace copies the root namespace's IPv4 settings (net.core.devconf_inherit_init_net=0),
    and an interface takes its namespace's `default` when it is created or moved in, so setting
    `all` and `default` before any interface arrives covers them all. Weak host model: answer ARP
    for any local address on any interface (arp_ignore=0, arp_filter=0), no reverse-path filter
    (rp_filter=0). No ICMP redirects (send_redirects=0): the host forwards only for its NAT devices,
    and a redirect would teach a VM that uses the host as its gateway the LAN router's address.
    """
    keys = ("arp_ignore", "arp_filter", "rp_filter", "send_redirects")
    nsrun(ns, "sysctl", "-qw", *(f"net.ipv4.conf.{scope}.{key}=0" for scope in ("all", "default") for key in keys))


def router_and_internet(inv: Inventory, plan: Plan) -> None:
    r, i = plan.router, plan.inet
    wan_r, wan_i = plan.wan
    public = inv.lan.wan_address or DEFAULT_WAN
    run("ip", "-n", r, "link", "add", "wan0", "type", "veth", "peer", "name", "eth0", "netns", i)
    run("ip", "-n", r, "addr", "add", str(wan_r), "dev", "wan0")
    run("ip", "-n", r, "addr", "add", f"{public}/32", "dev", "wan0")
    run("ip", "-n", r, "link", "set", "wan0", "up")
    run("ip", "-n", i, "addr", "add", str(wan_i), "dev", "eth0")
    for ext in inv.externals.values():
        run("ip", "-n", i, "addr", "add", f"{ext.address}/32", "dev", "eth0")
    run("ip", "-n", i, "link", "set", "eth0", "up")
    run("ip", "-n", i, "route", "add", f"{public}/32", "via", str(wan_r.ip))
    run("ip", "-n", r, "route", "add", "default", "via", str(wan_i.ip))
    nsrun(r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    nsrun(r, "iptables", "-P", "FORWARD", "DROP")
    nsrun(r, "iptables", "-A", "FORWARD", "-i", "lan0", "-o", "wan0", "-j", "ACCEPT")
    nsrun(r, "iptables", "-A", "FORWARD", "-i", "wan0", "-o", "lan0", "-m", "conntrack",
          "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
    nsrun(r, "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "SNAT", "--to-source", str(public))


def host_and_nat(inv: Inventory, plan: Plan) -> None:
    """The host's routes and its NAT devices, each linked to the host's stack by a veth pair."""
    h = plan.host
    run("ip", "-n", h, "route", "add", "default", "via", str(inv.lan.router))
    nsrun(h, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    # the host forwards what its NAT devices send, and nothing else: it is not a router
    nsrun(h, "iptables", "-P", "FORWARD", "DROP")
    for k, (name, (ns, host_side, nat_side)) in enumerate(plan.natdevs.items()):
        link = f"{NATLINK}{k}"
        run("ip", "-n", h, "link", "add", link, "type", "veth", "peer", "name", "uplink", "netns", ns)
        run("ip", "-n", h, "addr", "add", str(host_side), "dev", link)
        run("ip", "-n", h, "link", "set", link, "up")
        run("ip", "-n", ns, "addr", "add", str(nat_side), "dev", "uplink")
        run("ip", "-n", ns, "link", "set", "uplink", "up")
        run("ip", "-n", ns, "route", "add", "default", "via", str(host_side.ip))
        # out of any of the host's own interfaces (not into another NAT device's link: plumbing),
        # from the address of the interface it leaves by, as vmnat's sockets on the host would be
        nsrun(h, "iptables", "-A", "FORWARD", "-i", link, "!", "-o", f"{NATLINK}+", "-j", "ACCEPT")
        nsrun(h, "iptables", "-A", "FORWARD", "!", "-i", f"{NATLINK}+", "-o", link, "-m", "conntrack",
              "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
        nsrun(h, "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", str(host_side.network),
              "!", "-o", f"{NATLINK}+", "-j", "MASQUERADE")
        subnet = inv.networks[name].subnet
        nsrun(ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        nsrun(ns, "iptables", "-P", "FORWARD", "DROP")
        nsrun(ns, "iptables", "-A", "FORWARD", "-i", "vmnet", "-o", "uplink", "-j", "ACCEPT")
        nsrun(ns, "iptables", "-A", "FORWARD", "-i", "uplink", "-o", "vmnet", "-m", "conntrack",
              "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT")
        nsrun(ns, "iptables", "-t", "nat", "-A", "POSTROUTING", "-s", str(subnet), "-o", "uplink", "-j", "MASQUERADE")


def host_interfaces(plan: Plan) -> list[str]:
    """The host's own interfaces: its LAN NIC and its VMnet adapters (not the NAT devices' links)."""
    return ["eth0", *plan.host_adapters.values()]


def host_firewall(plan: Plan) -> None:
    """`host.icmp_firewall`: echo requests arriving on the host's interfaces are dropped; those from
    its NAT devices (natlinkN) and its own (lo) are not, as in VMware, where they are local."""
    for ifname in host_interfaces(plan):
        nsrun(plan.host, "iptables", "-A", "INPUT", "-i", ifname, *ECHO_REQUEST, "-j", "DROP")


def guest_firewall(ns: str) -> None:
    """A VM's `icmp_firewall` (rule 9): inbound echo requests dropped, its own pings and their
    replies untouched. The rule lives in the VM's namespace, so it outlasts power cycles like a
    firewall saved on the guest's disk."""
    nsrun(ns, "iptables", "-A", "INPUT", *ECHO_REQUEST, "-j", "DROP")
