"""Matrix endpoint names: every kind the grammar has, and every way a name can fail, on the seed lab.

The seed lab (inventory/seed-lab.yml): networks bridged (no host adapter, gateway or DHCP server),
nat (all three) and hostonly (host adapter and DHCP server, no gateway); VMs centos, win7 and
nat2 with one interface eth0 each; one external, internet.
"""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from labkit.endpoints import (
    EndpointError,
    EndpointParser,
    default_endpoints,
    dhcp_ref,
    gateway_ref,
    host_adapter_ref,
    parse_endpoint,
)
from labkit.inventory import load_inventory
from tests.conftest import REPO

KNOWN = "host, router, centos, win7, nat2, internet, or NET.gateway, host.NET, VM.IFACE, an address"


@pytest.fixture(scope="module")
def inv():
    return load_inventory(REPO / "inventory" / "seed-lab.yml")


@pytest.mark.parametrize("ref, kind, parts, node, address", [
    ("win7", "vm", {"vm": "win7"}, "win7", None),
    ("centos.eth0", "vm_iface", {"vm": "centos", "interface": "eth0"}, "centos", None),
    ("host", "host", {}, "host", "192.168.1.100"),
    ("host.nat", "host_adapter", {"network": "nat"}, "host", "10.0.0.1"),
    ("host.hostonly", "host_adapter", {"network": "hostonly"}, "host", "192.168.56.1"),
    ("nat.gateway", "gateway", {"network": "nat"}, "nat.gateway", "10.0.0.2"),
    ("hostonly.dhcp", "dhcp", {"network": "hostonly"}, "hostonly.dhcp", "192.168.56.254"),
    ("router", "router", {}, "router", "192.168.1.1"),
    ("internet", "external", {"external": "internet"}, "internet", "203.0.113.10"),
    ("10.0.0.101", "address", {}, None, "10.0.0.101"),
    ("8.8.8.8", "address", {}, None, "8.8.8.8"),  # an address need not be the lab's
])
def test_each_kind_parses_to_its_parts(inv, ref, kind, parts, node, address):
    name = parse_endpoint(ref, inv)
    assert name.ref == ref and name.kind == kind and name.node == node
    assert name.address == (IPv4Address(address) if address else None)
    for field in ("vm", "interface", "network", "external"):
        assert getattr(name, field) == parts.get(field), field


@pytest.mark.parametrize("ref, message", [
    # unknown VM (or any unknown name)
    ("win10", f"unknown endpoint 'win10' (known: {KNOWN})"),
    ("win10.eth0", f"unknown endpoint 'win10.eth0' (known: {KNOWN})"),
    # unknown network
    ("nonet.gateway", "unknown network 'nonet' in 'nonet.gateway' (known: bridged, nat, hostonly)"),
    ("nonet.dhcp", "unknown network 'nonet' in 'nonet.dhcp' (known: bridged, nat, hostonly)"),
    ("host.nonet", "the host has no adapter on 'nonet'"),
    # a network without that part
    ("host.bridged", "the host has no adapter on 'bridged'"),
    ("hostonly.gateway", "network 'hostonly' has no gateway"),
    ("bridged.dhcp", "network 'bridged' has no dhcp server address (networks.bridged.dhcp.server)"),
    ("nat.vmnet8", "network 'nat' has no endpoint 'vmnet8' (its endpoints: nat.gateway, nat.dhcp, host.nat)"),
    ("nat", "'nat' is a network, not an endpoint (its endpoints: nat.gateway, nat.dhcp, host.nat)"),
    ("bridged", "'bridged' is a network, not an endpoint (it has no endpoints of its own)"),
    # a VM without that interface
    ("centos.eth9", "centos has no interface 'eth9'"),
    ("win7.eth0.100", "win7 has no interface 'eth0.100'"),
    # malformed
    ("", "malformed endpoint '': a name, or NAME.PART with both sides given (NET.gateway, host.NET, "
         "VM.IFACE, an address)"),
    ("win7.", "malformed endpoint 'win7.': a name, or NAME.PART with both sides given (NET.gateway, "
              "host.NET, VM.IFACE, an address)"),
    ("host.", "malformed endpoint 'host.': a name, or NAME.PART with both sides given (NET.gateway, "
              "host.NET, VM.IFACE, an address)"),
    (".nat", "malformed endpoint '.nat': a name, or NAME.PART with both sides given (NET.gateway, "
             "host.NET, VM.IFACE, an address)"),
    ("router.lan", "malformed endpoint 'router.lan': 'router' has no parts (name it alone)"),
    ("internet.wan", "malformed endpoint 'internet.wan': 'internet' has no parts (name it alone)"),
    ("10.0.0.256", "'10.0.0.256' is not an IPv4 address"),
    ("10.0.0", "'10.0.0' is not an IPv4 address"),
    ("2001:db8::1", "'2001:db8::1' is an IPv6 address: matrix endpoints are IPv4"),
    ("fe80::1", "'fe80::1' is an IPv6 address: matrix endpoints are IPv4"),
])
def test_each_problem_says_why(inv, ref, message):
    with pytest.raises(EndpointError) as info:
        parse_endpoint(ref, inv)
    assert info.value.message == message


def test_the_model_passes_its_own_vms(inv):
    """A lab state may hold other VMs than the inventory: the parser takes them, with their interfaces."""
    parser = EndpointParser(inv, {"n": ["eth0", "eth1"]})
    assert parser.parse("n.eth1").kind == "vm_iface"
    with pytest.raises(EndpointError, match="unknown endpoint 'centos' .known: host, router, n, internet,"):
        parser.parse("centos")
    with pytest.raises(EndpointError, match="n has no interface 'eth2'"):
        parser.parse("n.eth2")


def test_defaults_and_formatters_spell_what_the_parser_reads(inv):
    sources, targets = default_endpoints(inv)
    assert sources == ["host", "centos", "win7", "nat2"]
    assert targets == ["host", "host.nat", "host.hostonly", "nat.gateway", "router", "internet",
                       "centos", "win7", "nat2"]
    parser = EndpointParser(inv)
    kinds = [parser.parse(ref).kind for ref in targets]
    assert kinds == ["host", "host_adapter", "host_adapter", "gateway", "router", "external", "vm", "vm", "vm"]
    assert parser.parse(host_adapter_ref("nat")).network == "nat"
    assert parser.parse(gateway_ref("nat")).kind == "gateway"
    assert parser.parse(dhcp_ref("nat")).address == IPv4Address("10.0.0.254")


def test_topology_resolves_through_the_same_parser(inv):
    from labkit.backends.sim.lab import SimWorld
    from labkit.topology import Topology

    topo = Topology(SimWorld(inv).state)
    for ref in ("nat.gateway", "hostonly.dhcp", "host.nat", "internet", "router"):
        ep = topo.resolve(ref)
        assert (ep.node, ep.address) == (parse_endpoint(ref, inv).node, parse_endpoint(ref, inv).address)
        assert ep.node in topo.nodes  # the parser's node names are the topology's
    assert topo.resolve("10.0.0.2").node == "nat.gateway"  # an address answers as its holder
    assert topo.resolve("centos.eth0").address == IPv4Address("10.0.0.101")
    with pytest.raises(EndpointError, match="network 'hostonly' has no gateway"):
        topo.resolve("hostonly.gateway")
