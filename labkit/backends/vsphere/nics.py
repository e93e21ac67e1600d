"""A VM's network adapters: pick one, tell which network it is on, build the edit that moves it
or plugs its cable in or out.

The edit changes only the backing or the connection flags of the existing device (operation
edit), so the MAC, the device key and everything else the guest sees stay the same.
"""

from __future__ import annotations

from pyVmomi import vim

from labkit.errors import BackendError
from labkit.model import Adapter
from labkit.backends.vsphere.lookup import NetTarget
from labkit.backends.vsphere.props import moid

EthernetCard = vim.vm.device.VirtualEthernetCard


def pick(devices: list[vim.vm.device.VirtualDevice], adapter: Adapter) -> EthernetCard:
    """The device for `adapter`: by MAC (any case) when the inventory gives one, else by label."""
    cards = [d for d in devices if isinstance(d, EthernetCard)]
    if adapter.mac:
        found = [d for d in cards if (d.macAddress or "").lower() == adapter.mac.lower()]
        want = f"MAC {adapter.mac}"
    elif adapter.label:
        found = [d for d in cards if d.deviceInfo is not None and d.deviceInfo.label == adapter.label]
        want = f"label {adapter.label!r}"
    else:
        raise BackendError(f"adapter {adapter.interface} needs a mac or a label to be found in vSphere")
    if len(found) != 1:
        have = ", ".join(f"{d.deviceInfo.label if d.deviceInfo else d.key} ({d.macAddress})" for d in cards)
        what = "no" if not found else "several"
        raise BackendError(f"{what} network adapter with {want} (adapters: {have or 'none'})")
    return found[0]


def on_target(card: EthernetCard, target: NetTarget) -> bool:
    """Whether the card's backing points at `target` (ignoring the connection state)."""
    b = card.backing
    if target.kind == "distributed":
        return (isinstance(b, EthernetCard.DistributedVirtualPortBackingInfo) and b.port is not None
                and b.port.portgroupKey == target.portgroup_key and b.port.switchUuid == target.switch_uuid)
    if target.kind == "opaque":
        return (isinstance(b, EthernetCard.OpaqueNetworkBackingInfo)
                and b.opaqueNetworkId == target.opaque_id and b.opaqueNetworkType == target.opaque_type)
    if not isinstance(b, EthernetCard.NetworkBackingInfo):
        return False
    if b.network is not None:
        return moid(b.network) == target.moid
    return b.deviceName == target.name


def connected(card: EthernetCard, powered_on: bool) -> bool:
    """A running VM's card is connected now; a stopped VM's when it will connect at power on."""
    c = card.connectable
    if c is None:
        return True
    return bool(c.connected if powered_on else c.startConnected)


def unplugged(card: EthernetCard) -> bool:
    """The cable was taken out on purpose (set_link, or "Connected" and "Connect at power on" both
    cleared): not connected now nor at power on. A set_mode leaves such a card's cable out."""
    c = card.connectable
    return c is not None and not c.connected and not c.startConnected


def backing_for(target: NetTarget) -> vim.vm.device.VirtualDevice.BackingInfo:
    if target.kind == "distributed":
        port = vim.dvs.PortConnection(portgroupKey=target.portgroup_key, switchUuid=target.switch_uuid)
        return EthernetCard.DistributedVirtualPortBackingInfo(port=port)
    if target.kind == "opaque":
        return EthernetCard.OpaqueNetworkBackingInfo(opaqueNetworkId=target.opaque_id,
                                                    opaqueNetworkType=target.opaque_type)
    return EthernetCard.NetworkBackingInfo(deviceName=target.name, network=target.obj)


def edit_spec(card: EthernetCard, target: NetTarget, plugged: bool = True) -> vim.vm.ConfigSpec:
    """Move `card` to `target`, connected now and at power on; its other connect flags are kept. An
    unplugged card (`plugged` False: see `unplugged`) moves with its cable still out."""
    card.backing = backing_for(target)
    if plugged:
        conn = card.connectable or vim.vm.device.VirtualDevice.ConnectInfo(allowGuestControl=True)
        conn.connected = True
        conn.startConnected = True
        card.connectable = conn
    return _edit(card)


def link_spec(card: EthernetCard, connected: bool, powered_on: bool) -> vim.vm.ConfigSpec:
    """Plug `card`'s cable in or out (VMware's "Connected" and "Connect at power on"), nothing else.
    A powered-off VM's card is connected only when it starts: then startConnected alone says it."""
    conn = card.connectable or vim.vm.device.VirtualDevice.ConnectInfo(allowGuestControl=True)
    if powered_on or not connected:
        conn.connected = connected
    conn.startConnected = connected
    card.connectable = conn
    return _edit(card)


def _edit(card: EthernetCard) -> vim.vm.ConfigSpec:
    change = vim.vm.device.VirtualDeviceSpec(operation=vim.vm.device.VirtualDeviceSpec.Operation.edit, device=card)
    return vim.vm.ConfigSpec(deviceChange=[change])
