"""The few operating-system calls labkit makes on the machine it runs on, written once for every OS.

labkit runs on a Workstation user's own laptop (often Windows) as well as on Linux and macOS.
Python's `os` module differs there: `os.fchmod` exists on Windows only from Python 3.13 (labkit
supports 3.11), `os.geteuid` and `fcntl` never do, and a mode such as 0600 means nothing to NTFS
(os.chmod there only sets or clears the read-only flag). Every module that sets a file's mode or
asks which OS it is on goes through here, so no POSIX-only call hides on a path a Windows user
takes. Nothing here reads or keeps state beyond its arguments.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

HostFamily = Literal["linux", "windows", "macos"]


def host_family(platform: str | None = None) -> HostFamily | None:
    """The OS family of this machine (or of `platform`, a sys.platform value) as an inventory's
    host.os names it; None for an OS labkit has no host support for (FreeBSD, AIX, ...)."""
    platform = sys.platform if platform is None else platform
    if platform in ("win32", "cygwin"):
        return "windows"
    if platform == "darwin":
        return "macos"
    if platform.startswith("linux"):
        return "linux"
    return None


def set_mode(fd: int, path: str | os.PathLike[str], mode: int) -> None:
    """Give the open file `fd` (at `path`) the permission bits `mode`.

    POSIX: fchmod on the descriptor, so the mode is set on the very file that was opened (0600
    for a private file is kept exactly). Without fchmod (Windows before Python 3.13): chmod by
    path, which there only decides the read-only flag; a file's privacy is then its folder's ACL,
    as for every file in the user's profile.
    """
    fchmod = getattr(os, "fchmod", None)
    if fchmod is not None:
        fchmod(fd, mode)
    else:
        os.chmod(path, mode)


def keep_owner(fd: int, uid: int, gid: int) -> None:
    """Give the open file `fd` this owner where the OS has owners by number (POSIX): root editing a
    user's file must not leave one the user cannot write. Refused (not root) or no such call
    (Windows): nothing to do, the file is the writer's."""
    fchown = getattr(os, "fchown", None)
    if fchown is None:
        return
    try:
        fchown(fd, uid, gid)
    except PermissionError:
        pass


def fsync_dir(folder: str | os.PathLike[str]) -> None:
    """Make a rename inside `folder` durable (POSIX). Windows cannot open a folder, and needs not:
    its renames are journaled with the file."""
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


def system_program(*parts: str, fallback: str, environ: Mapping[str, str] | None = None) -> str:
    """The full path of a Windows system program (`%SystemRoot%\\System32\\PING.EXE`), so that a
    program of the same name in the current folder is never run instead; `fallback` (a bare name
    found through PATH) when SystemRoot is unset or the file is not there."""
    env = os.environ if environ is None else environ
    root = env.get("SystemRoot") or env.get("SYSTEMROOT")
    if root:
        candidate = Path(root, *parts)
        if candidate.is_file():
            return str(candidate)
    return fallback
