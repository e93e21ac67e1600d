"""Discover a Workstation lab from a folder of .vmx files (VMs without vmrest).

Every `*.vmx` below the folder is one VM, read with the backend's own parser (labkit.backends.
workstation.vmx), which is also what edits it in a run: display name, guestOS, each present
`ethernetN` with its connection type (a missing one bridges, as VMware does), VMnet, MAC
(generated or static) and cable at power on, and whether it runs now (a `.lck` folder beside
it). The inventory this gives edits those files (no vmrest), so each VM is found by its path.

A .vmx that cannot be read safely stops discovery with its file and line: an inventory that
silently missed a VM would be worse than none. The VMnets' subnets come from the host's
networking files (--networking-dir, or /etc/vmware when it holds them); without them they are
left to fill in.
"""

from __future__ import annotations

import re
from pathlib import Path

from labkit.backends.workstation.hostfiles import read_host_networks
from labkit.backends.workstation.hostnet import DEFAULT_NETWORKING_DIR
from labkit.backends.workstation.networks import vnet_of
from labkit.backends.workstation.vmx import VmxError, VmxFile, adapter_settings, start_connected
from labkit.backends.workstation.vmxedit import lock_dirs
from labkit.discover import workstation
from labkit.discover.found import Found, FoundNic, FoundVm
from labkit.discover.guestos import guest_os
from labkit.errors import InputError

MAX_VMX_BYTES = 1024 * 1024  # a .vmx is a few kB; anything this big is not one
_AT_LINE = re.compile(r"^line (\d+): ")


def discover(folder: Path, networking_dir: Path | None = None) -> Found:
    """Every VM under `folder`. InputError (file and line) for an unreadable .vmx or host file."""
    if not folder.is_dir():
        raise InputError("is not a folder (give the folder that holds the VMs' .vmx files)", file=str(folder))
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() == ".vmx" and p.is_file())
    if not paths:
        raise InputError("holds no .vmx file (looked in every folder below it)", file=str(folder))
    vms = [_vm(path.resolve()) for path in paths]
    settings: dict[str, object] = {"type": "workstation"}
    if networking_dir is None and (DEFAULT_NETWORKING_DIR / "networking").is_file():
        networking_dir = DEFAULT_NETWORKING_DIR
    facts, said_by = [], None
    if networking_dir is not None:
        facts, said_by = read_host_networks(networking_dir), f"the host's networking files in {networking_dir}"
        if networking_dir != DEFAULT_NETWORKING_DIR:
            settings["networking_dir"] = str(networking_dir.resolve())
    used = {nic.network for vm in vms for nic in vm.nics if nic.network}
    found = Found(source=f"the .vmx files in {folder.resolve()}", command="labkit discover vmx", system="Workstation",
                  backend=settings, networks=workstation.networks(facts, used, said_by), vms=vms)
    found.notes.append("No vmrest: labkit edits these .vmx files, which it does only while a VM is powered off.")
    found.host_os, found.host_os_note = workstation.host_os((str(p) for p in paths), here=True)
    return found


def _vm(path: Path) -> FoundVm:
    vmx = _parse(path)
    display = vmx.get("displayName") or path.stem
    guest = guest_os(vmx.get("guestOS"), "guestOS")
    vm = FoundVm(name=display, ids={"path": str(path)}, os=guest.os, os_note=guest.note,
                 dialect_hint=guest.dialect_hint, powered_on=bool(lock_dirs(path)))
    for index in range(10):
        if (vmx.get(f"ethernet{index}.present") or "").strip().lower() not in ("true", "yes", "1"):
            continue
        setting = adapter_settings(vmx, index)
        kind = setting["connection_type"] or "bridged"  # VMware bridges an adapter that names no type
        nic = FoundNic(network=vnet_of(kind, setting["vnet"]), label=f"Network adapter {index + 1}",
                       mac=vmx.get(f"ethernet{index}.generatedAddress") or vmx.get(f"ethernet{index}.address"),
                       connected=start_connected(vmx, index))
        if nic.network is None:
            nic.notes.append(f"ethernet{index} is {kind!r}" + (f" on {setting['vnet']}" if setting["vnet"] else "")
                             + ", which labkit cannot map to a VMnet")
        vm.nics.append(nic)
    return vm


def _parse(path: Path) -> VmxFile:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_VMX_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    if len(data) > MAX_VMX_BYTES:
        raise InputError(f"is over {MAX_VMX_BYTES // 1024} KiB: not a .vmx file", file=str(path))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"not UTF-8 text (byte 0x{data[exc.start]:02x})", file=str(path), line=line) from None
    try:
        return VmxFile.parse(text)
    except VmxError as exc:
        m = _AT_LINE.match(str(exc))
        message = str(exc)[m.end():] if m else str(exc)
        raise InputError(message, file=str(path), line=int(m.group(1)) if m else None) from None
