"""Which network-config dialect a guest speaks, found by looking at it (as testinfra picks a service
module by probing the host): the files present, then /etc/os-release to break ties.

One command over the guest transport, so it costs one round trip; the inventory's `dialect:`
skips it entirely.
"""

from __future__ import annotations

from labkit.errors import GuestConfigError
from labkit.protocols import GuestTransport

PROBE = ("cat /etc/os-release 2>/dev/null; echo === files; "
         "ls -d /etc/sysconfig/network-scripts/ifcfg-* /etc/network/interfaces /etc/netplan/*.yaml "
         "/etc/NetworkManager/system-connections/*.nmconnection 2>/dev/null; "
         "echo === tools; command -v nmcli netplan ifup 2>/dev/null; true")


def classify(output: str) -> str:
    """Pure: the probe's output -> dialect name (raises GuestConfigError when nothing fits)."""
    release, _, rest = output.partition("=== files")
    files, _, tools = rest.partition("=== tools")
    os_release = dict(line.split("=", 1) for line in release.splitlines() if "=" in line)
    family = " ".join(os_release.get(k, "").strip('"').lower() for k in ("ID", "ID_LIKE"))
    present = [f.strip() for f in files.splitlines() if f.strip()]
    tools = tools.lower()
    has = {
        "netplan": any(f.startswith("/etc/netplan/") for f in present),
        "nmkeyfile": any(f.endswith(".nmconnection") for f in present),
        "ifcfg": any("/network-scripts/ifcfg-" in f and not f.endswith("ifcfg-lo") for f in present),
        "ifupdown": "/etc/network/interfaces" in present,
    }
    if has["netplan"] and "netplan" in tools:
        return "netplan"  # Ubuntu 18+: netplan renders for networkd or NetworkManager
    if has["ifcfg"] and any(x in family for x in ("rhel", "centos", "fedora", "suse")) or (
            has["ifcfg"] and not has["ifupdown"]):
        return "ifcfg"
    if has["nmkeyfile"] and "nmcli" in tools:
        return "nmkeyfile"
    if has["ifupdown"]:
        return "ifupdown"
    raise GuestConfigError("cannot tell how this guest configures its network (no ifcfg, interfaces, netplan "
                           "or NetworkManager keyfile found); set `dialect:` in the inventory")


def detect(transport: GuestTransport) -> str:
    result = transport.run(PROBE, timeout=30)
    return classify(result.stdout)
