"""Guests reached the way real labs are, with real sshd and sudo: through jump hosts, as users that
are not root (tests/backends/netns/bastion-lab.yml, lab `h11-bastion`, built once for the module).

backstage (10.30.0.0/24) is reached only through jump1, vault (10.40.0.0/24) only through jump1
then jump2; every guest's sshd refuses root; web's user has NOPASSWD sudo, db's user sudo with a
password held by $H11_DB_SUDO_PW.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from labkit.backends import open_lab
from labkit.backends.netns import build as netlab
from labkit.errors import TransportError, UnreachableError
from labkit.inventory import inventory_from_data, load_inventory
from labkit.model import ConfigureGuest, Step
from labkit.runner import run_step
from labkit.yamlsrc import load
from tests.backends.netns.conftest import lab_built, require_lab_host
from tests.conftest import require

BASTION = Path(__file__).with_name("bastion-lab.yml")
PASSWORD_ENV = "H11_DB_SUDO_PW"
PASSWORD = "db-Sudo-pa55-h11"
IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"


@pytest.fixture(scope="module")
def inv():
    require_lab_host()
    require(shutil.which("sudo") is not None, "the guests' sudo comes from this machine (make lab-deps)")
    env = pytest.MonkeyPatch()
    env.setenv(PASSWORD_ENV, PASSWORD)  # read at lab up (db's password) and at every sudo
    inventory = load_inventory(BASTION)
    try:
        with lab_built(inventory):
            yield inventory
    finally:
        env.undo()


@pytest.fixture
def lab(inv):
    opened = open_lab(inv)
    yield opened
    opened.close()


def guest_ip(lab, vm: str) -> str:
    return str(lab.hypervisor.guest_nics(vm)[0].addresses[0].ip)


def as_user(lab, vm: str, **changes):
    """SSH to `vm` the lab's way, with some of its inventory ssh settings changed."""
    ssh = lab.inventory.vm(vm).ssh.over(lab.inventory.ssh).model_copy(update=changes)
    return lab._ssh(vm, guest_ip(lab, vm), ssh)


def test_guests_behind_one_and_two_jump_hosts_run_as_root_through_sudo(lab):
    assert lab.transport("jump1").run("id -un").stdout == "hopper\n"  # the bastion itself: no sudo asked
    assert lab.transport("jump2").run("id -un").stdout == "hopper\n"
    for vm in ("web", "db"):
        t = lab.transport(vm)
        r = t.run("id -u; hostname; echo out; echo err >&2")
        assert (r.exit_status, r.stdout, r.stderr) == (0, f"0\n{vm}\nout\n", "err\n"), vm
        assert t.run("exit 7").exit_status == 7  # the command's status, not sudo's
    # nothing reaches the private segments except through the jump hosts
    host = lab.transport("host")
    assert not host.run("ping -c 1 -W 1 10.30.0.11").ok and not host.run("ping -c 1 -W 1 10.40.0.11").ok


def test_one_handshake_per_guest_and_one_per_jump_host_for_many_commands_at_once(lab):
    errors: list[BaseException] = []

    def work(vm: str) -> None:
        try:
            for i in range(15):
                assert lab.transport(vm).run(f"echo {i}").stdout == f"{i}\n"
        except BaseException as exc:  # reported below: a thread's assertion would be lost
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(vm,)) for vm in ("jump2", "web", "db") for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    for vm in ("jump2", "web", "db"):
        assert lab.transport(vm).handshakes == 1, vm
    # jump1 carries jump2, web and db (and jump2 carries db): one handshake each for the whole run
    assert lab.bastions.connections() == {"jump host jump1": 1, "jump host jump2": 1}


def test_sshd_refuses_root_on_every_guest(lab):
    for vm in ("jump1", "web", "db"):
        t = as_user(lab, vm, user="root", become=None, become_password_env=None)
        try:
            with pytest.raises(TransportError, match="authentication failed as root") as err:
                t.run("true")
            assert str(err.value).startswith(f"{vm} (root@{guest_ip(lab, vm)}:")
        finally:
            t.close()


def test_sudo_password_comes_from_the_environment_and_never_shows(lab, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    db = lab.transport("db")
    assert db.run("id -un").stdout == "root\n"
    secret = db.read_file("/etc/shadow")  # root-only: read through sudo
    assert "dbadmin:$6$" in secret
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password-h11")
    wrong = as_user(lab, "db")
    try:
        with pytest.raises(TransportError) as err:
            wrong.run("true")
        assert f"sudo refused the password from ${PASSWORD_ENV} for dbadmin" in str(err.value)
        assert str(err.value).startswith(f"db (dbadmin@{guest_ip(lab, 'db')}:22 via ")
    finally:
        wrong.close()
    seen = caplog.text + str(err.value) + repr(wrong) + str(vars(wrong))
    assert PASSWORD not in seen and "not-the-password-h11" not in seen


def test_sudo_that_wants_a_password_or_refuses_is_a_clear_error(lab, monkeypatch):
    nopw = as_user(lab, "db", become_password_env=None)  # db's sudo asks for one; none is configured
    # hopper has no sudo rule: sudo asks for a password first, then (given the right one) refuses
    lab.console.open("jump2").run(f"echo 'hopper:{PASSWORD}' | chpasswd")
    asks = as_user(lab, "jump2", become="sudo")
    refused = as_user(lab, "jump2", become="sudo", become_password_env=PASSWORD_ENV)
    motd = lab.console.open("jump2").read_file("/etc/motd")
    try:
        with pytest.raises(TransportError, match="sudo asks dbadmin for a password and the inventory gives none"):
            nopw.run("true")
        with pytest.raises(TransportError, match=r"^jump2 \(hopper@10.30.0.2:22 via .*: sudo asks hopper for a pass"):
            asks.run("true")
        with pytest.raises(TransportError, match=r"^jump2 \(hopper@.*sudo refuses hopper: not allowed"):
            refused.write_file("/etc/motd", "x\n")
        assert lab.console.open("jump2").read_file("/etc/motd") == motd  # nothing written
    finally:
        for t in (nopw, asks, refused):
            t.close()
    monkeypatch.delenv(PASSWORD_ENV)
    unset = as_user(lab, "db")
    try:
        with pytest.raises(TransportError, match=rf"sudo password variable \${PASSWORD_ENV} is not set"):
            unset.read_file("/etc/hostname")
    finally:
        unset.close()


def test_writes_through_sudo_keep_owner_group_mode_and_are_atomic(lab):
    console = lab.console.open("web")
    console.run("printf 'old\\n' > /etc/h11-kept && chown 2000:0 /etc/h11-kept && chmod 0640 /etc/h11-kept")
    before = console.run("stat -c '%i' /etc/h11-kept").stdout
    web = lab.transport("web")
    web.write_file("/etc/h11-kept", "new caf\u00e9\n", mode=0o600)
    assert console.run("stat -c '%u:%g %a' /etc/h11-kept").stdout == "2000:0 640\n"  # the target's, kept
    assert console.run("stat -c '%i' /etc/h11-kept").stdout != before  # renamed over, not rewritten
    assert web.read_file("/etc/h11-kept") == "new caf\u00e9\n"
    web.write_file("/etc/h11-new", "fresh\n", mode=0o600)
    assert console.run("stat -c '%U:%G %a' /etc/h11-new").stdout == "root:root 600\n"  # new: root's, as asked
    assert console.run("ls -a /etc | grep -c labkit- || true").stdout == "0\n"  # no temp file left
    staged = console.run("ls /tmp").stdout.split()
    assert [s for s in staged if s.startswith("labkit-stage.")] and \
        console.run("find /tmp -type f | wc -l").stdout == "0\n"  # the staging dir is private and empty
    with pytest.raises(TransportError, match="directory /etc/nope does not exist"):
        web.write_file("/etc/nope/file", "x")
    with pytest.raises(FileNotFoundError):
        web.read_file("/etc/h11-absent")
    web.close()
    assert not [s for s in console.run("ls /tmp").stdout.split() if s.startswith("labkit-stage.")]


def apply(lab, vm, **kw):
    spec = ConfigureGuest(vms=[vm], interface="eth0", apply=True, rollback_after=10, **kw)
    return run_step(Step(name="apply", kind="configure_guest", spec=spec), lab).vms[vm]


def test_safe_apply_through_sudo_behind_a_jump_host(lab):
    console = lab.console.open("web")
    original = console.read_file(IFCFG)
    good = apply(lab, "web", address="10.30.0.12/24", gateway="10.30.0.1")
    assert good.ok, good.error
    assert guest_ip(lab, "web") == "10.30.0.12"
    bad = apply(lab, "web", address="10.30.0.13/24", gateway="10.30.0.99")  # a gateway nobody answers for
    assert not bad.ok and "rolled back" in bad.error and "answers again at 10.30.0.12" in bad.error
    assert guest_ip(lab, "web") == "10.30.0.12"
    backups = console.run("stat -c '%U %a %n' /etc/sysconfig/network-scripts/*.labkit-*.bak").stdout.splitlines()
    assert len(backups) == 2 and all(line.startswith("root 644 ") for line in backups)
    assert console.run(f"stat -c '%U %a' {IFCFG}").stdout == "root 644\n"
    assert "IPADDR=10.30.0.12" in console.read_file(IFCFG) and "IPADDR=10.30.0.11" in original
    assert good.detail.startswith("eth0: 10.30.0.12 confirmed")


def test_a_changed_jump_host_key_is_refused_never_gone_round(inv):
    known = netlab.state_dir(inv) / "known_hosts"
    saved = known.read_text()
    lines = saved.splitlines()
    other = next(line for line in lines if line.startswith("jump2 ")).split(" ", 1)[1]
    known.write_text("\n".join(f"jump1 {other}" if line.startswith("jump1 ") else line for line in lines) + "\n")
    lab = open_lab(inv)
    try:
        with pytest.raises(TransportError, match="host key mismatch") as err:
            lab.transport("web").run("true")
        assert not isinstance(err.value, UnreachableError)
        message = str(err.value)
        assert message.startswith("web (labkit@") and "jump host jump1 (hopper@192.168.1.60:2222)" in message
        assert "possible man-in-the-middle" in message
        assert "console" not in lab.transport("web").used  # a wrong key never falls back to the console
        assert lab.bastions.handshakes == 0
    finally:
        lab.close()
        known.write_text(saved)


def test_ssh_config_aliases_user_port_identity_file_and_proxy_jump(inv, tmp_path):
    """The inventory names guests by ssh_config alias only; User, Port, IdentityFile, ProxyJump and
    the jump hosts' HostKeyAlias come from the file."""
    state = netlab.state_dir(inv)
    key = tmp_path / "id_lab"  # another key, authorized beside the lab's: the log says which one logged in
    os.system(f"ssh-keygen -q -t ed25519 -N '' -C h11-config -f {key}")
    fingerprint = os.popen(f"ssh-keygen -l -f {key}.pub").read().split()[1]
    lab = open_lab(inv)
    line = key.with_suffix(".pub").read_text()
    for vm, user in (("jump1", "hopper"), ("jump2", "hopper"), ("web", "labkit"), ("db", "dbadmin")):
        lab.console.open(vm).run(f"cat >> /home/{user}/.ssh/authorized_keys <<'EOF'\n{line}EOF")
    lab.close()
    config = tmp_path / "ssh config"  # a path with a space
    config.write_text(f"""\
Host web-alias
  HostName 10.30.0.11
  User labkit
  ProxyJump jumpbox
Host db-alias
  HostName 10.40.0.11
  User dbadmin
  ProxyJump jumpbox,hop2
Host jumpbox
  HostName 192.168.1.60
  Port 2222
  User hopper
  HostKeyAlias jump1
Host hop2
  HostName 10.30.0.2
  User hopper
  HostKeyAlias jump2
Host *
  IdentityFile {key}
  UserKnownHostsFile {state / "known_hosts"}
""")
    data = load(BASTION).data
    data.pop("ssh")  # no lab-wide jump host: ssh_config's ProxyJump decides
    for vm in data["vms"]:
        if vm["name"] in ("web", "db"):
            vm["ssh"] = {"address": f"{vm['name']}-alias", "config_file": str(config), "become": "sudo",
                         **({"become_password_env": PASSWORD_ENV} if vm["name"] == "db" else {})}
    lab = open_lab(inventory_from_data(data))
    try:
        for vm in ("web", "db"):
            t = lab.transport(vm)
            assert t.run("id -u").stdout == "0\n" and t.handshakes == 1
        assert lab.bastions.connections() == {"jump host jumpbox": 1, "jump host hop2": 1}
        for vm, user in (("jump1", "hopper"), ("web", "labkit"), ("db", "dbadmin")):
            log = (state / f"vm-{vm}" / "sshd.log").read_text()
            assert re.search(rf"Accepted publickey for {user} .* {re.escape(fingerprint)}", log), vm
    finally:
        lab.close()
