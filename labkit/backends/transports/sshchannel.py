"""One command or one file over an open SSH connection, at the Paramiko channel level.

A command's stdout and stderr are read together, so neither pipe can fill and stall the other,
under a deadline (Fabric's runner would spend three threads per command and wait without one).
A file is written with its mode, fsynced (`fsync@openssh.com`) and moved over its target with
`posix-rename@openssh.com`, because plain SFTP rename fails when the target exists.
"""

from __future__ import annotations

import contextlib
import select
import time
from collections.abc import Callable

import paramiko
from paramiko.sftp import CMD_EXTENDED

_BUF = 65536


def collect(chan: paramiko.Channel, limit: float, timed_out: Callable[[], Exception]) -> tuple[bytes, bytes]:
    """Both streams of a started command until it exits; raise timed_out() after `limit` seconds.

    The channel is closed either way: on timeout the remote command loses its pipes (a writer dies
    of SIGPIPE) but SSH cannot kill it for certain, and the connection stays usable.
    """
    out, err, deadline = bytearray(), bytearray(), time.monotonic() + limit
    try:
        while True:
            while chan.recv_ready():
                out += chan.recv(_BUF)
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(_BUF)
            if ((chan.eof_received or chan.closed) and chan.exit_status_ready()
                    and not chan.recv_ready() and not chan.recv_stderr_ready()):
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise timed_out()
            # The channel's event fires on data or EOF; wait on it, or on the exit status after EOF.
            if chan.eof_received:
                chan.status_event.wait(min(remaining, 0.5))
            else:
                select.select([chan], [], [], min(remaining, 0.5))
    finally:
        chan.close()
    return bytes(out), bytes(err)


def put(sftp: paramiko.SFTPClient, tmp: str, payload: bytes, mode: int, rename_to: str | None = None) -> None:
    """Write `tmp` (mode set before any byte, then fsync), then posix-rename it to `rename_to`;
    nothing is left behind on failure."""
    try:
        with sftp.open(tmp, "wb") as f:
            f.chmod(mode)
            f.set_pipelined(True)
            f.write(payload)
            f.flush()
            try:  # fsync@openssh.com: Paramiko has no public call for it; skip where unsupported
                # private API, so not in types-paramiko: the one way to send this request
                sftp._request(CMD_EXTENDED, "fsync@openssh.com", f.handle)  # type: ignore[attr-defined]
            except OSError as e:
                if "unsupported" not in str(e).lower():
                    raise
        if rename_to is not None:
            sftp.posix_rename(tmp, rename_to)
    except BaseException:
        with contextlib.suppress(Exception):  # it may never have been created
            sftp.remove(tmp)
        raise
