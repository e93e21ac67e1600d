"""netplan dialect: ruamel round trip, finding a definition, the config mapping, and which file to edit.

Golden inputs (golden/netplan/*.yaml) are modelled on what the real writers produce: Ubuntu's subiquity
installer (dhcp and static), the 18.04 installer, cloud-init (match + set-name, 4-space indentation),
netplan's documentation example, and NetworkManager (the desktop's renderer-only file and a file
written by NetworkManager's netplan integration). `<input>.<case>.expected` are apply_config outputs.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from labkit.dialects.netplan import (
    apply_config,
    find_file,
    parse,
    path_for,
    read_config,
    render,
    restart_command,
)
from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig

GOLDEN = Path(__file__).parent / "golden" / "netplan"
INPUTS = sorted(p.name for p in GOLDEN.glob("*.yaml"))

TUTORIAL = InterfaceConfig("static", IPv4Interface("10.0.0.101/24"), IPv4Address("10.0.0.2"),
                           (IPv4Address("202.96.128.86"), IPv4Address("202.96.128.166")))
DHCP = InterfaceConfig("dhcp")


def golden(name: str) -> str:
    return (GOLDEN / name).read_text()


def applied(text: str, interface: str, cfg: InterfaceConfig) -> str:
    doc = parse(text)
    apply_config(doc, interface, cfg)
    return render(doc)


def meaning(text: str) -> object:
    """What a YAML reader sees, without round-trip decorations."""
    return YAML(typ="safe", pure=True).load(text)


def read(text: str, interface: str) -> InterfaceConfig:
    return read_config(parse(text), interface)


# ---------------------------------------------------------------- parse -> render

def test_every_golden_input_is_listed() -> None:
    assert len(INPUTS) >= 8


@pytest.mark.parametrize("name", INPUTS, ids=INPUTS)
def test_unedited_golden_renders_byte_identical(name: str) -> None:
    """Including cloud-init's PyYAML output, which mixes `- x` and `-   to: ...`."""
    assert render(parse(golden(name))) == golden(name)


ODD_BUT_IDENTICAL = {
    "flow-style": "network: {version: 2, ethernets: {eth0: {dhcp4: yes}}}\n",
    "document-start": "---\nnetwork:\n  version: 2\n",
    "no-final-newline": "network:\n  version: 2",
    "comments-and-blank-lines": "# head\nnetwork:   # top\n  version: 2\n\n  # eth\n  ethernets:\n"
                                "    eth0:\n      dhcp4: true  # lease\n# tail\n",
    "quotes": "network:\n  ethernets:\n    'eth0':\n      dhcp4: \"true\"\n      addresses: ['10.0.0.5/24']\n",
    "number-key": "network:\n  ethernets:\n    123:\n      dhcp4: on\n",
    "empty": "",
    "comment-only": "# nothing here yet\n",
    "indent-4-offset-2": "network:\n    ethernets:\n        eth0:\n            addresses:\n              - 10.0.0.5/24\n",
    # what a load-and-dump library rewrites (ruamel did, before labkit edited the text itself)
    "comment-before-document-start": "# head\n---\nnetwork:\n  version: 2\n",
    "document-end": "network:\n  version: 2\n...\n",
    "crlf": "network:\r\n  version: 2\r\n",
    "mixed-indentation": "network:\n  version: 2\n  ethernets:\n      eth0:\n        dhcp4: true\n",
    "blanks-after-colon": "network:\n  ethernets:  {}\n",
    "trailing-blanks": "network:  \n  version: 2 \n  ethernets: {}   \n",
    "flow-padding": "network:\n  ethernets:\n    eth0: { addresses: [ 10.0.0.5/24 ] }\n",
    "quoted-key-with-escapes": 'network:\n  ethernets:\n    "e\\x74h0": {dhcp4: true}\n',
    "space-before-colon": "network :\n  ethernets :\n    eth0 : {dhcp4 : true}\n",
    "whitespace-only-last-line": "network:\n  version: 2\n   ",
    "long-line": "network:\n  ethernets:\n    eth0:\n      dhcp4: true  # " + "x" * 5000 + "\n",
    "duplicate-keys-netplan-merges": "network:\n  bridges: {br0: {}}\n  bridges: {br1: {}}\n",
    "per-type-renderer": "network:\n  ethernets:\n    renderer: networkd\n    eth0: {dhcp4: true}\n",
}


@pytest.mark.parametrize("text", list(ODD_BUT_IDENTICAL.values()), ids=list(ODD_BUT_IDENTICAL))
def test_odd_inputs_render_byte_identical(text: str) -> None:
    assert render(parse(text)) == text


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("network:\n  ethernets: [eth0\n", "<f>:3: ", id="unclosed-flow"),
    pytest.param("network:\n\tversion: 2\n", "<f>:2: ", id="tab-indent"),
    pytest.param("- network\n", "<f>:1: the top level is not a mapping", id="top-level-list"),
    pytest.param("network: 2\n", "<f>:1: network: is not a mapping", id="network-scalar"),
    pytest.param("network:\n  ethernets: [eth0]\n", "<f>:2: network.ethernets: is not a mapping",
                 id="section-list"),
    pytest.param("network:\n  ethernets:\n    eth0:\n    eth1: {}\n",
                 "<f>:3: network.ethernets.eth0: is not a mapping", id="definition-null"),
    pytest.param("a: 1\n---\nb: 2\n", "<f>:3: a second YAML document", id="two-documents"),
])
def test_parse_refuses_what_netplan_would_not_read(text: str, message: str) -> None:
    with pytest.raises(GuestConfigError, match=message.replace("<f>", "/etc/netplan/x.yaml")):
        parse(text, "/etc/netplan/x.yaml")


# ---------------------------------------------------------------- read_config

@pytest.mark.parametrize(("name", "interface", "cfg"), [
    pytest.param("subiquity-dhcp.yaml", "ens33", DHCP, id="subiquity-dhcp"),
    pytest.param("subiquity-static.yaml", "ens33", TUTORIAL, id="subiquity-static-gateway4"),
    pytest.param("bionic-installer.yaml", "ens33", DHCP, id="bionic-dhcp4-yes"),
    pytest.param("cloud-init.yaml", "eth0", DHCP, id="cloud-init-set-name-same-as-id"),
    pytest.param("cloud-init.yaml", "ens34",
                 InterfaceConfig("static", IPv4Interface("192.168.56.10/24")), id="cloud-init-set-name-renames"),
    pytest.param("cloud-init-static.yaml", "ens33",
                 InterfaceConfig("static", IPv4Interface("10.0.0.101/24"), IPv4Address("10.0.0.2"),
                                 (IPv4Address("202.96.128.86"),)), id="cloud-init-routes"),
    pytest.param("docs-static.yaml", "enp3s0",
                 InterfaceConfig("static", IPv4Interface("10.10.10.2/24"), IPv4Address("10.10.10.1"),
                                 (IPv4Address("10.10.10.1"), IPv4Address("1.1.1.1"))),
                 id="docs-ipv6-skipped"),
    pytest.param("docs-static.yaml", "enp4s0", DHCP, id="docs-optional-is-not-onboot"),
    pytest.param("docs-static.yaml", "br0", InterfaceConfig("static", IPv4Interface("192.168.100.1/24")),
                 id="bridge"),
    pytest.param("nm-connection.yaml", "enp1s0",
                 InterfaceConfig("static", IPv4Interface("10.0.0.101/24"), IPv4Address("10.0.0.2"),
                                 (IPv4Address("202.96.128.86"),)), id="nm-match-name-quoted"),
])
def test_read_config_of_golden(name: str, interface: str, cfg: InterfaceConfig) -> None:
    assert read(golden(name), interface) == cfg


def eth0(body: str) -> str:
    return "network:\n  version: 2\n  ethernets:\n    eth0:\n" + "".join(f"      {line}\n" for line in body.split("\n"))


@pytest.mark.parametrize(("body", "cfg"), [
    pytest.param("dhcp4: Y", DHCP, id="y"),
    pytest.param("dhcp4: 'ON'", DHCP, id="quoted-on"),
    pytest.param("dhcp4: off\naddresses: [10.0.0.5/24]", InterfaceConfig("static", IPv4Interface("10.0.0.5/24")),
                 id="off"),
    pytest.param("addresses:\n- 10.0.0.5/24:\n    label: eth0:1", InterfaceConfig("static", IPv4Interface("10.0.0.5/24")),
                 id="address-with-options"),
    pytest.param("addresses: [10.0.0.5/24]\nroutes:\n- to: 0.0.0.0/0\n  via: 10.0.0.1\n  metric: 100",
                 InterfaceConfig("static", IPv4Interface("10.0.0.5/24"), IPv4Address("10.0.0.1")),
                 id="route-with-metric"),
    pytest.param("addresses: [10.0.0.5/24]\nroutes:\n- to: default\n  via: 10.0.0.9\n  table: 100",
                 InterfaceConfig("static", IPv4Interface("10.0.0.5/24")), id="policy-route-not-default"),
    pytest.param("addresses: [10.0.0.5/24]\ngateway4: 10.0.0.1\nroutes:\n- to: default\n  via: 10.0.0.1",
                 InterfaceConfig("static", IPv4Interface("10.0.0.5/24"), IPv4Address("10.0.0.1")),
                 id="gateway4-and-same-route"),
    pytest.param("dhcp4: true\nroutes: [{to: default, via: 10.9.9.9}]\nnameservers: {addresses: [8.8.8.8]}",
                 InterfaceConfig("dhcp", gateway=IPv4Address("10.9.9.9"), dns=(IPv4Address("8.8.8.8"),)),
                 id="dhcp-with-gateway-and-dns"),
    pytest.param("dhcp4: true\nactivation-mode-x: 1\noptional: true", DHCP, id="unknown-keys-ignored"),
])
def test_read_config_values(body: str, cfg: InterfaceConfig) -> None:
    assert read(eth0(body), "eth0") == cfg


@pytest.mark.parametrize(("body", "message"), [
    pytest.param("dhcp4: maybe", ":5: network.ethernets.eth0.dhcp4: 'maybe' is not a boolean", id="bool"),
    pytest.param("addresses: [10.0.0.300/24]", ":5: .*addresses\\[0\\]: '10.0.0.300/24' is not an address",
                 id="address"),
    pytest.param("addresses:\n- 10.0.0.5", ":6: .*addresses\\[0\\]: '10.0.0.5' is not an address/prefix",
                 id="no-prefix"),
    pytest.param("addresses: [10.0.0.5/255.255.255.0]", ".*is not an address/prefix", id="netmask-prefix"),
    pytest.param("addresses: 10.0.0.5/24", ":5: .*addresses: is not a list", id="addresses-scalar"),
    pytest.param("addresses: [10.0.0.5/24]\ngateway4: 10.0.0", ":6: .*gateway4: '10.0.0' is not an IPv4",
                 id="gateway4"),
    pytest.param("addresses: [10.0.0.5/24]\nroutes:\n- to: 0.0.0.0/0\n  via: fe80::1", ":8: .*via: 'fe80::1'",
                 id="ipv4-route-via-ipv6"),
    pytest.param("nameservers:\n  addresses: [8.8.8]\ndhcp4: yes", ":6: .*nameservers.addresses\\[0\\]",
                 id="nameserver"),
    pytest.param("dhcp4: yes\naddresses: [10.0.0.5/24]", ":4: .*dhcp4 and static IPv4 addresses",
                 id="dhcp-and-static"),
    pytest.param("addresses: [10.0.0.5/24, 10.0.0.6/24]", ":4: .*2 IPv4 addresses \\(10.0.0.5/24, 10.0.0.6/24\\)",
                 id="two-addresses"),
    pytest.param("addresses: [10.0.0.5/24]\ngateway4: 10.0.0.1\nroutes: [{to: default, via: 10.0.0.2}]",
                 ":4: .*several IPv4 default routes \\(10.0.0.1, 10.0.0.2\\)", id="two-gateways"),
    pytest.param("addresses: [10.0.0.5/24]\ngateway4: 10.9.0.1", ":4: .*outside", id="gateway-outside"),
    pytest.param("dhcp6: true\naddresses: ['2001:db8::5/64']", ":4: .*neither dhcp4 nor an IPv4 address", id="ipv6-only"),
    pytest.param("dhcp4: true\nactivation-mode: 'off'", ":6: .*activation-mode: 'off' is not supported",
                 id="activation-mode-off"),
    pytest.param("dhcp4: true\ndhcp4: false", ":6: .*dhcp4: given twice \\(lines 5 and 6\\)", id="owned-key-twice"),
    pytest.param("dhcp4: true\nnetworkmanager:\n  passthrough:\n    ipv4.method: manual",
                 ":8: .*passthrough.ipv4.method: overrides", id="nm-passthrough"),
])
def test_read_config_refuses_with_line(body: str, message: str) -> None:
    with pytest.raises(GuestConfigError, match="/etc/netplan/01-netcfg.yaml" + message):
        read(eth0(body), "eth0")


@pytest.mark.parametrize(("text", "interface", "message"), [
    pytest.param(golden("nm-all.yaml"), "ens33", "ens33: is not defined", id="renderer-only"),
    pytest.param(golden("docs-static.yaml"), "enp5s0", "port of network.bridges.br0: .*configure br0 instead",
                 id="bridge-member"),
    pytest.param("network:\n  ethernets:\n    all:\n      match: {name: 'en*'}\n      dhcp4: true\n", "ens33",
                 ":3: network.ethernets.all: matches ens33 by the name pattern 'en\\*'", id="glob"),
    pytest.param("network:\n  ethernets:\n    nic:\n      match: {macaddress: '00:0c:29:00:00:01'}\n", "eth0",
                 "matches devices by macaddress without a set-name", id="mac-without-set-name"),
    pytest.param("network:\n  ethernets:\n    a: {match: {name: eth0}}\n    b: {set-name: eth0, match: {}}\n",
                 "eth0", "defined more than once: network.ethernets.a, network.ethernets.b", id="twice"),
    pytest.param("network:\n  bonds:\n    bond0: {interfaces: [eth0]}\n  ethernets:\n    eth0: {}\n", "eth0",
                 "port of network.bonds.bond0", id="bond-member"),
])
def test_read_config_refuses_definitions_it_cannot_pin_down(text: str, interface: str, message: str) -> None:
    with pytest.raises(GuestConfigError, match=message):
        read(text, interface)


def test_glob_that_does_not_match_is_no_obstacle() -> None:
    text = "network:\n  ethernets:\n    wl:\n      match: {name: 'wl*'}\n    eth0: {dhcp4: true}\n"
    assert read(text, "eth0") == DHCP


# ---------------------------------------------------------------- apply_config

@pytest.mark.parametrize(("name", "interface", "cfg", "case"), [
    pytest.param("subiquity-dhcp.yaml", "ens33", TUTORIAL, "static", id="subiquity-dhcp-to-static"),
    pytest.param("subiquity-static.yaml", "ens33", DHCP, "dhcp", id="subiquity-static-to-dhcp"),
    pytest.param("bionic-installer.yaml", "ens33", TUTORIAL, "static", id="bionic-yes-becomes-no"),
    pytest.param("cloud-init.yaml", "eth0", TUTORIAL, "eth0-static", id="cloud-init-4-space"),
    pytest.param("cloud-init.yaml", "ens34", DHCP, "ens34-dhcp", id="cloud-init-by-set-name"),
    pytest.param("docs-static.yaml", "enp3s0", DHCP, "enp3s0-dhcp", id="docs-ipv6-kept"),
    pytest.param("nm-all.yaml", "ens33", TUTORIAL, "ens33-static", id="nm-all-creates-ethernets"),
    pytest.param("nm-connection.yaml", "enp1s0", DHCP, "dhcp", id="nm-by-match-name"),
])
def test_apply_config_golden(name: str, interface: str, cfg: InterfaceConfig, case: str) -> None:
    expected = golden(f"{name.removesuffix('.yaml')}.{case}.expected")
    assert applied(golden(name), interface, cfg) == expected
    assert read(expected, interface) == dns_rule(golden(name), interface, cfg)


def dns_rule(before: str, interface: str, cfg: InterfaceConfig) -> InterfaceConfig:
    """What reads back after applying cfg (docs/format.md): DHCP naming no servers keeps the file's."""
    if cfg.mode == "dhcp" and not cfg.dns:
        return InterfaceConfig("dhcp", cfg.address, cfg.gateway, read(before, interface).dns, cfg.onboot)
    return cfg


OWN = [("subiquity-dhcp.yaml", "ens33"), ("subiquity-static.yaml", "ens33"), ("bionic-installer.yaml", "ens33"),
       ("cloud-init.yaml", "eth0"), ("cloud-init.yaml", "ens34"), ("docs-static.yaml", "enp3s0"),
       ("docs-static.yaml", "enp4s0"), ("docs-static.yaml", "br0"), ("nm-connection.yaml", "enp1s0")]


@pytest.mark.parametrize(("name", "interface"), OWN, ids=[f"{n}-{i}" for n, i in OWN])
def test_applying_a_files_own_config_changes_nothing(name: str, interface: str) -> None:
    text = golden(name)
    assert applied(text, interface, read(text, interface)) == text


@pytest.mark.parametrize(("name", "interface"), OWN, ids=[f"{n}-{i}" for n, i in OWN])
def test_other_definitions_are_untouched(name: str, interface: str) -> None:
    text = golden(name)
    out = applied(text, interface, InterfaceConfig("static", IPv4Interface("172.16.9.9/16"), IPv4Address("172.16.0.1")))
    before, after = meaning(text)["network"], meaning(out)["network"]
    assert set(before) == set(after)
    for section in before:
        if not isinstance(before[section], dict):
            assert after[section] == before[section]
            continue
        for key, body in before[section].items():
            if interface not in (key, body.get("set-name"), (body.get("match") or {}).get("name")):
                assert after[section][key] == body


@pytest.mark.parametrize(("body", "cfg", "expected"), [
    pytest.param("addresses: [10.0.0.5/24]\ngateway4: 10.0.0.1",
                 InterfaceConfig("static", IPv4Interface("10.0.0.6/24"), IPv4Address("10.0.0.254")),
                 "addresses: [10.0.0.6/24]\ngateway4: 10.0.0.254", id="gateway4-style-kept"),
    pytest.param("addresses: [10.0.0.5/24]\ngateway4: 10.0.0.1\nroutes:\n- to: 10.1.0.0/16\n  via: 10.0.0.3",
                 InterfaceConfig("static", IPv4Interface("10.0.0.5/24"), IPv4Address("10.0.0.2")),
                 "addresses: [10.0.0.5/24]\ngateway4: 10.0.0.2\nroutes:\n- to: 10.1.0.0/16\n  via: 10.0.0.3",
                 id="gateway4-updated-other-route-kept"),
    pytest.param("addresses: [10.0.0.5/24]\nroutes:\n- to: 0.0.0.0/0\n  via: 10.0.0.1\n  metric: 50\n  on-link: true",
                 InterfaceConfig("static", IPv4Interface("10.0.0.5/24"), IPv4Address("10.0.0.9")),
                 "addresses: [10.0.0.5/24]\nroutes:\n- to: 0.0.0.0/0\n  via: 10.0.0.9\n  metric: 50\n  on-link: true",
                 id="route-via-updated-metric-kept"),
    pytest.param("addresses: [10.0.0.5/24]\nroutes:\n- to: default\n  via: 'fe80::1'",
                 InterfaceConfig("static", IPv4Interface("10.0.0.5/24"), IPv4Address("10.0.0.1")),
                 "addresses: [10.0.0.5/24]\nroutes:\n- to: default\n  via: 'fe80::1'\n- to: default\n  via: 10.0.0.1",
                 id="to-default-spelling-reused"),
    pytest.param("addresses: ['2001:db8::5/64', 10.0.0.5/24, 10.0.0.6/24]\ngateway4: 10.0.0.1",
                 InterfaceConfig("static", IPv4Interface("192.168.1.2/24")),
                 "addresses: ['2001:db8::5/64', 192.168.1.2/24]", id="ipv4-replaced-in-place-gateway-removed"),
    pytest.param("addresses: [10.0.0.5/24]\ngateway4: 10.0.0.1\nroutes:\n- to: 0.0.0.0/0\n  via: 10.0.0.1\n"
                 "- to: 10.1.0.0/16\n  via: 10.0.0.3",
                 InterfaceConfig("static", IPv4Interface("10.0.0.5/24"), IPv4Address("10.0.0.2")),
                 "addresses: [10.0.0.5/24]\ngateway4: 10.0.0.2\nroutes:\n- to: 10.1.0.0/16\n  via: 10.0.0.3",
                 id="gateway4-wins-duplicate-route-dropped"),
    pytest.param("dhcp4: NO\naddresses: [10.0.0.5/24]", DHCP, "dhcp4: YES", id="spelling-case-kept"),
    pytest.param("dhcp4: 'false'\naddresses: [10.0.0.5/24]", DHCP, "dhcp4: 'true'", id="quoting-kept"),
    pytest.param("dhcp4: true\nnameservers:\n  search: [lab]\n  addresses: [8.8.8.8, '2001:4860:4860::8888']",
                 InterfaceConfig("dhcp", dns=(IPv4Address("1.1.1.1"), IPv4Address("9.9.9.9"))),
                 "dhcp4: true\nnameservers:\n  search: [lab]\n  addresses: [1.1.1.1, 9.9.9.9, '2001:4860:4860::8888']",
                 id="dns-ipv6-kept-search-kept"),
    pytest.param("addresses: [10.0.0.5/24]\nnameservers:\n  addresses: [8.8.8.8]\noptional: true",
                 InterfaceConfig("static", IPv4Interface("10.0.0.5/24")),
                 "addresses: [10.0.0.5/24]\noptional: true", id="emptied-nameservers-removed"),
    pytest.param("dhcp4: false\naddresses: [10.0.0.5/24]\nnameservers:\n  addresses: [8.8.8.8]", DHCP,
                 "dhcp4: true\nnameservers:\n  addresses: [8.8.8.8]", id="dhcp-naming-no-dns-keeps-them"),
    pytest.param("match: {macaddress: '00:0c:29:00:00:01'}\nset-name: eth0\noptional: true",
                 InterfaceConfig("static", IPv4Interface("10.0.0.5/24")),
                 "match: {macaddress: '00:0c:29:00:00:01'}\nset-name: eth0\noptional: true\n"
                 "addresses:\n- 10.0.0.5/24", id="static-without-dhcp4-key-adds-none"),
])
def test_apply_config_edits(body: str, cfg: InterfaceConfig, expected: str) -> None:
    assert applied(eth0(body), "eth0", cfg) == eth0(expected)
    assert read(eth0(expected), "eth0") == dns_rule(eth0(body), "eth0", cfg)


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("", "", id="empty"),
    pytest.param("# written by hand\n", "# written by hand\n", id="comment-only"),
    pytest.param("network:\n  version: 2\n  renderer: networkd\n", "network:\n  version: 2\n  renderer: networkd\n",
                 id="no-ethernets"),
    pytest.param("network: {version: 2}\n", None, id="flow"),
])
def test_apply_config_creates_the_interface(text: str, expected: str | None) -> None:
    out = applied(text, "eth1", TUTORIAL)
    if expected is not None:
        head = expected if expected.startswith("network:") else expected + "network:\n  version: 2\n"
        assert out == head + (
            "  ethernets:\n    eth1:\n      dhcp4: false\n      addresses:\n      - 10.0.0.101/24\n"
            "      routes:\n      - to: 0.0.0.0/0\n        via: 10.0.0.2\n      nameservers:\n        addresses:\n"
            "        - 202.96.128.86\n        - 202.96.128.166\n")
    assert read(out, "eth1") == TUTORIAL


def test_flow_file_stays_flow() -> None:
    out = applied("network: {version: 2, ethernets: {eth0: {dhcp4: yes}}}\n", "eth0",
                  InterfaceConfig("static", IPv4Interface("10.0.0.5/24"), IPv4Address("10.0.0.1")))
    assert out == ("network: {version: 2, ethernets: {eth0: {dhcp4: no, addresses: [10.0.0.5/24], "
                   "routes: [{to: 0.0.0.0/0, via: 10.0.0.1}]}}}\n")


def test_onboot_false_is_refused_where_activation_mode_is_not_already_used() -> None:
    doc = parse(golden("subiquity-dhcp.yaml"))
    with pytest.raises(GuestConfigError, match="activation-mode: manual .*where the definition already has it"):
        apply_config(doc, "ens33", InterfaceConfig("dhcp", onboot=False))
    assert render(doc) == golden("subiquity-dhcp.yaml")


def test_activation_mode_manual_is_onboot_false_both_ways() -> None:
    text = eth0("dhcp4: true\nactivation-mode: manual")
    assert read(text, "eth0") == InterfaceConfig("dhcp", onboot=False)
    assert applied(text, "eth0", InterfaceConfig("dhcp", onboot=False)) == text
    assert applied(text, "eth0", DHCP) == eth0("dhcp4: true")


def test_a_definition_named_by_its_id_is_edited_in_place() -> None:
    """cloud-init's `lan1` is the device ens34 after set-name: named lan1, the definition is still edited."""
    out = applied(golden("cloud-init.yaml"), "lan1", DHCP)
    assert out == golden("cloud-init.ens34-dhcp.expected")


def test_refused_definition_is_left_untouched() -> None:
    text = eth0("dhcp4: true\nnameservers:\n  addresses: [8.8.8.8]\nroutes: [{to: 0.0.0.0/0, via: bad}]")
    doc = parse(text)
    with pytest.raises(GuestConfigError, match="'bad' is not an IPv4 address"):
        apply_config(doc, "eth0", TUTORIAL)
    assert render(doc) == text


@pytest.mark.parametrize(("text", "interface", "message"), [
    pytest.param(golden("docs-static.yaml"), "enp5s0", "enp5s0: is a port of network.bridges.br0",
                 id="new-but-bridge-member"),
    pytest.param("network:\n  ethernets:\n    all:\n      match: {name: 'e*'}\n      dhcp4: true\n", "eth0",
                 "name pattern", id="glob"),
    pytest.param(eth0("dhcp4: true\nnetworkmanager:\n  passthrough:\n    ipv4.addresses: 10.0.0.5/24"), "eth0",
                 "passthrough.ipv4.addresses: overrides", id="nm-passthrough"),
    pytest.param("network:\n  ethernets:\n    eth0: {dhcp4: true, nameservers: {addresses: &dns [8.8.8.8]}}\n"
                 "    eth1: {dhcp4: true, nameservers: {addresses: *dns}}\n",
                 "eth1", "network.ethernets.eth1.nameservers.addresses: is shared through the YAML anchor &dns",
                 id="alias"),
    pytest.param("network:\n  ethernets:\n    eth1: &base\n      dhcp4: true\n    eth2:\n      <<: *base\n", "eth2",
                 "network.ethernets.eth2: uses a YAML merge key", id="merge-key"),
])
def test_apply_config_refuses(text: str, interface: str, message: str) -> None:
    doc = parse(text)
    with pytest.raises(GuestConfigError, match=message):
        apply_config(doc, interface, TUTORIAL)
    assert render(doc) == text


# ---------------------------------------------------------------- hostile names

HOSTILE_NAMES = {
    "empty": "",
    "too-long": "a" * 16,
    "newline": "eth0\nnetwork: {}",
    "colon-space": "eth0: {}",
    "space": "eth 0",
    "hash": "eth0#",
    "flow": "{eth0}",
    "quote": "eth0'",
    "command": "$(reboot)",
    "slash": "../eth0",
    "nul": "eth\0",
    "unicode": "ethé",
}


@pytest.mark.parametrize("name", list(HOSTILE_NAMES.values()), ids=list(HOSTILE_NAMES))
def test_hostile_interface_names_are_refused(name: str) -> None:
    doc = parse(golden("subiquity-dhcp.yaml"))
    for call in (lambda: read_config(doc, name), lambda: apply_config(doc, name, DHCP),
                 lambda: path_for(name), lambda: restart_command(name), lambda: find_file({}, name)):
        with pytest.raises(GuestConfigError, match="not a valid interface name"):
            call()
    assert render(doc) == golden("subiquity-dhcp.yaml")


@pytest.mark.parametrize("name", ["123", "true", "null", "yes", "eth0:1", "-x", "@x", "a.b", "br-lan"])
def test_yaml_significant_names_are_written_as_strings(name: str) -> None:
    out = applied(golden("subiquity-dhcp.yaml"), name, DHCP)
    assert name in meaning(out)["network"]["ethernets"]  # str key to any YAML reader, as to netplan
    assert read(out, name) == DHCP


# ---------------------------------------------------------------- files and commands

def test_path_for_and_restart_command() -> None:
    assert path_for("eth0") == "/etc/netplan/01-netcfg.yaml"
    assert restart_command("eth0") == "netplan apply"


FILES = {
    "/etc/netplan/00-installer-config.yaml": golden("subiquity-dhcp.yaml"),
    "/etc/netplan/50-cloud-init.yaml": golden("cloud-init.yaml"),
    "/etc/netplan/01-network-manager-all.yaml": golden("nm-all.yaml"),
    "/etc/netplan/README": "not yaml: [",
}


@pytest.mark.parametrize(("interface", "path"), [
    pytest.param("ens33", "/etc/netplan/00-installer-config.yaml", id="installer"),
    pytest.param("ens34", "/etc/netplan/50-cloud-init.yaml", id="by-set-name"),
    pytest.param("eth9", None, id="absent"),
])
def test_find_file(interface: str, path: str | None) -> None:
    assert find_file(FILES, interface) == path


def test_find_file_refuses_a_definition_netplan_merges_from_two_files() -> None:
    files = dict(FILES, **{"/etc/netplan/99-override.yaml": eth0("dhcp4: false")})
    with pytest.raises(GuestConfigError, match="eth0: defined in /etc/netplan/50-cloud-init.yaml, "
                                               "/etc/netplan/99-override.yaml"):
        find_file(files, "eth0")


def test_find_file_follows_run_shadowing_etc() -> None:
    files = {"/etc/netplan/50-cloud-init.yaml": golden("cloud-init.yaml"),
             "/run/netplan/50-cloud-init.yaml": "network:\n  version: 2\n",
             "/lib/netplan/60-x.yaml": golden("subiquity-dhcp.yaml")}
    assert find_file(files, "eth0") is None
    assert find_file(files, "ens33") == "/lib/netplan/60-x.yaml"


def test_find_file_names_the_file_that_does_not_parse() -> None:
    with pytest.raises(GuestConfigError, match="/etc/netplan/10-bad.yaml:3: "):
        find_file({"/etc/netplan/10-bad.yaml": "network:\n  ethernets: [\n"}, "eth0")


# ---------------------------------------------------------------- round trip

ADDRESS = st.builds(lambda n, p: IPv4Interface((n, p)), st.integers(0, 2**32 - 1), st.integers(1, 32))
IP = st.integers(0, 2**32 - 1).map(IPv4Address)
DNS = st.lists(IP, max_size=3).map(tuple)


@st.composite
def configs(draw: st.DrawFn) -> InterfaceConfig:
    if draw(st.booleans()):
        return InterfaceConfig("dhcp", gateway=draw(st.none() | IP), dns=draw(DNS))
    address = draw(ADDRESS)
    net = address.network
    gateway = draw(st.none() | st.integers(0, net.num_addresses - 1).map(lambda i: net[i]))
    return InterfaceConfig("static", address, gateway, draw(DNS))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(OWN + [("nm-all.yaml", "ens33"), ("cloud-init-static.yaml", "ens33")]), configs(), configs())
def test_apply_then_read_gives_the_config_back(target: tuple[str, str], first: InterfaceConfig,
                                               cfg: InterfaceConfig) -> None:
    name, interface = target
    between = applied(golden(name), interface, first)
    once = applied(between, interface, cfg)
    assert read(once, interface) == dns_rule(between, interface, cfg)
    assert applied(once, interface, cfg) == once  # a second apply changes nothing
