"""The network services of simulated Linux guests: how each distribution applies its files.

RHEL's network service reads ifcfg-*, Debian's ifup reads /etc/network/interfaces, `netplan
apply` reads /etc/netplan, NetworkManager's `nmcli connection up` reads a keyfile: each parses
the guest's file with labkit's own dialect module (the same parser labkit edits it with), keeps
the result as the guest's running configuration, and brings the interface up on the world's
network, printing what the real tool prints. A file the dialect refuses fails the service as a
real one would fail to apply it.

Only RHEL's network service runs duplicate address detection: before it takes a static address,
ifup-eth probes it with `arping -D` (unless ARPCHECK=no) and refuses one another host on the segment
already answers for, printing "Error, some other host (MAC) already uses address X.", leaving the
interface without an address and failing. Debian's ifupdown, netplan (systemd-networkd) and
NetworkManager do no IPv4 duplicate address detection by default: they take the address, and the
segment has a conflict (world.py says who then answers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit.errors import GuestConfigError
from labkit.protocols import CommandResult

if TYPE_CHECKING:
    from labkit.backends.sim.guest import SimGuest

IFCFG_DIR = "/etc/sysconfig/network-scripts"
_IGNORED = ("~", ".bak", ".orig", ".rpmnew", ".rpmorig", ".rpmsave")
_NO = ("no", "false", "n", "0")  # ARPCHECK values that turn the probe off, as initscripts read them


def network_restart(g: SimGuest, argv: list[str]) -> CommandResult:
    """RHEL's network service: bring every ONBOOT ifcfg-* up from its file (sysvinit or systemd)."""
    words = argv[1:] if argv[0] != "/etc/init.d/network" else ["network", *argv[1:]]
    if sorted(words) != ["network", "restart"]:  # service network restart, systemctl restart network
        return CommandResult(2, "", f"usage: {argv[0]} {{start|stop|restart|status}}\n")
    return ifcfg_service(g)


def ifcfg_service(g: SimGuest) -> CommandResult:
    """What RHEL 6's /etc/init.d/network does with the ifcfg files, printed as it prints it."""
    from labkit.dialects import ifcfg

    vm = g.vm()
    out = ["Shutting down loopback interface:  [  OK  ]", "Bringing up loopback interface:  [  OK  ]"]
    err: list[str] = []
    status = 0
    for path in sorted(p for p in g.files if p.startswith(IFCFG_DIR + "/ifcfg-") and not p.endswith("-lo")
                       and not p.endswith(_IGNORED)):  # as initscripts skip backups
        name = path.rsplit("ifcfg-", 1)[1]
        try:
            f = ifcfg.IfcfgFile.parse(g.files[path], path)
            device = f.get("DEVICE") or name
            cfg = ifcfg.read_config(f)
        except GuestConfigError as exc:
            out.append(f"Bringing up interface {name}:  {exc}  [FAILED]")
            status = 1
            continue
        if vm is None or device not in [i.name for i in vm.ifaces]:
            out.append(f"Bringing up interface {device}:  Device {device} does not seem to be present, "
                       "delaying initialization.  [FAILED]")
            status = 1
            continue
        if not cfg.onboot:
            continue
        g.world.guest_config[(vm.name, device)] = cfg
        if cfg.mode != "dhcp" and cfg.address is not None and (f.get("ARPCHECK") or "").lower() not in _NO:
            ip = cfg.address.ip
            mac = g.world.answering_mac(vm.name, device, ip)
            if mac is not None:  # the restart took the interface down: it stays down, without the address
                g.world.refuse_address(vm.name, device, f"{vm.name}'s {device}: the network service refused {ip}: "
                                                        f"another host ({mac}) already uses it")
                err.append(f"Error, some other host ({mac}) already uses address {ip}.")
                out.append(f"Bringing up interface {device}:  [FAILED]")
                status = 1
                continue
        st = g.world.bring_up(vm.name, device)
        if cfg.mode == "dhcp":
            ok = st.address is not None
            out.append(f"Bringing up interface {device}:  ")
            out.append(f"Determining IP information for {device}..." + (" done." if ok else " failed."))
            out.append("[  OK  ]" if ok else "[FAILED]")
            status = status or (0 if ok else 1)
        else:
            out.append(f"Bringing up interface {device}:  [  OK  ]")
    return CommandResult(status, "\n".join(out) + "\n", "".join(line + "\n" for line in err))


def ifupdown(g: SimGuest, argv: list[str]) -> CommandResult:
    """Debian's ifdown IF / ifup IF (and ifup -a): ifup reads /etc/network/interfaces as ifupdown does."""
    vm = g.vm()
    names = [a for a in argv[1:] if not a.startswith("-")]
    if vm is not None and "-a" in argv:
        names = [i.name for i in vm.ifaces]
    if vm is None or not names:
        return CommandResult(1, "", f"Usage: {argv[0]} <ifaces...>\n")
    if argv[0] == "ifup" and "/etc/network/interfaces" in g.files:
        from labkit.dialects import ifupdown

        try:
            doc = ifupdown.parse(g.files["/etc/network/interfaces"], "/etc/network/interfaces")
        except GuestConfigError as exc:
            return CommandResult(1, "", f"ifup: {exc}\n")
        for name in list(names):
            try:
                g.world.guest_config[(vm.name, name)] = ifupdown.read_config(doc, name)
            except GuestConfigError:
                if "-a" in argv:
                    names.remove(name)  # not in the file: ifup -a leaves it alone
                else:
                    return CommandResult(1, "", f"ifup: unknown interface {name}\n")
    for name in names:
        if name not in [i.name for i in vm.ifaces]:
            return CommandResult(1, "", f"{argv[0]}: unknown interface {name}\n")
        if argv[0] == "ifdown":
            st = vm.iface(name)
            st.address = st.gateway = None
            g.world.changed()
            continue
        st = g.world.bring_up(vm.name, name)
        if st.address is None and st.note:
            return CommandResult(1, "", f"No DHCPOFFERS received.\nifup: failed to bring up {name}\n")
    return CommandResult(0)


def netplan(g: SimGuest, argv: list[str]) -> CommandResult:
    """`netplan apply`: every interface a netplan file defines gets that definition now."""
    from labkit.dialects import netplan as dialect

    vm = g.vm()
    if argv[1:] != ["apply"] or vm is None:
        return CommandResult(1, "", f"netplan: {' '.join(argv[1:]) or 'no command'} is not simulated\n")
    for st in vm.ifaces:
        try:
            path = dialect.find_file(g.files, st.name)
            if path is None:
                continue
            g.world.guest_config[(vm.name, st.name)] = dialect.read_config(dialect.parse(g.files[path], path), st.name)
        except GuestConfigError as exc:
            return CommandResult(1, "", f"{exc}\n")
        g.world.bring_up(vm.name, st.name)
    return CommandResult(0)


def nmcli(g: SimGuest, argv: list[str]) -> CommandResult:
    """`nmcli connection reload` and `nmcli connection up ifname IF` (the profile bound to IF)."""
    from labkit.dialects import nmkeyfile as dialect

    words = argv[1:]
    if words[:1] in (["connection"], ["con"], ["c"]) and words[1:] == ["reload"]:
        return CommandResult(0)
    vm = g.vm()
    if vm is None or words[:3] not in (["connection", "up", "ifname"], ["con", "up", "ifname"]) or len(words) != 4:
        return CommandResult(2, "", f"Error: 'nmcli {' '.join(words)}' is not simulated.\n")
    name = words[3]
    if name not in [i.name for i in vm.ifaces]:
        return CommandResult(10, "", f"Error: device '{name}' not found.\n")
    path = dialect.path_for(name)
    if path not in g.files:
        return CommandResult(10, "", f"Error: no suitable connection found for device '{name}'.\n")
    try:
        cfg = dialect.read_config(dialect.parse(g.files[path], path), name)
    except GuestConfigError as exc:
        return CommandResult(4, "", f"Error: Connection activation failed: {exc}\n")
    g.world.guest_config[(vm.name, name)] = cfg
    st = g.world.bring_up(vm.name, name)
    if st.address is None and st.note:
        return CommandResult(4, "", "Error: Connection activation failed: IP configuration could not be reserved "
                                    "(no available address, timeout, etc.).\n")
    return CommandResult(0, f"Connection successfully activated (D-Bus active path: "
                            f"/org/freedesktop/NetworkManager/ActiveConnection/{len(g.commands)})\n")
