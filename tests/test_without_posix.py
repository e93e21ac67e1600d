"""labkit on a Windows laptop: the host-side paths run with the POSIX-only `os` functions gone.

Windows' Python has no os.fchmod (before 3.13), os.fchown, os.geteuid, os.getuid, fcntl or pwd. The
tests below remove them (and say sys.platform is "win32" where labkit looks) and run what a
Workstation user's machine runs: reports written, a .vmx edited, the host's files and pings, the
host's adapters. A static scan keeps such calls from coming back on those paths.
"""

from __future__ import annotations

import ast
import json
import os
import sys
from pathlib import Path

import pytest

# imported here, with the real platform: third-party packages (pydantic, paramiko) pick their own
# Windows modules at import time, which this machine does not have; labkit's code paths run below
import labkit.backends  # noqa: F401
import labkit.backends.transports.local  # noqa: F401
import labkit.backends.workstation.lab  # noqa: F401
import labkit.backends.workstation.vmxedit  # noqa: F401
import labkit.report.as_json  # noqa: F401
import tests.backends.workstation.test_host_adapters  # noqa: F401
from labkit.results import RunResult
from tests.conftest import REPO

POSIX_ONLY = ("fchmod", "fchown", "geteuid", "getuid", "getegid", "getgid", "getpgid", "killpg", "setsid",
              "fork", "mkfifo", "uname", "sync", "getlogin")
POSIX_MODULES = ("fcntl", "pwd", "grp", "termios", "resource", "posix")
# Backends that only exist on Linux (network namespaces, the simulated guests' own sh) are not on a
# Windows user's path; the POSIX local transport's sh is chosen only on POSIX hosts.
LINUX_ONLY = ("labkit/backends/netns/", "labkit/backends/sim/")
# Known leftovers, each with what fixes it: shrink this as they are fixed (the test fails when one is).
KNOWN = {"labkit/backends/transports/sshlogin.py": "os.fchmod: use labkit.osutil.set_mode(fd, path, 0o600)"}


@pytest.fixture
def windows_python(monkeypatch):
    """This interpreter without its POSIX-only calls, claiming to be Windows where labkit asks."""
    for name in POSIX_ONLY:
        monkeypatch.delattr(os, name, raising=False)
    for module in POSIX_MODULES:
        monkeypatch.setitem(sys.modules, module, None)  # `import fcntl` now fails, as on Windows
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.delenv("SystemRoot", raising=False)  # programs by bare name: the fakes answer by name
    monkeypatch.delenv("SYSTEMROOT", raising=False)


def test_posix_only_calls_stay_off_the_workstation_users_path():
    found: dict[str, list[str]] = {}
    for path in sorted((REPO / "labkit").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith(LINUX_ONLY):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), rel)):
            hit = None
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id == "os" and node.attr in POSIX_ONLY:
                    hit = f"os.{node.attr}"
                elif node.value.id == "signal" and node.attr in ("SIGKILL", "SIGHUP", "SIGQUIT"):
                    hit = f"signal.{node.attr}"
            elif isinstance(node, ast.Import):
                hit = next((a.name for a in node.names if a.name in POSIX_MODULES), None)
            elif isinstance(node, ast.ImportFrom) and node.module in POSIX_MODULES:
                hit = node.module
            if hit:
                found.setdefault(rel, []).append(f"{hit} (line {node.lineno})")
    assert set(found) == set(KNOWN), found


def test_osutil_works_without_fchmod(windows_python, tmp_path):
    from labkit.osutil import host_family, keep_owner, set_mode

    assert not hasattr(os, "fchmod") and not hasattr(os, "geteuid")
    f = tmp_path / "key"
    f.write_text("x")
    fd = os.open(f, os.O_RDONLY)
    try:
        set_mode(fd, f, 0o444)  # by path: on Windows only the read-only flag
        keep_owner(fd, 0, 0)  # no owners by number: nothing to do
    finally:
        os.close(fd)
    assert f.stat().st_mode & 0o777 == 0o444
    assert host_family() == "windows"


def test_json_report_is_written(windows_python, tmp_path):
    from labkit.report.as_json import write_json

    out = tmp_path / "Jane Doe" / "report.json"
    write_json(RunResult("pb", "workstation"), out)
    assert json.loads(out.read_text(encoding="utf-8"))["backend"] == "workstation"
    assert [p.name for p in out.parent.iterdir()] == ["report.json"]  # no temp file left


def test_vmx_is_edited(windows_python, tmp_path):
    from labkit.backends.workstation.vmxedit import edit_vmx

    vmx = tmp_path / "Virtual Machines" / "CentOS 6.5" / "CentOS 6.5.vmx"
    vmx.parent.mkdir(parents=True)
    vmx.write_text('.encoding = "UTF-8"\nethernet0.present = "TRUE"\nethernet0.connectionType = "nat"\n')
    assert edit_vmx(vmx, 0, "bridged") is True
    assert 'ethernet0.connectionType = "bridged"' in vmx.read_text()


def test_the_hosts_files_and_pings_need_no_posix(windows_python, tmp_path):
    from labkit.backends.transports.local import WindowsTransport, local_transport
    from labkit.protocols import CommandResult

    class Ping:
        def run(self, argv, timeout=None):
            return CommandResult(0, " ".join(argv))

    host = local_transport("host", runner=Ping())
    assert isinstance(host, WindowsTransport)  # sys.platform says win32
    assert host.run("ping -n 1 -w 1000 10.0.0.1").stdout == "ping.exe -n 1 -w 1000 10.0.0.1"
    target = tmp_path / "C Users" / "hosts.txt"
    target.parent.mkdir()
    host.write_file(str(target), "10.0.0.101 centos\r\n", 0o600)
    assert host.read_file(str(target)) == "10.0.0.101 centos\r\n"


def test_a_windows_workstation_lab_opens_and_switches(windows_python):
    from labkit.backends import capabilities
    from labkit.backends.workstation.lab import WorkstationLab
    from labkit.inventory import inventory_from_data
    from labkit.yamlsrc import load
    from tests.backends.workstation.test_host_adapters import WIN_ADAPTERS, FakeWindows

    data = load(REPO / "inventory" / "workstation-vmrest.yml").data
    data["backend"] = {"type": "workstation"}
    data["vms"] = []
    inv = inventory_from_data(data, "laptop")
    host = FakeWindows(dict(WIN_ADAPTERS))
    lab = WorkstationLab(inv, runner=host)  # no platform given: sys.platform
    assert "host_adapters" in capabilities(inv) and lab.host_adapters is not None
    assert lab.host_adapters.set_host_adapter("nat", False) is True
    assert lab.hypervisor.host_adapter_enabled("nat") is False


def test_ssh_key_paths_with_spaces_are_accepted(windows_python):
    from labkit.model import Backend, Ssh

    ssh = Ssh(key_file=r"C:\Users\Jane Doe\.ssh\id_ed25519", known_hosts=r"C:\Users\Jane Doe\.ssh\known_hosts")
    assert ssh.key_file == r"C:\Users\Jane Doe\.ssh\id_ed25519"
    assert Backend(ca_file="~/Lab Certificates/vmrest (2024).pem").ca_file == "~/Lab Certificates/vmrest (2024).pem"
    assert Path(ssh.key_file).name  # a path as any other
