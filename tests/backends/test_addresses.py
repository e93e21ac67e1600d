"""Which address a backend reports for an interface: by the adapter's MAC, never a guess."""

from ipaddress import IPv4Address, IPv4Interface

from labkit.backends.addresses import address_on
from labkit.protocols import GuestNic

A = GuestNic("00:0c:29:aa:bb:cc", (IPv4Interface("10.0.0.5/24"), IPv4Interface("10.0.0.6/24")))
B = GuestNic("00:0c:29:00:00:02", (IPv4Interface("192.168.1.7/24"),))
EMPTY = GuestNic("00:0c:29:00:00:03")


def test_by_mac_in_any_case_first_address():
    assert address_on([B, A], "00:0C:29:AA:BB:CC") == IPv4Address("10.0.0.5")
    assert address_on([A, B], "00:0c:29:00:00:02") == IPv4Address("192.168.1.7")


def test_a_nic_without_address_or_an_unknown_mac_gives_none():
    assert address_on([A, EMPTY], "00:0c:29:00:00:03") is None
    assert address_on([A, B], "00:0c:29:ff:ff:ff") is None


def test_without_a_mac_only_a_lone_nic_counts():
    assert address_on([B], None) == IPv4Address("192.168.1.7")
    assert address_on([A, B], None) is None
