"""A guest's network configuration, changed through a transport: read, parse, edit, render, write.

The dialect modules are pure text in/text out; this module is the only place that pairs them with
I/O. Files are edited in place (the user's comments and foreign keys survive) and written with the
transport's atomic write, so a failure never leaves half a config file.
"""

from __future__ import annotations

import uuid

from labkit.dialects import file_dialect
from labkit.errors import GuestConfigError, TransportError
from labkit.model import AddressConfig
from labkit.netconfig import InterfaceConfig
from labkit.protocols import CommandResult, GuestTransport


def to_interface_config(ac: AddressConfig) -> InterfaceConfig:
    if ac.dhcp:
        return InterfaceConfig("dhcp", dns=tuple(ac.dns))
    return InterfaceConfig("static", ac.address, ac.gateway, tuple(ac.dns))


def config_path(dialect: str, interface: str) -> str:
    return file_dialect(dialect).path_for(interface)


def file_mode(dialect: str) -> int:
    """NetworkManager ignores keyfiles that others can read; the other dialects' files are 0644."""
    return 0o600 if dialect == "nmkeyfile" else 0o644


def render_new(dialect: str, interface: str, mac: str | None, cfg: InterfaceConfig) -> str:
    """A fresh config file for an interface that has none, in the distribution's usual shape."""
    if dialect == "nmkeyfile":
        from labkit.dialects import nmkeyfile

        return nmkeyfile.new_connection(interface, cfg, uuid.uuid4())
    d = file_dialect(dialect)
    doc = d.parse("", d.path_for(interface))
    if dialect == "ifcfg":  # the keys RHEL's installer writes first
        doc.set("DEVICE", interface)
        if mac:
            doc.set("HWADDR", mac.lower())
        doc.set("TYPE", "Ethernet")
        doc.set("BOOTPROTO", "dhcp" if cfg.mode == "dhcp" else "none")  # said, not left to the default
        doc.set("ONBOOT", "yes")
    d.apply_config(doc, interface, cfg)
    return d.render(doc)


def configure(transport: GuestTransport, dialect: str, interface: str, mac: str | None,
              cfg: InterfaceConfig) -> bool:
    """Rewrite the interface's config file for `cfg`; False when it already said exactly that.

    Windows (netsh) has no file: its state is read back with `show config` and changed with netsh
    commands, which take effect at once."""
    if dialect == "netsh":
        return configure_windows(transport, interface, cfg)
    d = file_dialect(dialect)
    path = d.path_for(interface)
    mode = file_mode(dialect)
    try:
        text = transport.read_file(path)
    except FileNotFoundError:
        transport.write_file(path, render_new(dialect, interface, mac, cfg), mode)
        return True
    new = edited(dialect, text, interface, cfg)
    if new == text:
        return False
    transport.write_file(path, new, mode)
    return True


def edit_warnings(transport: GuestTransport, dialect: str, interface: str, cfg: InterfaceConfig) -> list[str]:
    """What an edit to cfg leaves in place that the user should know, read before the edit: static routes
    whose gateway a new static address cannot reach (in the file, or in RHEL's route-IF beside it), a
    netplan definition that matches more devices than the one named. labkit keeps them (they are not
    its to drop). GuestConfigError when the config file itself is refused, as the edit would be."""
    if dialect == "netsh":
        return []
    d = file_dialect(dialect)
    path = d.path_for(interface)
    try:
        text = transport.read_file(path)
    except FileNotFoundError:
        text = None
    out = d.edit_warnings(d.parse(text, path), interface, cfg) if text is not None else []
    if dialect == "ifcfg":
        from labkit.dialects import ifcfg

        route = f"/etc/sysconfig/network-scripts/route-{interface}"
        try:
            out += ifcfg.route_file_warnings(transport.read_file(route), route, cfg)
        except FileNotFoundError:
            pass
        except (GuestConfigError, TransportError, OSError) as e:  # informational: never stops the edit
            out.append(f"{route}: routes not checked: {e}")
    return out


def with_warnings(detail: str, warnings: list[str]) -> str:
    """A step's detail line with the warnings of its edit after it."""
    return detail + "".join(f"; warning: {w}" for w in warnings)


def edited(dialect: str, text: str, interface: str, cfg: InterfaceConfig) -> str:
    """The config file's text with `interface` set to `cfg`, everything else kept (pure)."""
    d = file_dialect(dialect)
    doc = d.parse(text, d.path_for(interface))
    d.apply_config(doc, interface, cfg)
    return d.render(doc)


def _same(now: InterfaceConfig, want: InterfaceConfig) -> bool:
    """Under DHCP the address and gateway read back are the lease, not configuration; a DHCP
    configuration naming no DNS servers leaves the interface's as they are (the DNS rule)."""
    if now.mode != want.mode or (now.dns != want.dns and (want.mode == "static" or want.dns)):
        return False
    return want.mode == "dhcp" or (now.address, now.gateway) == (want.address, want.gateway)


def configure_windows(transport: GuestTransport, connection: str, cfg: InterfaceConfig) -> bool:
    """Give a Windows connection `cfg` with netsh; False when `show config` already says so.

    Each command's failure stops the sequence and is reported with netsh's own message (netsh
    prints errors on stdout). A switch to DHCP ends with `ipconfig /renew` so the lease is there
    when this returns."""
    from labkit.dialects import netsh

    shown = transport.run(netsh.read_command(), timeout=60)
    if not shown.ok:
        raise TransportError(f"{netsh.read_command()} exited {shown.exit_status}: "
                             f"{(shown.stderr or shown.stdout).strip()[-200:]}")
    if _same(netsh.read_config(shown.stdout, connection), cfg):
        return False
    commands = netsh.apply_commands(connection, cfg)
    if cfg.mode == "dhcp":
        commands.append(netsh.restart_command(connection))
    for command in commands:
        result = transport.run(command, timeout=120)
        if not result.ok:
            said = (result.stdout.strip() or result.stderr.strip()).splitlines()
            raise TransportError(f"{command.split(' name=')[0]} for {connection!r} exited {result.exit_status}: "
                                 + " / ".join(said[-2:]))
    return True


def restart_command(dialect: str | None, os_family: str, interface: str) -> str:
    if os_family == "windows":
        return "ipconfig /renew"
    return file_dialect(dialect or "ifupdown").restart_command(interface)


def restart(transport: GuestTransport, dialect: str | None, os_family: str, interface: str,
            timeout: float = 120) -> CommandResult:
    result = transport.run(restart_command(dialect, os_family, interface), timeout=timeout)
    if not result.ok:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise TransportError(f"network restart exited {result.exit_status}: " + " / ".join(tail))
    return result
