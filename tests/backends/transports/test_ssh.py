"""SshTransport against a real OpenSSH server started by the tests on 127.0.0.1 (needs root).

The server and the files it serves are on this machine, so the tests check the remote side of
every operation (modes, inodes, leftovers) with os.stat and os.listdir.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from labkit.errors import TransportError, UnreachableError
from labkit.model import Ssh
from labkit.protocols import GuestTransport
from labkit.backends.transports.ssh import SshTransport, from_inventory
from tests.backends.transports.conftest import free_port as _free_port
from tests.backends.transports.conftest import keygen as _keygen
from tests.backends.transports.conftest import public as _public


@pytest.fixture
def known_hosts(sshd, tmp_path) -> Path:
    path = tmp_path / "known_hosts"
    path.write_text(sshd.host_line + "\n")
    return path


@pytest.fixture
def make(sshd, tmp_path, known_hosts):
    """Build transports to the test sshd with only the given credentials; all closed at the end."""
    made: list[SshTransport] = []

    def build(**kw) -> SshTransport:
        args = dict(key_file=sshd.client_key, allow_agent=False, known_hosts=str(known_hosts),
                    labkit_known_hosts=str(tmp_path / "cfg" / "labkit" / "known_hosts"),
                    connect_timeout=5, name="node1")
        args.update(kw)
        t = SshTransport(sshd.host, sshd.port, "root", **args)
        made.append(t)
        return t

    yield build
    for t in made:
        t.close()


def test_verified_host_runs_commands(make, tmp_path):
    t = make()
    assert isinstance(t, GuestTransport) and t.kind == "ssh"
    assert t.handshakes == 0  # lazy: nothing until first use
    assert t.run("echo hello; id -u").stdout == "hello\n0\n"
    assert t.handshakes == 1
    assert not (tmp_path / "cfg").exists()  # a verified host records nothing


@pytest.mark.parametrize("tofu", [False, True])
@pytest.mark.parametrize("recorded", ["other-ed25519", "ecdsa"])
def test_wrong_host_key_is_refused_even_with_tofu(sshd, make, tmp_path, tofu, recorded):
    other = sshd.stranger_key if recorded == "other-ed25519" else _keygen(tmp_path / "ecdsa", "ecdsa")
    kind, b64 = _public(other)
    (tmp_path / "known_hosts").write_text(f"[127.0.0.1]:{sshd.port} {kind} {b64}\n")
    t = make(trust_on_first_use=tofu)
    with pytest.raises(TransportError) as e:
        t.run("true")
    msg = str(e.value)
    assert "host key mismatch" in msg and "man-in-the-middle" in msg and f"127.0.0.1:{sshd.port}" in msg
    assert sshd.host_key.fingerprint in msg and "node1" in msg
    assert not (tmp_path / "cfg").exists() and t.handshakes == 0


def test_unknown_host_is_refused_without_tofu(sshd, make, tmp_path):
    t = make(known_hosts=str(tmp_path / "absent"))
    with pytest.raises(TransportError, match="unknown host key") as e:
        t.run("true")
    assert f"ssh-ed25519 {sshd.host_key.fingerprint}" in str(e.value)
    assert "trust_on_first_use" in str(e.value)
    assert not (tmp_path / "cfg").exists()


def test_tofu_records_key_and_next_transport_verifies_it(sshd, make, tmp_path):
    labkit_file = tmp_path / "cfg" / "labkit" / "known_hosts"
    first = make(known_hosts=str(tmp_path / "absent"), trust_on_first_use=True)
    assert first.run("echo first").stdout == "first\n"
    assert labkit_file.stat().st_mode & 0o777 == 0o600
    assert labkit_file.read_text() == sshd.host_line + "\n"
    second = make(known_hosts=str(tmp_path / "absent"))  # no TOFU: must verify against labkit's file
    assert second.run("echo second").stdout == "second\n"
    assert labkit_file.read_text() == sshd.host_line + "\n"  # nothing appended twice


def test_host_key_alias_names_the_host_in_known_hosts(sshd, make, tmp_path):
    kind, b64 = sshd.host_line.split()[1:]
    # recorded by name only, and as OpenSSH records a HostKeyAlias: without the port
    (tmp_path / "known_hosts").write_text(f"web1 {kind} {b64}\n")
    assert make(host_key_alias="web1").run("echo alias").stdout == "alias\n"
    with pytest.raises(TransportError, match="unknown host key"):
        make().run("true")  # the address itself is not known
    (tmp_path / "known_hosts").write_text(f"web2 {' '.join(_public(sshd.stranger_key))}\n")
    with pytest.raises(TransportError, match=r"host key mismatch .*host key alias web2") as e:
        make(host_key_alias="web2").run("true")
    assert "man-in-the-middle" in str(e.value)


def test_one_connection_for_many_operations(make, tmp_path):
    t = make()
    for i in range(20):
        assert t.run(f"echo {i}").stdout == f"{i}\n"
    target = tmp_path / "f.txt"
    t.write_file(str(target), "a\n")
    assert t.read_file(str(target)) == "a\n"
    t.write_file(str(target), "b\n")
    assert t.read_file(str(target)) == "b\n"
    with pytest.raises(FileNotFoundError):
        t.read_file(str(tmp_path / "nope"))
    assert t.handshakes == 1


def test_run_keeps_status_and_streams_apart(make):
    r = make().run("sh -c 'echo out; echo err >&2; exit 3'")
    assert (r.exit_status, r.stdout, r.stderr, r.ok) == (3, "out\n", "err\n", False)


def test_big_output_on_both_streams_does_not_hang(make):
    # 5 MB to stderr before any stdout: a reader that drains stdout first would stall on a full window.
    r = make().run("head -c 5000000 /dev/zero | tr '\\0' e >&2; head -c 5000000 /dev/zero | tr '\\0' o",
                   timeout=60)
    assert r.ok and len(r.stdout) == len(r.stderr) == 5_000_000
    assert set(r.stdout) == {"o"} and set(r.stderr) == {"e"}


def test_output_that_is_not_utf8_is_replaced(make):
    assert make().run("printf 'caf\\351\\n'").stdout == "caf\ufffd\n"


def test_command_timeout_raises_and_transport_stays_usable(make):
    t = make()
    # A loop that writes: once labkit closes the channel it dies of SIGPIPE, so nothing is left running.
    # It never ends by itself, so only the timeout can end the call (no wall-clock assertion needed).
    forever = "while :; do echo tick; sleep 0.2; done"
    with pytest.raises(TransportError, match=r"timed out after 1 s"):
        t.run(forever, timeout=1)
    t.command_timeout = 0.5
    with pytest.raises(TransportError, match=r"timed out after 0.5 s"):
        t.run(forever)
    assert t.run("echo still here").stdout == "still here\n"
    assert t.handshakes == 1


def test_sock_factory_is_used_and_dropped_connection_reconnects_once(sshd, make):
    socks: list[socket.socket] = []

    def factory(host: str, port: int, timeout: float) -> socket.socket:
        socks.append(socket.create_connection((host, port), timeout=timeout))
        return socks[-1]

    t = make(sock_factory=factory)
    assert t.run("echo 1").stdout == "1\n" and t.run("echo 2").stdout == "2\n"
    assert len(socks) == 1 and t.handshakes == 1
    socks[0].shutdown(socket.SHUT_RDWR)  # the guest's network went away under the connection
    time.sleep(0.3)
    assert t.run("echo 3").stdout == "3\n"
    assert len(socks) == 2 and t.handshakes == 2


def test_connection_refused_is_clear(sshd):
    t = SshTransport("127.0.0.1", _free_port(), key_file=sshd.client_key, allow_agent=False, name="node9")
    with pytest.raises(TransportError, match="connection refused") as e:
        t.run("true")
    assert "node9" in str(e.value) and f":{t.port}" in str(e.value)


@pytest.mark.parametrize("raised, expected", [
    (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "cannot resolve host name"),
    (TimeoutError("timed out"), "connect timed out after 5 s"),
    (OSError(errno.EHOSTUNREACH, "No route to host"), "cannot connect: No route to host"),
])
def test_socket_failures_are_clear(make, raised, expected):
    def factory(host, port, timeout):
        raise raised
    with pytest.raises(TransportError, match=expected) as e:
        make(sock_factory=factory).run("true")
    assert str(e.value).startswith("node1 (root@127.0.0.1:")


def test_silent_server_fails_the_handshake_in_time(make):
    with socket.socket() as listener:  # accepts TCP, never says a word of SSH
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        accepted: list[socket.socket] = []
        threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
        t = make(sock_factory=lambda h, p, to: socket.create_connection((h, listener.getsockname()[1]), to),
                 connect_timeout=1)
        with pytest.raises(UnreachableError, match="no SSH server answered"):
            t.run("true")
        for s in accepted:
            s.close()


def test_a_forward_with_nothing_behind_it_is_unreachable(make):
    """TCP accepted, then reset before any SSH (a NAT port forward to a guest that moved): nothing
    was said about keys or credentials, so callers may go round to a console."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def reset():
            conn = listener.accept()[0]
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            conn.close()  # linger 0: RST

        threading.Thread(target=reset, daemon=True).start()
        t = make(sock_factory=lambda h, p, to: socket.create_connection((h, listener.getsockname()[1]), to),
                 connect_timeout=2)
        # the reset lands before or during the SSH exchange, as the scheduler has it: unreachable either way
        with pytest.raises(UnreachableError, match="no SSH server answered|Connection reset by peer"):
            t.run("true")


def test_unauthorized_key_fails_auth_clearly(sshd, make):
    t = make(key_file=str(sshd.stranger_key))
    with pytest.raises(TransportError, match="authentication failed as root") as e:
        t.run("true")
    assert f"key file {sshd.stranger_key}" in str(e.value) and "node1" in str(e.value)


def test_wrong_password_is_refused_and_never_shown(make, monkeypatch, caplog):
    secret = "Sup3r-s3cret-Pa55word"
    monkeypatch.setenv("LABKIT_TEST_PW", secret)
    caplog.set_level(logging.DEBUG)
    t = make(key_file=None, password_env="LABKIT_TEST_PW")
    with pytest.raises(TransportError, match="authentication failed") as e:
        t.run("true")
    assert "password from $LABKIT_TEST_PW" in str(e.value)
    assert any("password" in r.getMessage().lower() for r in caplog.records)  # paramiko did try it
    seen = [str(e.value), repr(e.value), repr(t), str(vars(t)), caplog.text]
    seen += [r.getMessage() for r in caplog.records] + [str(r.args) for r in caplog.records]
    exc: BaseException | None = e.value
    while exc is not None:
        seen += [str(exc), repr(exc)]
        exc = exc.__cause__ or exc.__context__
    assert not [s for s in seen if secret in s]


def test_missing_password_variable_is_named(make, monkeypatch):
    monkeypatch.delenv("LABKIT_NO_SUCH_PW", raising=False)
    with pytest.raises(TransportError, match=r"\$LABKIT_NO_SUCH_PW is not set"):
        make(key_file=None, password_env="LABKIT_NO_SUCH_PW").run("true")


def test_write_file_replaces_atomically_with_mode(make, tmp_path):
    d = tmp_path / "etc"
    d.mkdir()
    target = d / "ifcfg-eth0"
    target.write_text("OLD\n")
    target.chmod(0o600)
    old_inode = target.stat().st_ino
    t = make()
    t.write_file(str(target), "DEVICE=eth0\nNAME=caf\u00e9\n", mode=0o640)
    assert target.read_text() == "DEVICE=eth0\nNAME=caf\u00e9\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert target.stat().st_ino != old_inode  # a new file renamed over it, not rewritten in place
    assert os.listdir(d) == ["ifcfg-eth0"]  # no temp files left
    assert t.read_file(str(target)) == "DEVICE=eth0\nNAME=caf\u00e9\n"


def test_failed_write_leaves_nothing_behind(make, tmp_path):
    t = make()
    with pytest.raises(TransportError, match="does not exist"):
        t.write_file(str(tmp_path / "missing" / "dir" / "f"), "x")
    assert not (tmp_path / "missing").exists()
    # The temp file is written, then the rename fails (the target is a non-empty directory): it must go.
    d = tmp_path / "etc"
    (d / "target").mkdir(parents=True)
    (d / "target" / "keep").write_text("k")
    with pytest.raises(TransportError, match="SFTP write"):
        t.write_file(str(d / "target"), "x" * 100_000)
    assert os.listdir(d) == ["target"] and os.listdir(d / "target") == ["keep"]
    assert t.run("true").ok and t.handshakes == 1


def test_read_missing_file_raises_file_not_found(make, tmp_path):
    with pytest.raises(FileNotFoundError):
        make().read_file(str(tmp_path / "absent"))


def test_close_is_idempotent_and_next_use_reconnects(make):
    t = make()
    t.run("true")
    t.close()
    t.close()
    assert t.run("echo again").stdout == "again\n" and t.handshakes == 2


def test_from_inventory(sshd, known_hosts, tmp_path):
    ssh = Ssh.model_validate({"address": sshd.host, "port": sshd.port, "key_file": sshd.client_key,
                              "known_hosts": str(known_hosts)})
    t = from_inventory("web1", ssh, allow_agent=False, labkit_known_hosts=str(tmp_path / "lk"))
    try:
        assert (t.name, t.user, t.port) == ("web1", "root", sshd.port)
        assert t.run("echo inv").stdout == "inv\n"
    finally:
        t.close()
    with pytest.raises(TransportError, match="web1: the inventory gives no ssh address"):
        from_inventory("web1", Ssh())
