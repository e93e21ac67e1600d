"""The Workstation host's VMnet adapters on Linux: the `vmnet1`, `vmnet8` links, with iproute2.

Workstation's vmnet driver gives the host one network interface per host-only/NAT VMnet, named
after it. `ip -j link show vmnet8` reads its state (the UP flag is the administrative state, what
disabling the adapter turns off); `ip link set vmnet8 down|up` switches it, which needs root
(CAP_NET_ADMIN): refused, the kernel changes nothing, and labkit says what is missing.

A link that is down keeps its addresses, and Linux keeps them as the host's own: the host still
pings 10.0.0.1 and answers for it on its other links (weak host model). A disabled adapter in the
tutorial (Windows' Disable) and in VMware's own Linux set-up (no host virtual adapter: no vmnet8
at all) has no address, and that is what the model predicts. So where labkit knows the adapter's
address (the inventory's host_adapter, checked against the host's networking files), disabling
also takes the link's IPv4 addresses away, and enabling puts that address back.

Every command is an argv list run by an injected CommandRunner, so the same code runs inside a
network namespace (a runner with the prefix ["ip", "netns", "exec", NS]) and on captured outputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from ipaddress import IPv4Interface
from typing import NoReturn

from labkit.backends.transports.commands import CommandRunner
from labkit.backends.workstation.facts import HostNic
from labkit.errors import BackendError
from labkit.protocols import CommandResult

_VNET = re.compile(r"^vmnet\d{1,2}$")


def show_argv(vnets: Sequence[str]) -> list[str]:
    """One link by name when one is asked for (`ip -j link show vmnet8`), else every link."""
    return ["ip", "-j", "link", "show", *_checked(vnets)] if len(vnets) == 1 else ["ip", "-j", "link", "show"]


def set_argv(vnet: str, enabled: bool) -> list[str]:
    return ["ip", "link", "set", *_checked([vnet]), "up" if enabled else "down"]


def switch_argvs(vnet: str, enabled: bool, address: IPv4Interface | None = None) -> list[list[str]]:
    """The commands that disable (link down, then its IPv4 addresses away) or enable (link up, then
    `address` back) the adapter; without an address, the link alone."""
    argvs = [set_argv(vnet, enabled)]
    if address is not None:
        if enabled:
            argvs.append(["ip", "addr", "replace", address.with_prefixlen, "brd", "+", "dev", vnet])
        else:
            argvs.append(["ip", "-4", "addr", "flush", "dev", vnet])
    return argvs


def _checked(vnets: Sequence[str]) -> list[str]:
    for vnet in vnets:
        if not _VNET.match(vnet):
            raise BackendError(f"host: {vnet!r} is not a VMnet interface name (vmnet0 .. vmnet19)")
    return list(vnets)


def parse_ip_links(text: str) -> list[HostNic]:
    """`ip -j link show`: a JSON list of links; those named vmnetN, enabled when flagged UP."""
    try:
        data = json.loads(text or "[]")
    except ValueError as exc:
        raise BackendError(f"host: `ip -j link show` printed no readable JSON ({exc}): {text.strip()[:200]!r}") \
            from None
    if not isinstance(data, list):
        raise BackendError(f"host: `ip -j link show` printed {type(data).__name__}, not a list of links")
    out = []
    for link in data:
        name = link.get("ifname") if isinstance(link, dict) else None
        if not isinstance(name, str) or not _VNET.match(name):
            continue
        up = "UP" in (link.get("flags") or [])
        out.append(HostNic(name, name, up, str(link.get("operstate") or ("UP" if up else "DOWN"))))
    return out


class LinuxHostNics:
    """The vmnetN links of the Linux host labkit runs on (or of a namespace, through the runner's prefix).

    `addresses`: each VMnet's host adapter address (vmnet8 -> 10.0.0.1/24); a VMnet without one is
    switched by its link alone."""

    def __init__(self, runner: CommandRunner, addresses: Mapping[str, IPv4Interface] | None = None) -> None:
        self.runner = runner
        self.addresses = dict(addresses or {})

    def read(self, vnets: Sequence[str]) -> dict[str, HostNic]:
        """The links on `vnets` the host has (a VMnet without one is absent from the result)."""
        if not vnets:
            return {}
        res = self.runner.run(show_argv(vnets))
        if not res.ok:
            if "does not exist" in res.stderr:
                return {}  # `Device "vmnet8" does not exist.`: no such adapter here
            _fail(res, " ".join(show_argv(vnets)))
        return {n.vnet: n for n in parse_ip_links(res.stdout) if n.vnet in vnets}

    def switch(self, nic: HostNic, enabled: bool) -> None:
        """The link first: without root it is refused and nothing has changed."""
        for argv in switch_argvs(nic.vnet, enabled, self.addresses.get(nic.vnet)):
            res = self.runner.run(argv)
            if res.ok:
                continue
            if "Operation not permitted" in res.stderr or "Permission denied" in res.stderr:
                raise BackendError(f"host: switching {nic.vnet} needs root (CAP_NET_ADMIN), which labkit does "
                                   f"not have; nothing was changed (run labkit with sudo): {res.stderr.strip()[:200]}")
            _fail(res, " ".join(argv))


def _fail(res: CommandResult, what: str) -> NoReturn:
    said = res.stderr.strip()[:300] or res.stdout.strip()[:300] or "no message"
    if "-j" in what and re.search(r'Option "-j(son)?" is unknown|unknown option', said, re.IGNORECASE):
        said += " (labkit reads iproute2's JSON output: iproute2 4.14 or newer)"
    raise BackendError(f"host: `{what}` failed (exit {res.exit_status}): {said}")
