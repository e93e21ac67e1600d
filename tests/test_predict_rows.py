"""Predictor.rows shares one row between the sources of a class: it must say, cell for cell, what
Predictor.verdict says (the verdict and its reason, worded for the cell at hand)."""

from __future__ import annotations

from labkit.described import described_state
from labkit.inventory import inventory_from_data
from labkit.predict import Predictor
from labkit.topology import Topology


def lab(n: int) -> dict:
    """n VMs over NAT, host-only and bridged, some static (one outside its subnet, one with a wrong
    gateway), some firewalled, the host's host-only adapter disabled."""
    vms = []
    for i in range(n):
        net = ("hostonly", "bridged", "nat", "nat")[i % 4]
        config: dict = {"dhcp": True}
        if net == "nat" and i % 8 == 2:
            config = {"address": f"10.0.0.{i + 3}/24", "gateway": "10.0.0.2"}
        if i == 6:
            config = {"address": "10.9.9.9/24", "gateway": "10.9.9.1"}  # outside its subnet
        if i == 10:
            config = {"address": "10.0.0.50/24", "gateway": "10.0.0.77"}  # a gateway nobody holds
        vms.append({"name": f"vm{i:02d}", "os": "windows" if i % 5 == 4 else "linux", "icmp_firewall": i % 7 == 6,
                    "adapters": [{"interface": "eth0", "network": net, "mac": f"00:0c:29:00:00:{i:02x}",
                                  "config": config}]})
    return {"lab": "rows", "backend": {"type": "sim"}, "host": {"lan_address": "192.168.1.100", "os": "linux"},
            "lan": {"subnet": "192.168.1.0/24", "router": "192.168.1.1", "dhcp": {"start": "192.168.1.101",
                                                                                  "end": "192.168.1.199"}},
            "externals": {"internet": {"address": "203.0.113.10"}},
            "networks": {"bridged": {"type": "bridged", "backend_network": "VMnet0"},
                         "nat": {"type": "nat", "backend_network": "VMnet8", "subnet": "10.0.0.0/24",
                                 "gateway": "10.0.0.2", "host_adapter": {"address": "10.0.0.1"},
                                 "dhcp": {"server": "10.0.0.254", "start": "10.0.0.128", "end": "10.0.0.253"}},
                         "hostonly": {"type": "hostonly", "backend_network": "VMnet1", "subnet": "192.168.56.0/24",
                                      "host_adapter": {"address": "192.168.56.1", "enabled": False},
                                      "dhcp": {"server": "192.168.56.254", "start": "192.168.56.128",
                                               "end": "192.168.56.253"}}},
            "vms": vms}


def test_shared_rows_say_what_each_cell_says_alone():
    inv = inventory_from_data(lab(40), "<rows>")
    topo = Topology(described_state(inv))
    sources = ["host", "router", *inv.vm_names]
    ends = [topo.resolve(r) for r in ["host", "router", "internet", "host.nat", *inv.vm_names]]
    shared = dict(Predictor(topo).rows(sources, ends))
    alone = Predictor(topo)
    for source in sources:
        want = [alone.verdict(source, t) for t in ends]
        got = shared[source]
        assert [(v.reachable, v.reason) for v in got] == [(v.reachable, v.reason) for v in want], source
    reasons = {v.reason for row in shared.values() for v in row}
    assert len(reasons) > 10  # the lab gives many different reasons, so the comparison means something
