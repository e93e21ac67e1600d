"""The dialects against 1,083 real configuration files (corpora/network-configs, read in place from
$LABKIT_SHARED; GPL/MIT: never copied here), one test case per file; tests/dialects/corpus_checks.py
says what each case checks and how the real tools are called.

Every refusal is on purpose and listed in corpus_expected.tsv (`file, interface, what, reason`): what
labkit refuses (`parse`, `read`, a `static` or `dhcp` edit) with a reason key of REASONS below, and
the files the real tool itself rejects (`tool`) with the words of its message. A refusal not listed,
or listed but no longer made, fails its file's case. Regenerate the list only after reading why:
`python -m tests.dialects.test_corpus > tests/dialects/corpus_expected.tsv`.
"""

from __future__ import annotations

import csv
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import require, shared_dir
from tests.dialects import corpus_checks as cc
from tests.dialects import corpus_tools as tools

EXPECTED = Path(__file__).with_name("corpus_expected.tsv")

# Why labkit refuses, as a pattern its message must match. Each is a construct it refuses on purpose.
REASONS = {
    "port": (r"is a port of|the profile is a port of",
             "a bond's or bridge's port: its address belongs to the master, which the message names"),
    "unbound": (r"has no interface-name", "a keyfile bound by MAC or to any device, not to an interface name"),
    "not-a-profile": (r"no \[connection\] group", "a keyfile with no [connection]: not a connection profile"),
    "method": (r"method '.*' is neither dhcp nor static|method=[a-z-]+ is not supported|"
               r"is not supported \(labkit's onboot|labkit replaces only a dhcp, static or manual method",
               "an IPv4 method InterfaceConfig cannot say (manual, link-local, shared, disabled, activation-mode "
               "off), or one labkit does not replace (the loopback, ppp, a tunnel)"),
    "loopback": (r"lo is the loopback|the loopback profile", "the loopback is not a network adapter"),
    "no-ipv4": (r"no IPv4 configuration labkit can describe|neither dhcp4 nor an IPv4 address|no IPADDR|"
                r"static with no IPv4 address",
                "no IPv4 configuration to read (IPv6 only, a port's empty stanza, a disconnected adapter)"),
    "no-prefix": (r"no prefix and no netmask|has no prefix length", "an address without a prefix length, "
                  "which the tools complete differently (/32, /24): labkit does not guess"),
    "plain-ipconfig": (r"does not say whether DHCP is enabled", "plain `ipconfig` output says addresses, "
                       "not whether they are DHCP's"),
    "gateway-outside": (r"gateway [0-9.]+ is outside", "an on-link gateway outside the subnet: InterfaceConfig "
                        "cannot say on-link"),
    "dhcp-and-static": (r"DHCP plus static|dhcp4 and static IPv4 addresses", "DHCP and static addresses at once"),
    "several": (r"IPv4 addresses \(|several IPv4 default routes|inet stanzas", "several addresses, default "
                "routes or stanzas, where InterfaceConfig has one"),
    "inherits": (r"inherits", "ifupdown `inherits`: an edit would reach or be overridden by another stanza"),
    "name": (r"not a valid interface name|not an interface name labkit accepts",
             "not an interface name (an NM-<uuid> ID, a glob, a Hurd /dev path, control characters)"),
    "vrf": (r"a VRF takes no address", "a VRF has no address of its own"),
    "sriov": (r"renderer: sriov", "a hardware VLAN filter, not an interface"),
    "access-point": (r"access point", "DHCP on a wifi access point, which NetworkManager shares instead"),
    "nm-passthrough": (r"overrides netplan's IPv4 settings", "NetworkManager passthrough settings override netplan's"),
    "bash-nm-disagree": (r"text after the value|unterminated|carriage return",
                         "a line bash and NetworkManager read differently"),
    "invalid": (r"is not an address/prefix|is not a boolean|is not a mapping|is not an IPv4 address|"
                r"is not an IP address|undefined alias|cannot start any token|expected <block end>|"
                r"misplaced option|an iface line needs|option without a value",
                "a value or syntax the real tool rejects too"),
}


def _expected() -> dict[str, dict[tuple[str, str], str]]:
    out: dict[str, dict[tuple[str, str], str]] = {}
    with EXPECTED.open(newline="", encoding="utf-8") as f:
        for rel, interface, whats, reason in csv.reader(f, delimiter="\t"):
            for what in whats.split(","):
                out.setdefault(rel, {})[(interface, what)] = reason
    return out


DIALECT_FILES = [(d, rel) for d in ("ifcfg", "ifupdown", "nmkeyfile", "netplan", "netsh") for rel in cc.files(d)]
TOOLS = {"ifcfg": "bash", "ifupdown": "ifquery", "nmkeyfile": "the system python3's PyGObject (GLib)",
         "netplan": "Debian's netplan.io (netplan generate)"}

if not DIALECT_FILES:
    def test_corpus_present() -> None:
        shared_dir(cc.CORPUS)  # skips, or fails under CI


def _tool_present(dialect: str) -> bool:
    if dialect == "ifcfg":
        return shutil.which("bash") is not None
    if dialect == "ifupdown":
        return (shutil.which("ifquery") or shutil.which("ifquery", path="/usr/sbin:/sbin")) is not None
    if dialect == "netplan":
        return tools.netplan_generate() is not None
    return tools.glib_present()


@pytest.mark.parametrize(("dialect", "rel"), DIALECT_FILES or [pytest.param("-", "-", marks=pytest.mark.skip(
    reason="the corpus is absent: test_corpus_present says so (and fails under CI)"))],
                         ids=[rel for _, rel in DIALECT_FILES] or ["absent"])
def test_corpus_file(dialect: str, rel: str) -> None:
    expected = _expected().get(rel, {})
    if dialect == "netsh":
        run = cc.run_netsh(rel)
    else:
        require(_tool_present(dialect), f"{TOOLS[dialect]} is not installed (make lab-deps)")
        run = cc.run_dialect(dialect)[rel]
    problems = list(run.problems)
    for (interface, what), message in run.refusals.items():
        key = expected.get((interface, what))
        if key is None:
            problems.append(f"{interface} {what}: refused, and not listed: {message}")
        elif not re.search(REASONS[key][0], message):
            problems.append(f"{interface} {what}: listed as {key!r}, but refused with: {message}")
    for (interface, what), key in expected.items():
        if what != "tool" and (interface, what) not in run.refusals:
            problems.append(f"{interface} {what}: listed as refused ({key}), but labkit accepts it")
    original = run.original
    tool_says = expected.get(("-", "tool"))
    if original is not None and original.accepted is False and (tool_says is None or tool_says not in original.message):
        problems.append(f"the real tool rejects the file, and that is not listed: {original.message[:300]}")
    if tool_says is not None and (original is None or original.accepted is not False):
        problems.append(f"listed as rejected by the real tool ({tool_says!r}), but it accepts the file")
    for check in run.checks:
        if check.what == "original":
            continue
        if original is not None and original.accepted is not False and check.accepted is False:
            problems.append(f"{check.interface} {check.what}: the real tool rejects labkit's edit: "
                            f"{check.message[:300]}")
        problems += [f"{check.interface} {check.what}: {p}" for p in check.problems]
    assert problems == []  # every problem of the file, listed at once


def test_every_listed_file_exists() -> None:
    shared_dir(cc.CORPUS)
    missing = sorted(set(_expected()) - {rel for _, rel in DIALECT_FILES})
    assert missing == []


def test_every_listed_reason_is_known() -> None:
    unknown = sorted({key for entries in _expected().values() for (_, what), key in entries.items()
                      if what != "tool" and key not in REASONS})
    assert unknown == []


def _generate() -> None:  # pragma: no cover - a maintenance tool, see the module docstring
    out = csv.writer(sys.stdout, delimiter="\t", lineterminator="\n")
    for dialect, rel in DIALECT_FILES:
        run = cc.run_netsh(rel) if dialect == "netsh" else cc.run_dialect(dialect)[rel]
        grouped: dict[tuple[str, str], list[str]] = {}
        for (interface, what), message in run.refusals.items():
            key = next((k for k, (pattern, _) in REASONS.items() if re.search(pattern, message)), "UNKNOWN: " + message)
            grouped.setdefault((interface, key), []).append(what)
        for (interface, key), whats in grouped.items():
            out.writerow([rel, interface, ",".join(whats), key])
        if run.original is not None and run.original.accepted is False:
            out.writerow([rel, "-", "tool", tools.tool_reason(run.original.message)])


if __name__ == "__main__":
    _generate()
