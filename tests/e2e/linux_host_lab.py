"""The netns lab that is a Linux Workstation host's world, for tests/e2e/test_workstation_linux_host.py.

inventory/seed-netns.yml under a lab name of its own, plus what a real Workstation lab has and the
netns backend does not need: an sshd on the LAN router (`router_sshd`). Workstation builds no
router, and the playbooks ping from it; the inventory reaches it as a real lab reaches a home
router that takes SSH (`lan.router_ssh`).

The VMs have only the tutorial's adapters. A guest that SSH cannot reach (centos just bridged onto
the LAN while it still holds its NAT address, any NAT VM while the host's VMnet8 adapter is down,
win7 which has no sshd at all) is reached through the vmrun console, VMware Tools' guest
operations, as a user types at the VM's console: the test vmrun runs them in the netns guest.

`LinkWatch` records, from outside the host namespace, what the kernel says happened to a link and
its addresses (`ip monitor`), so a test sees vmnet8 really go down and come back.
"""

from __future__ import annotations

import copy
import re
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labkit.backends.netns.nsexec import socket_in_netns
from labkit.inventory import inventory_from_data
from labkit.model import Inventory
from labkit.yamlsrc import load
from tests.backends.netns.conftest import NETNS_INVENTORY

LAB = "ws-linux-host"


def lab_data() -> dict:
    """inventory/seed-netns.yml as lab `ws-linux-host`."""
    data = copy.deepcopy(load(NETNS_INVENTORY).data)
    data["lab"] = LAB
    return data


def lab_inventory() -> Inventory:
    return inventory_from_data(lab_data(), f"{NETNS_INVENTORY} as lab {LAB}")


SSHD_CONFIG = """\
Port 22
ListenAddress {address}
HostKey {dir}/host_key
PidFile none
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
Subsystem sftp internal-sftp
"""
# the router shares this machine's files: sshd gets a private /run (its privilege separation
# directory) and a private /root holding only the lab's key, in a mount namespace of its own
SSHD_START = ('mount -t tmpfs -o mode=0755,size=1m routerrun /run && mkdir /run/sshd '
              '&& mount --bind "$1/root" /root && exec /usr/sbin/sshd -D -e -f "$1/sshd_config"')


@contextmanager
def router_sshd(state: dict, router: str, workdir: Path) -> Iterator[str]:
    """A real sshd at the LAN router's address, in its namespace, taking the lab's key for root;
    yields its host key ("ssh-ed25519 AAAA...") and stops it (by its PID) on the way out."""
    d = workdir / "router-sshd"
    (d / "root/.ssh").mkdir(parents=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "router", "-f", str(d / "host_key")],
                   check=True)
    shutil.copy(Path(state["dir"]) / "id_ed25519.pub", d / "root/.ssh/authorized_keys")
    for path, mode in ((d / "root", 0o700), (d / "root/.ssh", 0o700), (d / "root/.ssh/authorized_keys", 0o600)):
        path.chmod(mode)
    (d / "sshd_config").write_text(SSHD_CONFIG.format(address=router, dir=d))
    with open(d / "sshd.log", "wb") as log:
        proc = subprocess.Popen(["ip", "netns", "exec", state["router"], "unshare", "--mount", "sh", "-c", SSHD_START,
                                 "sh", str(d)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_listening(state["host"], router, proc, d / "sshd.log")
        yield " ".join((d / "host_key.pub").read_text().split()[:2])
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_listening(host_ns: str, address: str, proc: subprocess.Popen, log: Path) -> None:
    """Until port 22 at `address` answers from the host's namespace (the sshd dead: its log says why)."""
    deadline = time.monotonic() + 10
    while True:
        try:
            socket_in_netns(host_ns, address, 22, 1).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the router's sshd is not listening: {log.read_text()[-500:]}") from None
            time.sleep(0.05)


class LinkWatch:
    """`ip -o monitor link address` in a namespace, from outside it: every change the kernel makes to
    one link and its IPv4 addresses, in order, as ("link", "up"|"down") and ("address", "added"|
    "deleted", "10.0.0.1/24")."""

    def __init__(self, ns: str, link: str) -> None:
        self.link = link
        self.proc = subprocess.Popen(["ip", "-o", "-n", ns, "monitor", "link", "address"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self._ready(ns)

    def _ready(self, ns: str) -> None:
        """`ip monitor` has subscribed once it reports a change: make one nobody else looks at."""
        deadline = time.monotonic() + 5
        while self.proc.stdout is not None and time.monotonic() < deadline:
            subprocess.run(["ip", "-n", ns, "link", "add", "lkwatch", "type", "veth", "peer", "name", "lkwatchp"],
                           check=True)
            subprocess.run(["ip", "-n", ns, "link", "del", "lkwatch"], check=True)
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                return
        raise RuntimeError(f"ip monitor in {ns} reported nothing")

    def stop(self) -> list[tuple[str, ...]]:
        self.proc.terminate()
        out, _ = self.proc.communicate(timeout=5)
        return self.events(out)

    def events(self, text: str) -> list[tuple[str, ...]]:
        found: list[tuple[str, ...]] = []
        name = re.escape(self.link)
        for line in text.splitlines():
            deleted = line.startswith("Deleted ")
            link = re.match(rf"(?:Deleted )?\d+: {name}(?:@\S+)?: <([^>]*)>", line)
            if link and not deleted:
                found.append(("link", "up" if "UP" in link.group(1).split(",") else "down"))
                continue
            addr = re.match(rf"(?:Deleted )?\d+: {name}\s+inet (\S+)", line)
            if addr:
                found.append(("address", "deleted" if deleted else "added", addr.group(1)))
        return found
