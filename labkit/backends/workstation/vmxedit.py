"""Change a powered-off VM's network adapter (its network, or its cable) by editing its .vmx file, safely.

Used when vmrest is not there. Workstation holds a `<name>.vmx.lck` (or `<name>.lck`) directory
next to the .vmx while the VM runs and rewrites the .vmx when it stops, so an edit made meanwhile
would be lost or, worse, half-applied: labkit refuses. The new file is written beside the old one,
flushed to disk and renamed over it, so a crash leaves either the old file or the new one, never
a torn one; nothing is written when the adapter is already as asked.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from labkit.backends.workstation.vmx import VmxError, VmxFile, set_adapter, set_start_connected
from labkit.osutil import fsync_dir, keep_owner, set_mode


def lock_dirs(path: Path) -> list[Path]:
    """The `*.lck` directories beside the .vmx: Workstation's sign that the VM is in use."""
    try:
        return sorted(p for p in path.parent.iterdir() if p.name.lower().endswith(".lck") and p.is_dir())
    except OSError as exc:
        raise VmxError(f"{path.parent}: cannot list the VM's folder: {exc.strerror or exc}") from None


def edit_vmx(path: str | Path, index: int, connection_type: str, vnet: str | None = None) -> bool:
    """Connect adapter `index` of the VM at `path` to `connection_type`/`vnet`; True if the file changed."""
    return _edit(Path(path), lambda vmx: set_adapter(vmx, index, connection_type, vnet))


def edit_vmx_link(path: str | Path, index: int, connected: bool) -> bool:
    """Plug adapter `index`'s cable in or out (ethernetN.startConnected); True if the file changed."""
    return _edit(Path(path), lambda vmx: set_start_connected(vmx, index, connected))


def _edit(path: Path, change: Callable[[VmxFile], bool]) -> bool:
    """Apply `change` to the .vmx of a powered-off VM; write it (atomically) only when it changed."""
    locks = lock_dirs(path)
    if locks:
        names = ", ".join(p.name for p in locks)
        raise VmxError(f"{path}: the VM is running or open in Workstation ({names} found); "
                       "power it off (or use vmrest) before editing its .vmx")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VmxError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise VmxError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    try:
        vmx = VmxFile.parse(text)
    except VmxError as exc:
        raise VmxError(f"{path}: {exc}") from None
    if not change(vmx):
        return False
    try:
        write_atomic(path, vmx.render().encode("utf-8"))
    except OSError as exc:
        raise VmxError(f"{path}: cannot write: {exc.strerror or exc}") from None
    return True


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data`: temp file in the same folder, fsync, rename; mode and owner kept."""
    st = path.stat()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".labkit-tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            set_mode(f.fileno(), tmp, stat.S_IMODE(st.st_mode))
            keep_owner(f.fileno(), st.st_uid, st.st_gid)  # root editing a user's VM leaves it the user's
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)  # the rename itself made durable (POSIX; Windows needs not)
