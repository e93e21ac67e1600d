"""A netns VM's view of the file system: the host's, read-only, with the VM's own writable places.

The VMs of a netns lab run as root on the machine labkit runs on. Their own network, UTS, PID and
mount namespaces keep them off the host's network and processes; this keeps them off its files.
It is the first program of every VM (`unshare ... python -I -S vmroot.py DIR FLAVOUR NAME INIT`,
PID 1 of the VM's PID namespace, in the VM's fresh mount namespace), and imports nothing but the
standard library, at the top: what it mounts may hide labkit's own directory. In order:

1. the VM's writable places are mounted over the host's: /run and /tmp (tmpfs, gone at power
   off), /etc (an overlay: the host's /etc below, the VM's changes in DIR/etc), /root, /home,
   /var/lib, /var/log and /var/tmp (directories of the VM's own in DIR, kept across power cycles
   as a disk keeps them), a /dev of its own (null, zero, full, random, urandom and tty from the
   host's, its own ptys and /dev/shm), and DIR itself at its usual path (boot logs, sshd's log,
   the "ready" marker). /var/lib hides the lab's state directory, its SSH key and the other VMs';
2. every other mount becomes read-only, recursively (mount_setattr, Linux 5.12): writing /usr,
   the host's /etc, /root, /tmp, /var, /sys fails with EROFS. /proc stays writable but for the
   kernel's global knobs: /proc/sys (except /proc/sys/net, the VM's own network namespace's),
   /proc/sysrq-trigger and the like;
3. it checks that / and /usr refuse a write, then replaces itself (same PID) by setpriv, which
   drops what could undo this from the capability bounding set (CAP_SYS_ADMIN: mount; loading
   modules, raw I/O, ptrace, device nodes, ...), and runs the VM's init script with sh.

The console (nsexec.ConsoleTransport) enters a VM through the same `confined()` setpriv, so a
command run there as the guest's root cannot remount either. What stays: the capabilities a Linux
guest's own tools need on its own network namespace and files (iproute2, dhclient, arping, ping,
sshd's privilege separation, sudo).
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import sys

# What a guest's root keeps: Docker's default set (without MKNOD) plus NET_ADMIN for its own network
# namespace and SYS_RESOURCE/SYS_NICE/IPC_LOCK, which only touch the VM's own processes.
GUEST_CAPABILITIES = ("chown", "dac_override", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
                      "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_lock", "sys_chroot",
                      "sys_nice", "sys_resource", "lease", "audit_write", "setfcap")
SETPRIV = "/usr/bin/setpriv"

# the VM's own directories in DIR, mounted at these paths (step 1)
DISK = (("root", "/root"), ("home", "/home"), ("var-lib", "/var/lib"), ("var-log", "/var/log"),
        ("var-tmp", "/var/tmp"))
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
KERNEL_KNOBS = ("sys", "sysrq-trigger", "irq", "bus", "fs", "acpi", "asound", "scsi")  # under /proc
STAGE = "/run/.labkit-vm"  # DIR while it is being taken apart, inside the VM's own /run

MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_MOVE, MS_REC = 0x2, 0x4, 0x8, 0x1000, 0x2000, 0x4000
MOUNT_ATTR_RDONLY = 0x1
AT_FDCWD, AT_RECURSIVE = -100, 0x8000
SYS_MOUNT_SETATTR = 442  # the same number on every architecture (new syscalls share one table)


def confined() -> list[str]:
    """The argv prefix that runs a program with a guest's capabilities only (setpriv)."""
    keep = ",".join("+" + cap for cap in GUEST_CAPABILITIES)
    return [SETPRIV, f"--bounding-set=-all,{keep}", "--inh-caps=-all", "--"]


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def mount(source: str | None, target: str, fstype: str | None = None, flags: int = 0,
          options: str | None = None) -> None:
    def c(text: str | None) -> bytes | None:
        return None if text is None else text.encode()

    _check(_libc.mount(c(source), c(target), c(fstype), ctypes.c_ulong(flags), c(options)),
           f"mount {source} on {target}")


def set_readonly(path: str, readonly: bool, recursive: bool) -> None:
    """The read-only flag of the mount at `path` (and of every mount below it when `recursive`),
    in this mount namespace only: the file systems themselves are not touched."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY if readonly else 0, 0 if readonly else MOUNT_ATTR_RDONLY, 0, 0)
    flags = AT_RECURSIVE if recursive else 0
    _check(_libc.syscall(SYS_MOUNT_SETATTR, ctypes.c_int(AT_FDCWD), path.encode(), ctypes.c_uint(flags),
                         ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr))),
           f"mount_setattr {path} {'ro' if readonly else 'rw'}")


def _private_dev(stage: str) -> None:
    """A /dev of the VM's own, built at `stage` (the host's /dev is still visible) and moved to /dev."""
    os.makedirs(stage, exist_ok=True)
    mount("vmdev", stage, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=1m")
    for name in DEVICES:
        open(f"{stage}/{name}", "w").close()
        mount(f"/dev/{name}", f"{stage}/{name}", None, MS_BIND)
    os.mkdir(f"{stage}/pts")
    mount("devpts", f"{stage}/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5")
    os.symlink("pts/ptmx", f"{stage}/ptmx")
    os.mkdir(f"{stage}/shm")
    mount("vmshm", f"{stage}/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=16m")
    for n, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{n}", f"{stage}/{name}")
    os.symlink("/proc/self/fd", f"{stage}/fd")
    mount(stage, "/dev", None, MS_MOVE)


def writable_places(d: str) -> list[str]:
    """The mounts left writable (recursively) once everything else is read-only."""
    return ["/run", "/tmp", "/etc", *(path for sub, path in DISK if os.path.isdir(path)), d, "/dev", "/proc"]


def build(d: str) -> None:
    """Steps 1 and 2 (see the module docstring) in the calling process's mount namespace."""
    mount("vmrun", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m")
    for sub in ("network", "sshd", "lock"):
        os.mkdir(f"/run/{sub}", 0o755)
    os.mkdir(STAGE, 0o700)
    mount(d, STAGE, None, MS_BIND)  # wherever DIR is, the mounts below may hide it: use it from here
    mount("overlay", "/etc", "overlay", 0, f"lowerdir=/etc,upperdir={STAGE}/etc,workdir={STAGE}/etc-work")
    for sub, path in DISK:
        if os.path.isdir(path):  # nothing is ever created on the host's own file systems
            mount(f"{STAGE}/{sub}", path, None, MS_BIND)
    mount("vmtmp", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=64m")
    os.makedirs(d, exist_ok=True)  # under /var/lib or /tmp now: in the VM's own places
    mount(STAGE, d, None, MS_MOVE)
    os.rmdir(STAGE)
    _private_dev("/run/.labkit-dev")
    os.rmdir("/run/.labkit-dev")
    knobs = [f"/proc/{k}" for k in KERNEL_KNOBS if os.path.exists(f"/proc/{k}")]
    for knob in knobs:
        mount(knob, knob, None, MS_BIND)
    if os.path.isdir("/proc/sys/net"):
        mount("/proc/sys/net", "/proc/sys/net", None, MS_BIND)  # on top of /proc/sys's bind: stays rw
    set_readonly("/", True, recursive=True)
    for path in writable_places(d):
        set_readonly(path, False, recursive=True)
    for knob in knobs:
        set_readonly(knob, True, recursive=False)


def verify() -> None:
    """Refuse to boot a VM that could write the host's files."""
    for path in ("/", "/usr"):
        probe = os.path.join(path, f".labkit-write-probe-{os.getpid()}")
        try:
            os.mkdir(probe)
        except OSError as exc:
            if exc.errno == errno.EROFS:
                continue
            raise OSError(exc.errno, f"{path} is not read-only in the VM ({exc.strerror})") from None
        os.rmdir(probe)
        raise OSError(errno.EPERM, f"{path} is writable in the VM after it was made read-only")


def main(argv: list[str]) -> int:
    d, flavour, name, init = argv
    with open(init) as f:  # read now: the mounts may hide it
        script = f.read()
    socket.sethostname(name)
    build(d)
    verify()
    os.execv(SETPRIV, [SETPRIV, *confined()[1:], "/bin/sh", "-c", script, "vm-init", d, flavour, name])
    return 1  # not reached


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except OSError as exc:
        print(f"labkit vmroot: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
