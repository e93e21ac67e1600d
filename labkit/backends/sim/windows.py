"""The simulated Windows guest's netsh: the commands labkit's netsh dialect sends, and `show config`.

It keeps the guest's configuration in the same place the other simulated guests do
(SimWorld.guest_config) and prints `show config` in the English layout the dialect parses, so a
Windows configure_guest step runs the real dialect code end to end offline. Connection names are
the inventory's `connection` (else `interface`); unknown ones fail as netsh does.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv4Interface

from typing import TYPE_CHECKING

from labkit.netconfig import InterfaceConfig
from labkit.protocols import CommandResult

if TYPE_CHECKING:
    from labkit.backends.sim.guest import SimGuest

_NOT_FOUND = "The interface name is not valid.\r\n"  # what netsh prints (on stdout) for an unknown name
_COL = 38  # where netsh starts the values


def _options(argv: list[str]) -> dict[str, str]:
    return {k.lower(): v for k, _, v in (a.partition("=") for a in argv if "=" in a)}


def _ifaces(t: SimGuest) -> dict[str, str]:
    """Connection name -> the sim's interface name, for this VM."""
    vm = t.world.inventory.vm(t.node)
    return {a.connection or a.interface: a.interface for a in vm.adapters}


def _line(label: str, value: object) -> str:
    return f"    {label + ':':<{_COL}}{value}"


def _show_config(t: SimGuest) -> CommandResult:
    vm = t.vm()
    assert vm is not None  # netsh() answers for VMs only
    out = [""]
    for connection, name in _ifaces(t).items():
        st = vm.iface(name)
        cfg = t.world.guest_config.get((t.node, name))
        dhcp = cfg is None or cfg.mode == "dhcp"
        out.append(f'Configuration for interface "{connection}"')
        out.append(_line("DHCP enabled", "Yes" if dhcp else "No"))
        address = st.address if cfg is None or cfg.mode == "dhcp" else cfg.address
        gateway = st.gateway if cfg is None or cfg.mode == "dhcp" else cfg.gateway
        if address is not None:
            out.append(_line("IP Address", address.ip))
            out.append(_line("Subnet Prefix", f"{address.network} (mask {address.netmask})"))
        if gateway is not None:
            out.append(_line("Default Gateway", gateway))
            out.append(_line("Gateway Metric", 0 if dhcp else 1))
        out.append(_line("InterfaceMetric", 25))
        dns = cfg.dns if cfg else ()
        if dns:
            out.append(_line("Statically Configured DNS Servers", dns[0]))
            out += [" " * (_COL + 4) + str(server) for server in dns[1:]]
        else:
            out.append(_line("DNS servers configured through DHCP", "None"))
        out.append(_line("Register with which suffix", "Primary only"))
        out.append(_line("WINS servers configured through DHCP", "None"))
        out.append("")
    return CommandResult(0, "\r\n".join(out) + "\r\n")


def netsh(t: SimGuest, argv: list[str]) -> CommandResult:
    if t.vm() is None:  # the lab's host: labkit never reconfigures it, so its interfaces are not simulated
        return CommandResult(1, "netsh interface is not simulated on the lab's host.\r\n")
    words = [a.lower() for a in argv[1:] if "=" not in a]
    if words[:2] not in (["interface", "ip"], ["interface", "ipv4"]):
        return CommandResult(1, "The following command was not found: " + " ".join(argv[1:]) + ".\r\n")
    verb = words[2:]
    if verb == ["show", "config"]:
        return _show_config(t)
    opts = _options(argv)
    name = _ifaces(t).get(opts.get("name", ""))
    if name is None:
        return CommandResult(1, _NOT_FOUND)
    key = (t.node, name)
    cfg = t.world.guest_config.get(key) or InterfaceConfig("dhcp")
    try:
        if verb == ["set", "address"] and opts.get("source") == "dhcp":
            cfg = InterfaceConfig("dhcp", dns=cfg.dns)
        elif verb == ["set", "address"] and opts.get("source") == "static":
            gateway = opts.get("gateway", "none")
            cfg = InterfaceConfig("static", IPv4Interface(f"{opts['addr']}/{opts['mask']}"),
                                  None if gateway == "none" else IPv4Address(gateway), cfg.dns)
        elif verb == ["set", "dnsservers"]:
            cfg = replace(cfg, dns=(IPv4Address(opts["addr"]),) if opts.get("source") == "static" else ())
        elif verb == ["add", "dnsservers"]:
            dns = list(cfg.dns)
            dns.insert(int(opts.get("index", len(dns) + 1)) - 1, IPv4Address(opts["addr"]))
            cfg = replace(cfg, dns=tuple(dns))
        else:
            return CommandResult(1, "The syntax supplied for this command is not valid.\r\n")
    except (KeyError, ValueError):
        return CommandResult(1, "The parameter is incorrect.\r\n")
    t.world.guest_config[key] = cfg
    if verb == ["set", "address"]:  # takes effect at once, as on Windows
        t.world.bring_up(t.node, name)
    return CommandResult(0, "\r\n" if verb == ["set", "address"] else "")
