"""A netns guest's root cannot touch the machine it runs on: its view of the host's files is
read-only, with writable places of its own, and it cannot remount its way out (vmroot.py).

Real processes: commands run as root in a VM of a lab built for the test, through its console (and
over SSH, as a login would), and the host's own directories are looked at from outside.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest

from labkit.backends import open_lab
from labkit.backends.netns import build as netlab
from labkit.errors import InputErrors
from labkit.inventory import inventory_from_data, load_inventory
from tests.conftest import REPO
from tests.backends.netns.conftest import NETNS_INVENTORY

IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"


@pytest.fixture
def proof() -> str:
    return f"labkit-proof-{secrets.token_hex(4)}"


def test_a_guest_cannot_create_files_on_the_host(fresh_lab, proof):
    lab = open_lab(fresh_lab)
    try:
        console = lab.console.open("centos")
        for directory in ("/usr", "/usr/local/bin", "/opt", "/srv", "/var", "/var/cache", "/boot", "/"):
            if not os.path.isdir(directory):
                continue
            made = console.run(f"touch {directory}/{proof}")
            assert made.exit_status != 0 and "Read-only file system" in made.stderr, (directory, made)
            assert not os.path.exists(f"{directory}/{proof}")
        # its own places are writable, and what it writes there is not the host's
        for directory in ("/tmp", "/etc", "/root", "/home", "/var/lib", "/var/log", "/var/tmp", "/dev/shm", "/dev"):
            made = console.run(f"touch {directory}/{proof} && test -e {directory}/{proof}")
            assert made.ok, (directory, made)
            assert not os.path.exists(f"{directory}/{proof}"), directory
        # what labkit writes, and the guest's own network service reads, still works
        text = console.read_file(IFCFG)
        console.write_file(IFCFG, text + "# seen\n")
        assert console.read_file(IFCFG).endswith("# seen\n")
        assert not os.path.exists(IFCFG) or "# seen" not in open(IFCFG).read()
        assert "# seen" in (netlab.state_dir(fresh_lab) / "vm-centos" / "etc" / IFCFG[len("/etc/"):]).read_text()
    finally:
        lab.close()


def test_a_guest_cannot_undo_its_confinement(fresh_lab, proof):
    lab = open_lab(fresh_lab)
    try:
        console = lab.console.open("win7")
        for command in ("mount -o remount,rw /", "mount -o remount,bind,rw /usr", f"mount -t tmpfs {proof} /mnt",
                        "umount -l /etc", "cat /proc/sys/kernel/sysrq > /proc/sys/kernel/sysrq",
                        "echo m > /proc/sysrq-trigger", f"touch /sys/{proof}", "mknod /tmp/mem c 1 1"):
            done = console.run(command)
            assert done.exit_status != 0, (command, done)
        assert console.run(f"touch /usr/{proof}").exit_status != 0
        # the guest's own network namespace's knobs stay its own to set
        assert console.run("cat /proc/sys/net/ipv4/ip_forward > /proc/sys/net/ipv4/ip_forward").ok
        # a login over SSH gets the same bounded root
        ssh = lab.transport("win7")
        bounded = ssh.run("grep CapBnd /proc/self/status").stdout
        assert ssh.kind == "ssh" and bounded == console.run("grep CapBnd /proc/self/status").stdout
        assert bounded.split()[1] != "000001ffffffffff"
        assert ssh.run(f"touch /usr/{proof}").exit_status != 0
        assert not os.path.exists(f"/usr/{proof}")
    finally:
        lab.close()


def test_a_guest_sees_neither_the_lab_key_nor_the_other_vms(fresh_lab):
    lab = open_lab(fresh_lab)
    try:
        sdir = netlab.state_dir(fresh_lab)
        console = lab.console.open("nat2")
        assert not console.run(f"test -e {sdir}/id_ed25519").ok
        assert not console.run(f"test -e {sdir}/vm-centos").ok
        assert console.run(f"test -e {sdir}/vm-nat2/ready").ok  # its own disk, where the host looks
    finally:
        lab.close()


UNSAFE = ["touch /tmp/{proof}", "IPADDR=$(touch /tmp/{proof})", "GATEWAY=`touch /tmp/{proof}`",
          "ONBOOT=yes; touch /tmp/{proof}", "f() {{ touch /tmp/{proof}; }}"]


@pytest.mark.parametrize("line", UNSAFE)
def test_lab_up_refuses_files_a_guest_would_run(line, proof, tmp_path):
    """Whatever the inventory's backend says: `lab up` builds guests from it, as root."""
    data = load_inventory(NETNS_INVENTORY).model_dump(mode="json", exclude_none=True)
    data["lab"] = "confine-refused"
    data["backend"] = {"type": "sim"}  # check passes it (the simulated guests only read it); up does not
    data["vms"][0]["files"] = {IFCFG: "DEVICE=eth0\n" + line.format(proof=proof) + "\nBOOTPROTO=dhcp\n"}
    inv = inventory_from_data(data)
    with pytest.raises(InputErrors, match="line 2 of the file"):
        netlab.up(inv)
    assert not netlab.state_dir(inv).exists()
    assert not os.path.exists(f"/tmp/{proof}")


def test_lab_up_exits_2_with_the_line(tmp_path):
    inv = tmp_path / "bad.yml"
    text = NETNS_INVENTORY.read_text().replace("lab: seed-netns", "lab: confine-cli").replace(
        "        BOOTPROTO=static\n", "        BOOTPROTO=static\n        touch /tmp/labkit-proof-cli\n")
    inv.write_text(text)
    line = text.splitlines().index("        touch /tmp/labkit-proof-cli") + 1
    for args in (["check", str(inv)], ["lab", "up", "-i", str(inv)]):
        done = subprocess.run([sys.executable, "-m", "labkit.cli", *args], cwd=REPO, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 2, done
        assert f"error: {inv}:{line}: vms[0].files" in done.stderr and "not an assignment" in done.stderr
    assert not os.path.exists("/tmp/labkit-proof-cli")
