"""A real OpenSSH server on 127.0.0.1 for the SSH transport's tests (needs root), started once.

It allows TCP forwarding, so it is also its own jump host (ProxyJump through it to itself).
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import paramiko
import pytest

from tests.conftest import require

SSHD = Path("/usr/sbin/sshd")
SFTP_SERVER = Path("/usr/lib/openssh/sftp-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def keygen(path: Path, kind: str = "ed25519") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "labkit-test", "-f", str(path)], check=True)
    return path


def public(path: Path) -> tuple[str, str]:
    kind, b64 = path.with_name(path.name + ".pub").read_text().split()[:2]
    return kind, b64


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    require(os.geteuid() == 0 and SSHD.exists(), "needs root and /usr/sbin/sshd to start a test sshd")
    require(shutil.which("ssh-keygen") is not None, "needs ssh-keygen (openssh-client)")
    d = tmp_path_factory.mktemp("sshd")
    host_key = keygen(d / "host_ed25519")
    client_key = keygen(d / "client_ed25519")
    stranger_key = keygen(d / "stranger_ed25519")  # valid key, never authorized
    (d / "authorized_keys").write_text(" ".join(public(client_key)) + "\n")
    port = free_port()
    (d / "sshd_config").write_text(f"""\
Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
PidFile {d / "sshd.pid"}
UsePAM no
AuthorizedKeysFile {d / "authorized_keys"}
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
StrictModes no
MaxStartups 100
Subsystem sftp {SFTP_SERVER if SFTP_SERVER.exists() else "internal-sftp"}
""")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege-separation directory
    subprocess.run([str(SSHD), "-t", "-f", str(d / "sshd_config")], check=True)
    log = open(d / "sshd.log", "wb")
    proc = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(d / "sshd_config")], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, f"sshd exited: {(d / 'sshd.log').read_text()}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "sshd never accepted connections"
                time.sleep(0.05)
        kind, b64 = public(host_key)
        yield SimpleNamespace(host="127.0.0.1", port=port, dir=d, client_key=str(client_key),
                              stranger_key=stranger_key, host_line=f"[127.0.0.1]:{port} {kind} {b64}",
                              host_key=paramiko.PKey.from_type_string(kind, base64.b64decode(b64)))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


