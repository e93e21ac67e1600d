"""Generated labs of N VMs, for the benchmarks (benchmarks/bench.py) and for tests that need many
VMs alike: the seed lab's host, LAN and networks, the NAT network widened to a /16.

Most VMs are on NAT with DHCP (every tenth of them static), about 5 % host-only and 5 % bridged,
every fifth Windows, every seventh behind an ICMP firewall: a thousand VMs fall into a few dozen
classes of equivalent machines, as a real classroom lab does.
"""

from __future__ import annotations

from labkit.model import Inventory


def lab_dict(n: int) -> dict:
    """The seed lab's host, LAN and networks (NAT widened to a /16), with n VMs spread over them."""
    vms = []
    n_host = min(100, max(1, n // 20))  # host-only pool: 126 leases
    n_bridged = min(90, max(1, n // 20))  # LAN pool: 99 leases
    for i in range(n):
        net = "hostonly" if i < n_host else "bridged" if i < n_host + n_bridged else "nat"
        windows = i % 5 == 4
        config = {"dhcp": True}
        if net == "nat" and i % 10 == 3:  # a few static NAT guests, like the tutorial's centos
            config = {"address": f"10.0.{i // 250}.{i % 250 + 3}/16", "gateway": "10.0.0.2", "dns": ["10.0.0.2"]}
        vms.append({"name": f"vm{i:04d}", "os": "windows" if windows else "linux",
                    "dialect": "netsh" if windows else "ifcfg", "icmp_firewall": i % 7 == 6,
                    "adapters": [{"interface": "eth0", "label": "Network adapter 1", "network": net,
                                  "mac": f"00:0c:29:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
                                  "config": config}]})
    nets = {
        "bridged": {"type": "bridged", "backend_network": "VMnet0"},
        "nat": {"type": "nat", "backend_network": "VMnet8", "subnet": "10.0.0.0/16", "gateway": "10.0.0.2",
                "host_adapter": {"address": "10.0.0.1"},
                "dhcp": {"server": "10.0.255.254", "start": "10.0.8.0", "end": "10.0.255.253"}},
        "hostonly": {"type": "hostonly", "backend_network": "VMnet1", "subnet": "192.168.56.0/24",
                     "host_adapter": {"address": "192.168.56.1"},
                     "dhcp": {"server": "192.168.56.254", "start": "192.168.56.128", "end": "192.168.56.253"}}}
    lan = {"subnet": "192.168.1.0/24", "router": "192.168.1.1", "wan_address": "198.51.100.7",
           "dhcp": {"start": "192.168.1.101", "end": "192.168.1.199"}}
    return {"lab": f"bench-{n}", "backend": {"type": "sim"}, "host": {"lan_address": "192.168.1.100", "os": "windows"},
            "lan": lan, "externals": {"internet": {"address": "203.0.113.10"}}, "networks": nets, "vms": vms}


def build_inventory(n: int) -> Inventory:
    from labkit.inventory import inventory_from_data

    return inventory_from_data(lab_dict(n), f"<generated lab of {n} VMs>")  # the loader's own rules, cross-field ones included
