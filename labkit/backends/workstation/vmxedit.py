"""Change a powered-off VM's network adapter by editing its .vmx file, safely.

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
from pathlib import Path

from labkit.backends.workstation.vmx import VmxError, VmxFile, set_adapter


def lock_dirs(path: Path) -> list[Path]:
    """The `*.lck` directories beside the .vmx: Workstation's sign that the VM is in use."""
    try:
        return sorted(p for p in path.parent.iterdir() if p.name.lower().endswith(".lck") and p.is_dir())
    except OSError as exc:
        raise VmxError(f"{path.parent}: cannot list the VM's folder: {exc.strerror or exc}") from None


def edit_vmx(path: str | Path, index: int, connection_type: str, vnet: str | None = None) -> bool:
    """Connect adapter `index` of the VM at `path` to `connection_type`/`vnet`; True if the file changed."""
    path = Path(path)
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
    if not set_adapter(vmx, index, connection_type, vnet):
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
            os.fchmod(f.fileno(), stat.S_IMODE(st.st_mode))
            if hasattr(os, "fchown"):
                try:  # root editing a user's VM must not leave it a file the user cannot write
                    os.fchown(f.fileno(), st.st_uid, st.st_gid)
                except PermissionError:
                    pass
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open a folder, and needs not."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
