"""A simulated VM's first boot: its disk image, its network configuration, its network service.

The image is the inventory's seeded `files` plus what the distribution installs. Which one: the
inventory's `dialect` names it; a guest whose seeded files hold no network configuration at all
is a Debian install (ifupdown), the sim's default image; otherwise the seeded files are the
image. Which dialect the guest then speaks is not guessed here: when the inventory gives none,
`labkit.guest.detect` asks the guest over its own transport, exactly as the runner does on a
real lab, and the guest's shell answers the probe from its files.

Then the adapters' `config` is written in that dialect (a file, or for Windows and the dialects
whose files are not simulated, the guest's running configuration) and, if the VM is on, its
network service starts: RHEL's network service for ifcfg, `ifup -a` for ifupdown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labkit.backends.sim.guest import SimTransport
from labkit.backends.sim.services import ifcfg_service
from labkit.errors import GuestConfigError
from labkit.guest.config import config_path, render_new, to_interface_config
from labkit.guest.detect import detect
from labkit.model import VM
from labkit.netconfig import InterfaceConfig

if TYPE_CHECKING:
    from labkit.backends.sim.world import SimWorld

_OS_RELEASE = {
    "ifcfg": 'NAME="CentOS"\nVERSION="6.5 (Final)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="6"\n',
    "ifupdown": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n',
    "netplan": 'NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\n',
    "nmkeyfile": 'NAME="Rocky Linux"\nVERSION_ID="9.3"\nID="rocky"\nID_LIKE="rhel centos fedora"\n',
}
_LOOPBACK_ONLY = "auto lo\niface lo inet loopback\n"
_NETWORK_CONFIG = ("/etc/sysconfig/network-scripts/ifcfg-", "/etc/network/interfaces", "/etc/netplan/",
                   "/etc/NetworkManager/system-connections/")


def install_image(files: dict[str, str], vm: VM) -> None:
    """Add the distribution's own files to the seeded ones (which always win)."""
    if vm.os == "windows":
        return
    distro = vm.dialect
    if distro is None and not any(p.startswith(_NETWORK_CONFIG) for p in files):
        distro = "ifupdown"
    if distro in _OS_RELEASE:
        files.setdefault("/etc/os-release", _OS_RELEASE[distro])
    if distro == "ifupdown":
        files.setdefault("/etc/network/interfaces", _LOOPBACK_ONLY)


def boot(world: SimWorld, vm: VM) -> None:
    guest = world.guest(vm.name)
    install_image(guest.files, vm)
    dialect: str | None = "netsh" if vm.os == "windows" else vm.dialect
    if dialect is None:
        try:
            dialect = detect(SimTransport(guest))
        except GuestConfigError as exc:  # the guest keeps its network down; steps on it say why
            world.dialects[vm.name] = None
            for st in world.state.vms[vm.name].ifaces:
                st.note = f"{vm.name}: {exc}"
            return
    world.dialects[vm.name] = dialect
    for a in vm.adapters:
        if a.config is None:
            continue
        cfg = to_interface_config(a.config)
        if dialect == "ifcfg":
            path = config_path("ifcfg", a.interface)
            if path not in guest.files:
                guest.files[path] = render_new("ifcfg", a.interface, a.mac, cfg)
        elif dialect == "ifupdown":
            path = config_path("ifupdown", a.interface)
            guest.files[path] = _with_stanza(guest.files.get(path), a.interface, cfg)
        else:  # no file format simulated (Windows, netplan, keyfiles): the guest holds the configuration
            world.guest_config[(vm.name, a.interface)] = cfg
    if vm.powered_on:
        start_network(world, vm.name)


def start_network(world: SimWorld, name: str) -> None:
    """What the guest's init does with its network at boot (and at every power-on)."""
    guest = world.guest(name)
    dialect = world.dialects.get(name)
    if dialect == "ifcfg":
        ifcfg_service(guest)
    elif dialect == "ifupdown":
        guest.call(["ifup", "-a"])
    else:
        for st in world.state.vms[name].ifaces:
            if (name, st.name) in world.guest_config:
                world.bring_up(name, st.name)


def _with_stanza(text: str | None, interface: str, cfg: InterfaceConfig) -> str:
    """/etc/network/interfaces with this interface's stanza, as a Debian installer leaves it."""
    from labkit.dialects import ifupdown

    doc = ifupdown.parse(text if text is not None else _LOOPBACK_ONLY + "\n")
    ifupdown.apply_config(doc, interface, cfg)
    return ifupdown.render(doc)
