"""The Workstation host's VMnet adapters on Linux: the `vmnet1`, `vmnet8` links, with iproute2.

Workstation's vmnet driver gives the host one network interface per host-only/NAT VMnet, named
after it. `ip -j link show vmnet8` reads its state (the UP flag is the administrative state, what
disabling the adapter turns off); `ip link set vmnet8 down|up` switches it, which needs root
(CAP_NET_ADMIN): refused, the kernel changes nothing, and labkit says what is missing.

Every command is an argv list run by an injected CommandRunner, so the same code runs inside a
network namespace (a runner with the prefix ["ip", "netns", "exec", NS]) and on captured outputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
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
    """The vmnetN links of the Linux host labkit runs on (or of a namespace, through the runner's prefix)."""

    def __init__(self, runner: CommandRunner) -> None:
        self.runner = runner

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
        argv = set_argv(nic.vnet, enabled)
        res = self.runner.run(argv)
        if res.ok:
            return
        if "Operation not permitted" in res.stderr or "Permission denied" in res.stderr:
            raise BackendError(f"host: switching {nic.vnet} needs root (CAP_NET_ADMIN), which labkit does not "
                               f"have; nothing was changed (run labkit with sudo): {res.stderr.strip()[:200]}")
        _fail(res, " ".join(argv))


def _fail(res: CommandResult, what: str) -> NoReturn:
    said = res.stderr.strip()[:300] or res.stdout.strip()[:300] or "no message"
    if "-j" in what and re.search(r'Option "-j(son)?" is unknown|unknown option', said, re.IGNORECASE):
        said += " (labkit reads iproute2's JSON output: iproute2 4.14 or newer)"
    raise BackendError(f"host: `{what}` failed (exit {res.exit_status}): {said}")
