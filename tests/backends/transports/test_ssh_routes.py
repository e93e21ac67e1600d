"""ssh_config, jump hosts, ProxyCommand and sudo, against the real test sshd on 127.0.0.1 (needs root).

The test sshd allows TCP forwarding, so it is its own jump host: a route through it to itself has
every real part (the bastion's handshake, its host key check, direct-tcpip channels).
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from labkit.backends.transports.bastions import Bastions
from labkit.backends.transports.ssh import SshTransport
from labkit.errors import TransportError, UnreachableError
from labkit.protocols import CommandResult
from tests.backends.transports.conftest import free_port, keygen, public
from tests.conftest import require


@pytest.fixture
def files(sshd, tmp_path):
    """known_hosts with the sshd under its address and under the aliases hop1/hop2, and a helper
    writing an ssh_config."""
    kind, b64 = public(Path(sshd.dir / "host_ed25519"))
    known = tmp_path / "known_hosts"
    known.write_text(f"{sshd.host_line}\nhop1 {kind} {b64}\nhop2 {kind} {b64}\n")

    def config(text: str) -> str:
        path = tmp_path / "ssh config"  # a space in the path
        path.write_text(text)
        return str(path)

    return type("Files", (), {"known": str(known), "config": staticmethod(config), "dir": tmp_path})


@pytest.fixture
def make(sshd, files):
    made: list[SshTransport] = []

    def build(host: str = "127.0.0.1", **kw) -> SshTransport:
        args = dict(allow_agent=False, labkit_known_hosts=str(files.dir / "labkit_known_hosts"), connect_timeout=5,
                    name="node1", user_config=None)
        args.update(kw)
        t = SshTransport(host, **args)
        made.append(t)
        return t

    yield build
    for t in made:
        t.close()


def test_an_ssh_config_alias_gives_host_port_user_identity_and_known_hosts(sshd, files, make):
    cfg = files.config(f"""\
Host web
  HostName 127.0.0.1
  Port {sshd.port}
  User root
  IdentityFile {sshd.client_key}
  IdentityFile /nonexistent/id_absent
  UserKnownHostsFile /nonexistent/known {files.known}
""")
    t = make("web", config_file=cfg)
    assert (t.host, t.port, t.user, t.alias) == ("127.0.0.1", sshd.port, "root", "web")
    assert t.run("echo via-alias").stdout == "via-alias\n" and t.handshakes == 1
    # the inventory wins over the file: an explicit port and user; its key is tried first (as ssh -i)
    with pytest.raises(UnreachableError, match="connection refused"):
        make("web", config_file=cfg, port=free_port()).run("true")
    with pytest.raises(TransportError, match=r"authentication failed as nobody \(tried: key file .*stranger"
                                             rf"_ed25519, key file {sshd.client_key}\)"):
        make("web", config_file=cfg, user="nobody", key_file=str(sshd.stranger_key)).run("true")


@pytest.mark.parametrize("setting", ["no", "accept-new", "off"])
def test_strict_host_key_checking_in_ssh_config_never_weakens_labkit(sshd, files, make, setting):
    cfg = files.config(f"Host *\n  StrictHostKeyChecking {setting}\n  UserKnownHostsFile /nonexistent/known\n"
                       f"  IdentityFile {sshd.client_key}\n")
    with pytest.raises(TransportError, match="unknown host key for 127.0.0.1") as err:
        make(port=sshd.port, config_file=cfg).run("true")
    assert "trust_on_first_use" in str(err.value)
    assert not (files.dir / "labkit_known_hosts").exists()


def test_strict_yes_in_ssh_config_turns_trust_on_first_use_off(sshd, files, make):
    cfg = files.config(f"Host *\n  StrictHostKeyChecking yes\n  IdentityFile {sshd.client_key}\n")
    with pytest.raises(TransportError, match="unknown host key"):
        make(port=sshd.port, config_file=cfg, known_hosts="/nonexistent/known", trust_on_first_use=True).run("true")
    assert not (files.dir / "labkit_known_hosts").exists()


def test_a_missing_config_file_is_named(make):
    with pytest.raises(TransportError, match="node1: cannot read the ssh config file /nonexistent/ssh_config"):
        make(config_file="/nonexistent/ssh_config")


def test_guests_behind_a_jump_host_share_one_handshake_with_it(sshd, files, make):
    bastions = Bastions()
    jump = f"root@127.0.0.1:{sshd.port}"
    guests = [make(port=sshd.port, user="root", key_file=sshd.client_key, known_hosts=files.known, proxy_jump=jump,
                   bastions=bastions, name=f"g{i}") for i in range(4)]
    errors: list[BaseException] = []

    def work(t: SshTransport) -> None:
        try:
            for i in range(10):
                assert t.run(f"echo {i}").stdout == f"{i}\n"
            t.write_file(str(files.dir / f"{t.name}.txt"), t.name)
            assert t.read_file(str(files.dir / f"{t.name}.txt")) == t.name
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in guests]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert [t.handshakes for t in guests] == [1, 1, 1, 1]
    assert bastions.connections() == {"jump host 127.0.0.1": 1}
    assert guests[0].target.via == f" via root@127.0.0.1:{sshd.port}"
    bastions.close()


def test_a_chain_of_two_from_ssh_config_and_its_host_keys(sshd, files, make):
    cfg = files.config(f"""\
Host guest
  HostName 127.0.0.1
  Port {sshd.port}
  ProxyJump hop1,hop2
Host hop1
  HostName 127.0.0.1
  Port {sshd.port}
  HostKeyAlias hop1
Host hop2
  HostName 127.0.0.1
  Port {sshd.port}
  HostKeyAlias hop2
Host *
  User root
  IdentityFile {sshd.client_key}
  UserKnownHostsFile {files.known}
""")
    t = make("guest", config_file=cfg)
    assert t.run("echo two hops").stdout == "two hops\n"
    assert [j.name for j in t.route] == ["jump host hop1", "jump host hop2"]
    assert [j.host_key_alias for j in t.route] == ["hop1", "hop2"]
    assert t._bastions.connections() == {"jump host hop1": 1, "jump host hop2": 1}
    # hop2's key changed: refused, naming the jump host, and never "unreachable"
    kind, b64 = public(sshd.stranger_key)
    Path(files.known).write_text(f"{sshd.host_line}\nhop1 {' '.join(public(sshd.dir / 'host_ed25519'))}\n"
                                 f"hop2 {kind} {b64}\n")
    with pytest.raises(TransportError, match="host key mismatch") as err:
        make("guest", config_file=cfg).run("true")
    assert not isinstance(err.value, UnreachableError)
    assert f"jump host hop2 (root@127.0.0.1:{sshd.port} via root@127.0.0.1:{sshd.port})" in str(err.value)
    assert str(err.value).startswith(f"node1 (root@127.0.0.1:{sshd.port} via ")


def test_the_inventory_proxy_jump_wins_and_none_means_direct(sshd, files, make):
    cfg = files.config(f"Host *\n  ProxyJump nowhere.invalid\n  User root\n  IdentityFile {sshd.client_key}\n"
                       f"  UserKnownHostsFile {files.known}\n")
    with pytest.raises(UnreachableError, match="jump host nowhere.invalid .*cannot resolve host name"):
        make(port=sshd.port, config_file=cfg).run("true")
    assert make(port=sshd.port, config_file=cfg, proxy_jump="none").run("echo direct").stdout == "direct\n"


def test_a_guest_the_jump_host_cannot_reach_is_unreachable(sshd, files, make):
    t = make(port=free_port(), user="root", key_file=sshd.client_key, known_hosts=files.known,
             proxy_jump=f"root@127.0.0.1:{sshd.port}")
    with pytest.raises(UnreachableError, match=r"jump host 127.0.0.1 .*cannot connect on to 127.0.0.1:\d+"):
        t.run("true")


def test_proxy_command(sshd, files, make):
    require(shutil.which("ssh") is not None, "needs the ssh client (openssh-client) for a ProxyCommand")
    proxy = (f"ssh -q -F none -i {sshd.client_key} -o UserKnownHostsFile={files.known} -o BatchMode=yes "
             "-p %p -W %h:%p root@%h")
    cfg = files.config(f"""\
Host behind
  HostName 127.0.0.1
  Port {sshd.port}
  User root
  IdentityFile {sshd.client_key}
  UserKnownHostsFile {files.known}
  ProxyCommand {proxy}
""")
    t = make("behind", config_file=cfg)
    assert t.run("echo proxied").stdout == "proxied\n" and t.handshakes == 1


def test_become_sudo_runs_reads_and_writes_as_root_keeping_owner_and_mode(sshd, files, make, tmp_path):
    t = make(port=sshd.port, user="root", key_file=sshd.client_key, known_hosts=files.known, become="sudo")
    assert t.run("id -u; echo err >&2; exit 3") == CommandResult(3, "0\n", "err\n")
    target = tmp_path / "etc" / "owned.conf"
    target.parent.mkdir()
    target.write_text("old\n")
    os.chown(target, 1234, 4321)
    os.chmod(target, 0o640)
    inode = target.stat().st_ino
    t.write_file(str(target), "new\n", mode=0o600)
    st = target.stat()
    assert (target.read_text(), st.st_uid, st.st_gid, st.st_mode & 0o7777) == ("new\n", 1234, 4321, 0o640)
    assert st.st_ino != inode and os.listdir(target.parent) == ["owned.conf"]
    fresh = tmp_path / "etc" / "fresh.conf"
    t.write_file(str(fresh), "fresh caf\u00e9\n", mode=0o604)
    assert (fresh.stat().st_uid, fresh.stat().st_mode & 0o7777) == (0, 0o604)
    assert t.read_file(str(fresh)) == "fresh caf\u00e9\n"
    with pytest.raises(FileNotFoundError):
        t.read_file(str(tmp_path / "absent"))
    with pytest.raises(TransportError, match="directory .*/missing does not exist"):
        t.write_file(str(tmp_path / "missing" / "f"), "x")
    with pytest.raises(TransportError, match="is a directory"):
        t.write_file(str(tmp_path / "etc"), "x")
    stage = t._sudo._stage
    assert stage and os.stat(stage).st_mode & 0o777 == 0o700 and os.listdir(stage) == []
    assert t.handshakes == 1
    t.close()
    assert not os.path.exists(stage)


def test_sudo_password_is_fed_on_stdin_never_on_the_command_line(sshd, files, make, monkeypatch, caplog):
    secret = "Sud0-only-on-stdin"
    monkeypatch.setenv("LABKIT_TEST_SUDO_PW", secret)
    caplog.set_level(logging.DEBUG)
    t = make(port=sshd.port, user="root", key_file=sshd.client_key, known_hosts=files.known, become="sudo",
             become_password_env="LABKIT_TEST_SUDO_PW")
    # the command sees neither the password (its stdin is /dev/null) nor it in any process's arguments
    r = t.run("cat; ps -eo args | grep -c 'Sud0-[o]nly' || true")
    assert r.ok and secret not in r.stdout and r.stdout.strip() == "0"
    assert secret not in caplog.text and secret not in repr(t) and secret not in str(vars(t))


def test_the_stage_script_keeps_the_selinux_context_where_there_is_one(tmp_path):
    """STAGE_SCRIPT as sudo runs it, with stand-ins for SELinux's tools that record their calls."""
    from labkit.backends.transports.sudo import STAGE_SCRIPT

    bin_dir, log = tmp_path / "bin", tmp_path / "calls"
    bin_dir.mkdir()
    for tool in ("selinuxenabled", "chcon", "restorecon"):
        (bin_dir / tool).write_text(f"#!/bin/sh\necho {tool} \"$@\" >> {log}\n")
        (bin_dir / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    def stage(dst: Path, text: str) -> None:
        src = tmp_path / "staged"
        src.write_text(text)
        subprocess.run(["sh", "-c", STAGE_SCRIPT, "sh", str(src), str(dst), "644"], env=env, check=True)
        assert not src.exists() and dst.read_text() == text

    existing = tmp_path / "ifcfg-eth0"
    existing.write_text("old")
    stage(existing, "new")
    calls = log.read_text().splitlines()
    assert calls[0] == "selinuxenabled" and calls[1].startswith(f"chcon --reference={existing} -- ")
    log.unlink()
    stage(tmp_path / "new-file", "x")
    assert log.read_text().splitlines()[-1] == f"restorecon -- {tmp_path / 'new-file'}"
    (bin_dir / "selinuxenabled").write_text("#!/bin/sh\nexit 1\n")  # SELinux disabled: no context calls
    log.unlink()
    stage(existing, "again")
    assert not log.exists()


def test_sock_factory_reaches_the_first_jump_host_only(sshd, files, make):
    opened: list[tuple[str, int]] = []

    def factory(host: str, port: int, timeout: float) -> socket.socket:
        opened.append((host, port))
        return socket.create_connection((host, port), timeout=timeout)

    t = make(port=sshd.port, user="root", key_file=sshd.client_key, known_hosts=files.known,
             proxy_jump=f"root@127.0.0.1:{sshd.port}", sock_factory=factory)
    assert t.run("echo ok").stdout == "ok\n"
    assert opened == [("127.0.0.1", sshd.port)]  # the guest itself is reached through the jump host


def test_stranger_key_is_named_for_jump_hosts_too(sshd, files, make):
    keygen(files.dir / "other")
    t = make(port=sshd.port, user="root", key_file=str(files.dir / "other"), known_hosts=files.known,
             proxy_jump=f"root@127.0.0.1:{sshd.port}")
    with pytest.raises(TransportError, match=r"jump host 127.0.0.1 .*authentication failed as root"):
        t.run("true")
