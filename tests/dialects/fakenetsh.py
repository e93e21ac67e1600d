"""A stand-in for Windows' netsh, for tests: runs labkit's netsh commands on one fresh interface and prints
its `netsh interface ip show config` block, so what labkit writes can be read back by its own parser."""

from __future__ import annotations

import re
from ipaddress import IPv4Interface

_COMMAND = re.compile(r'netsh interface ip (set address|set dnsservers|add dnsservers) name="([^"]*)"((?: \w+=\S+)*)')


def block(*fields: str, name: str = "Ethernet3") -> str:
    lines = [f'Configuration for interface "{name}"'] + [f"    {f}" for f in fields]
    return "\r\n" + "\r\n".join(lines) + "\r\n\r\n"


def fake_netsh(commands: list[str]) -> str:
    """Run the commands on one fresh interface, as netsh would, and print its `show config` block.

    DHCP gives no lease here (no server): the block shows what the commands configured, nothing more."""
    state: dict[str, object] = {"dns": [], "dns_static": False}
    names = set()
    for command in commands:
        m = _COMMAND.fullmatch(command)
        assert m is not None, command
        names.add(m.group(2))
        args = dict(arg.split("=", 1) for arg in m.group(3).split())
        if m.group(1) == "set address":
            state["dhcp"] = args.pop("source") == "dhcp"
            if not state["dhcp"]:
                state["ip"], state["mask"], state["gateway"] = args.pop("addr"), args.pop("mask"), args.pop("gateway")
                if state["gateway"] != "none":
                    assert args.pop("gwmetric") == "1"
        elif m.group(1) == "set dnsservers":
            state["dns_static"] = args.pop("source") == "static"
            state["dns"] = [args.pop("addr")] if state["dns_static"] else []
            if state["dns_static"]:
                assert args.pop("register") == "primary"
        else:
            assert state["dns_static"] and int(args.pop("index")) == len(state["dns"]) + 1
            state["dns"].append(args.pop("addr"))
        assert not args, args
    [name] = names
    lines = [f"DHCP enabled:                         {'Yes' if state['dhcp'] else 'No'}"]
    if not state["dhcp"]:
        net = IPv4Interface(f"{state['ip']}/{state['mask']}").network
        lines += [f"IP Address:                           {state['ip']}",
                  f"Subnet Prefix:                        {net} (mask {state['mask']})"]
        if state["gateway"] != "none":
            lines += [f"Default Gateway:                      {state['gateway']}",
                      "Gateway Metric:                       1"]
    lines.append("InterfaceMetric:                      25")
    dns = state["dns"] or ["None"]
    label = "Statically Configured DNS Servers:    " if state["dns_static"] else "DNS servers configured through DHCP:  "
    lines += [label + dns[0]] + [" " * 38 + d for d in dns[1:]]
    lines += ["Register with which suffix:           Primary only",
              "WINS servers configured through DHCP: None"]
    return block(*lines, name=name)
