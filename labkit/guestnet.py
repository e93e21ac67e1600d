"""A guest's network configuration, changed through a transport: read, parse, edit, render, write.

The dialect modules are pure text in/text out; this module is the only place that pairs them with
I/O. Files are edited in place (the user's comments and foreign keys survive) and written with the
transport's atomic write, so a failure never leaves half a config file.
"""

from __future__ import annotations

from labkit.errors import GuestConfigError, TransportError
from labkit.model import AddressConfig
from labkit.netconfig import InterfaceConfig
from labkit.transport.base import CommandResult, GuestTransport

SUPPORTED = ("ifcfg",)


def to_interface_config(ac: AddressConfig) -> InterfaceConfig:
    if ac.dhcp:
        return InterfaceConfig("dhcp", dns=tuple(ac.dns))
    return InterfaceConfig("static", ac.address, ac.gateway, tuple(ac.dns))


def config_path(dialect: str, interface: str) -> str:
    if dialect == "ifcfg":
        return f"/etc/sysconfig/network-scripts/ifcfg-{interface}"
    raise GuestConfigError(f"the {dialect} dialect is not supported yet (supported: {', '.join(SUPPORTED)})")


def render_new(dialect: str, interface: str, mac: str | None, cfg: InterfaceConfig) -> str:
    """A fresh config file for an interface that has none, in the distribution's usual shape."""
    from labkit.dialects import ifcfg

    if dialect != "ifcfg":
        config_path(dialect, interface)  # raises for unsupported dialects
    f = ifcfg.IfcfgFile.parse("", config_path(dialect, interface))
    f.set("DEVICE", interface)
    if mac:
        f.set("HWADDR", mac.lower())
    f.set("TYPE", "Ethernet")
    f.set("ONBOOT", "yes")
    ifcfg.apply_config(f, cfg)
    return f.render()


def configure(transport: GuestTransport, dialect: str, interface: str, mac: str | None,
              cfg: InterfaceConfig) -> bool:
    """Rewrite the interface's config file for `cfg`; False when it already said exactly that."""
    from labkit.dialects import ifcfg

    path = config_path(dialect, interface)
    try:
        text = transport.read_file(path)
    except FileNotFoundError:
        transport.write_file(path, render_new(dialect, interface, mac, cfg), 0o644)
        return True
    f = ifcfg.IfcfgFile.parse(text, path)
    ifcfg.apply_config(f, cfg)
    new = f.render()
    if new == text:
        return False
    transport.write_file(path, new, 0o644)
    return True


def restart_command(dialect: str | None, os_family: str, interface: str) -> str:
    if os_family == "windows":
        return "ipconfig /renew"
    if dialect == "ifcfg":
        from labkit.dialects import ifcfg

        return ifcfg.restart_command(interface)
    if dialect in ("ifupdown", None):  # Debian: down then up, so DHCP asks again on the new network
        return f"ifdown {interface}; ifup {interface}"
    raise GuestConfigError(f"no restart command for the {dialect} dialect yet")


def restart(transport: GuestTransport, dialect: str | None, os_family: str, interface: str,
            timeout: float = 120) -> CommandResult:
    result = transport.run(restart_command(dialect, os_family, interface), timeout=timeout)
    if not result.ok:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise TransportError(f"network restart exited {result.exit_status}: " + " / ".join(tail))
    return result
