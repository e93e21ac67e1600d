"""On random labs, what the simulated guests print and labkit parses agrees with the model.

The simulation answers pings from the model, so any disagreement is a fault in the path real
guests use too: command building, the simulated tools' output, or the parsers (iputils, busybox,
Windows, fping). Hypothesis explores OS mixes, networks, addressing mistakes and firewalls.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.backends import open_lab
from labkit.inventory import load_inventory
from labkit.matrix.engine import run_matrix
from labkit.model import Inventory, PingMatrix
from labkit.observe import observe
from tests.conftest import REPO

BASE = load_inventory(REPO / "inventory" / "seed-lab.yml")

vm_strategy = st.fixed_dictionaries({
    "os": st.sampled_from(["linux", "busybox", "windows"]),
    "network": st.sampled_from(["nat", "hostonly", "bridged"]),
    "firewall": st.booleans(),
    "addressing": st.sampled_from(["dhcp", "dhcp", "static-good", "static-wrong-subnet", "static-bad-gw"]),
})


def build(vms: list[dict], nat_adapter: bool) -> Inventory:
    data = BASE.model_dump(mode="json", exclude={"vms"})
    data["networks"]["nat"]["host_adapter"]["enabled"] = nat_adapter
    subnets = {"nat": "10.0.0", "hostonly": "192.168.56", "bridged": "192.168.1"}
    gateways = {"nat": "10.0.0.2", "hostonly": None, "bridged": "192.168.1.1"}
    data["vms"] = []
    for i, spec in enumerate(vms):
        net = spec["network"]
        if spec["addressing"] == "dhcp":
            config = {"dhcp": True}
        elif spec["addressing"] == "static-good":
            config = {"address": f"{subnets[net]}.{20 + i}/24", "gateway": gateways[net]}
        elif spec["addressing"] == "static-wrong-subnet":
            config = {"address": f"172.31.0.{20 + i}/24", "gateway": "172.31.0.1"}
        else:
            config = {"address": f"{subnets[net]}.{20 + i}/24", "gateway": f"{subnets[net]}.99"}
        data["vms"].append({"name": f"vm{i}", "os": spec["os"], "icmp_firewall": spec["firewall"],
                            "dialect": "ifcfg" if spec["os"] != "windows" else "netsh",
                            "adapters": [{"interface": "eth0", "mac": f"00:0c:29:00:01:{i:02x}",
                                          "network": net, "config": config}]})
    return Inventory.model_validate(data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(vm_strategy, min_size=1, max_size=5), st.booleans())
def test_observed_equals_model(vms, nat_adapter):
    inv = build(vms, nat_adapter)
    lab = open_lab(inv)
    names = inv.vm_names
    spec = PingMatrix(sources=["host", "router", *names],
                      targets=["host", "host.nat", "router", "internet", "nat.gateway", *names],
                      count=2, timeout=1, expect="model")
    matrix = run_matrix(lab, "m", spec, observe(lab))
    for cell in matrix.cells:
        if cell.address is None:
            assert cell.observed.verdict == "error"
            continue
        if cell.expected is None:  # an address conflict: not predicted
            continue
        assert cell.observed.verdict == cell.expected, (cell, cell.expected_reason)


@settings(max_examples=int(os.environ.get("LABKIT_EXAMPLES", 60)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(vm_strategy, min_size=2, max_size=8), st.booleans())
def test_pooled_predictions_equal_the_walk_cell_by_cell(vms, nat_adapter):
    """The Predictor's class pooling is an optimisation only: same verdicts, same reasons."""
    from labkit.backends.sim.lab import SimWorld
    from labkit.predict import Predictor, ping
    from labkit.topology import Topology

    inv = build(vms, nat_adapter)
    topo = Topology(SimWorld(inv).state)
    pooled = Predictor(topo)
    for src in ["host", "router", *inv.vm_names]:
        for ref in ["host", "router", "internet", "host.nat", "nat.gateway", *inv.vm_names]:
            target = topo.resolve(ref)
            assert pooled.verdict(src, target) == ping(topo, src, target), (src, ref)
