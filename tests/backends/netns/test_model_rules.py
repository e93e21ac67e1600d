"""The model's rules the seed lab does not exercise, proven with real packets in netns labs of their own.

Rule 3 (a NAT device re-sends through the host's own stack), rule 9 (a guest's ICMP firewall) and
the host's firewall (NAT re-sends to the host exempt), rule 11 (the Linux host's weak host model)
and rule 10 (RHEL's duplicate address detection). Each test builds tests/backends/netns/model-rules.yml
(as lab `model-rules`, or `model-rules-fw` with the host's firewall on: never the seed lab's
namespaces), runs labkit's own matrix step with `expect: model`, and checks that every cell seen is
the model's prediction, then the cells the rule is about.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from labkit.backends import open_lab
from labkit.inventory import inventory_from_data, load_inventory
from labkit.model import ConfigureGuest, Inventory, PingMatrix, RestartNetwork, Step
from labkit.protocols import Lab
from labkit.results import MatrixResult
from labkit.runner import run_step
from labkit.yamlsrc import load
from tests.backends.netns.conftest import NETNS_INVENTORY, lab_built

RULES_INVENTORY = Path(__file__).parent / "model-rules.yml"
VMS = ["a", "fw", "c", "ho", "hg", "wide", "br", "bh"]
SOURCES = ["host", "router", "internet", *VMS]
TARGETS = ["host", "host.nat", "host.natb", "host.hostonly", "nat.gateway", "natb.gateway", "nat.dhcp",
           "natb.dhcp", "hostonly.dhcp", "router", "internet", *VMS]
IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"


def rules_inventory(lab: str = "model-rules", **host: object) -> Inventory:
    """model-rules.yml under lab name `lab`, with the host's fields changed."""
    data = copy.deepcopy(load(RULES_INVENTORY).data)
    data["lab"] = lab
    data["host"].update(host)
    return inventory_from_data(data, f"{RULES_INVENTORY} as lab {lab}")


@contextmanager
def built(inv: Inventory) -> Iterator[Lab]:
    """The lab built (leftovers of a crashed run removed first), opened, and always torn down."""
    with lab_built(inv):
        lab = open_lab(inv)
        try:
            yield lab
        finally:
            lab.close()


@pytest.fixture
def rules_lab() -> Iterator[Lab]:
    with built(rules_inventory()) as lab:
        yield lab


@pytest.fixture
def firewalled_host_lab() -> Iterator[Lab]:
    with built(rules_inventory("model-rules-fw", icmp_firewall=True)) as lab:
        yield lab


def matrix(lab: Lab, sources: list[str], targets: list[str] = TARGETS) -> MatrixResult:
    """labkit's own matrix step, every cell expected to be the model's prediction."""
    spec = PingMatrix(sources=sources, targets=targets, count=1, timeout=1, expect="model")
    result = run_step(Step(name="rules", kind="ping_matrix", spec=spec), lab)
    assert result.error is None and result.matrix is not None, result.error
    return result.matrix


def verdicts(m: MatrixResult) -> dict[tuple[str, str], str]:
    """(source, target) -> what ping saw, after checking it is what the model predicted, cell for cell."""
    wrong = [(c.source, c.target, c.expected, c.observed.verdict, c.observed.reason, c.expected_reason)
             for c in m.cells if c.expected is None or c.observed.verdict != c.expected]
    assert wrong == []
    return {(c.source, c.target): c.observed.verdict for c in m.cells}


def test_netns_inventories_describe_a_linux_host() -> None:
    for path in (NETNS_INVENTORY, RULES_INVENTORY):
        assert load_inventory(path).host.os == "linux", path


def test_rule3_nat_goes_through_the_hosts_own_stack(rules_lab: Lab) -> None:
    seen = verdicts(matrix(rules_lab, SOURCES))
    assert len(seen) == len(SOURCES) * len(TARGETS) - len(VMS) - 3  # no one pings itself
    for src, other in (("a", "c"), ("c", "a")):  # both NAT networks, each through the host to the other
        for target in (other, "host", "host.nat", "host.natb", "host.hostonly", "ho", "hg", "wide",
                       "hostonly.dhcp", "nat.gateway", "natb.gateway", "nat.dhcp", "natb.dhcp", "br", "bh",
                       "router", "internet"):
            if target != src:
                assert seen[(src, target)] == "reachable", (src, target)
    # the host is still no router for anyone but its NAT devices: not with it as a gateway either
    for src, target in (("ho", "a"), ("hg", "a"), ("hg", "router"), ("hg", "internet"), ("bh", "a"),
                        ("bh", "internet"), ("bh", "ho")):
        assert seen[(src, target)] == "unreachable", (src, target)

    assert rules_lab.host_adapters is not None
    rules_lab.host_adapters.set_host_adapter("hostonly", False)
    off = verdicts(matrix(rules_lab, ["a", "c", "host"]))
    for src in ("a", "c"):
        for target in ("ho", "hg", "wide", "host.hostonly", "hostonly.dhcp"):
            assert off[(src, target)] == "unreachable", (src, target)
    assert off[("a", "c")] == off[("c", "a")] == off[("a", "host")] == "reachable"  # the rest is as it was

    rules_lab.host_adapters.set_host_adapter("hostonly", True)
    again = verdicts(matrix(rules_lab, ["a"], ["ho", "hg", "wide", "host.hostonly"]))
    assert set(again.values()) == {"reachable"}


def test_rule9_guest_firewall_drops_inbound_echo_only(rules_lab: Lab) -> None:
    seen = verdicts(matrix(rules_lab, ["host", "a", "c", "br", "fw"], ["fw", "a", "c", "host", "br", "internet"]))
    for src in ("host", "a", "c"):
        assert seen[(src, "fw")] == "unreachable", src
    for target in ("a", "c", "host", "br", "internet"):
        assert seen[("fw", target)] == "reachable", target  # its own pings and their replies pass
    assert seen[("a", "c")] == seen[("host", "a")] == "reachable"  # nobody else is filtered


def test_host_firewall_spares_what_the_nat_device_resends_to_the_host(firewalled_host_lab: Lab) -> None:
    seen = verdicts(matrix(firewalled_host_lab, ["host", "router", "a", "c", "hg", "br", "bh"]))
    for src, target in (("br", "host"), ("router", "host"), ("bh", "host"), ("bh", "host.hostonly"),
                        ("hg", "host.hostonly"), ("a", "host.nat"), ("c", "host.natb")):
        assert seen[(src, target)] == "unreachable", (src, target)  # crosses one of the host's interfaces
    for src, target in (("a", "host"), ("a", "host.hostonly"), ("a", "host.natb"), ("c", "host"),
                        ("c", "host.nat")):
        assert seen[(src, target)] == "reachable", (src, target)  # re-sent by the NAT device: local
    for target in ("br", "a", "ho", "router", "internet"):
        assert seen[("host", target)] == "reachable", target  # the host's own pings go out
    assert seen[("a", "ho")] == "reachable"  # forwarding through the host is not filtered


def test_rule11_the_linux_host_answers_for_any_address_on_any_interface(rules_lab: Lab) -> None:
    seen = verdicts(matrix(rules_lab, ["bh", "hg", "wide", "br"],
                           ["host", "host.nat", "host.natb", "host.hostonly", "router"]))
    # each asks the host, on one of its adapters, for the address of another one
    for src, targets in (("bh", ("host.nat", "host.natb", "host.hostonly")), ("hg", ("host", "host.nat", "host.natb"))):
        for target in targets:
            assert seen[(src, target)] == "reachable", (src, target)
    assert seen[("wide", "host")] == "reachable"  # ARP for the LAN address answered on VMnet1
    assert seen[("br", "host.hostonly")] == "unreachable"  # the LAN router has no route there
    # the lab pins the kernel defaults in the host's namespace, whatever the machine's own are
    host = rules_lab.transport("host")
    out = host.run("cd /proc/sys/net/ipv4/conf && grep -H . */arp_ignore */arp_filter */rp_filter").stdout
    values = dict(line.rsplit(":", 1) for line in out.split())
    assert {k.split("/")[0] for k in values} >= {"all", "eth0", "vmnet8", "vmnet2", "vmnet1"}
    assert {k: v for k, v in values.items() if not k.startswith("lo/") and v != "0"} == {}


def test_rule10_rhel_refuses_an_address_another_host_uses(rules_lab: Lab) -> None:
    a_mac = rules_lab.inventory.vm("a").adapters[0].mac
    assert a_mac is not None

    def readdress(address: str) -> str | None:
        """Write fw's ifcfg-eth0 with `address` and restart its network as labkit does; the error, if any."""
        spec = ConfigureGuest(vms=["fw"], interface="eth0", address=f"{address}/24", gateway="10.0.0.2")
        assert run_step(Step(name="configure", kind="configure_guest", spec=spec), rules_lab).ok
        restart = run_step(Step(name="restart", kind="restart_network",
                                spec=RestartNetwork(vms=["fw"], interface="eth0")), rules_lab)
        return restart.vms["fw"].error

    def addresses(vm: str) -> list[IPv4Address]:
        return [a.ip for nic in rules_lab.hypervisor.guest_nics(vm) for a in nic.addresses]

    error = readdress("10.0.0.20")  # a's
    assert error is not None and "exited 1" in error, error
    assert f"Error, some other host ({a_mac.upper()}) already uses address 10.0.0.20." in error
    assert "IPADDR=10.0.0.20" in rules_lab.console.open("fw").read_file(IFCFG)  # the file said so, ifup refused
    assert addresses("fw") == [] and addresses("a") == [IPv4Address("10.0.0.20")]
    seen = verdicts(matrix(rules_lab, ["host", "c"], ["a", "host.nat"]))
    assert seen[("host", "a")] == seen[("c", "a")] == "reachable"  # a keeps its address, no conflict

    assert readdress("10.0.0.41") is None  # a free address is probed and taken
    assert addresses("fw") == [IPv4Address("10.0.0.41")]
