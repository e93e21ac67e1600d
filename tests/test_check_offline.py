"""`labkit check` reads the files it is given and nothing else: no network, no host files.

Each run is a real `labkit` process with a sitecustomize.py on PYTHONPATH that installs an audit
hook: every socket connect or name lookup is refused (OSError, as an unplugged network would) and
logged, and every file opened is logged, so a test can say exactly what the process touched. A
control run proves the harness sees a connection when one is really attempted (opening a lab on
an inventory that leaves a subnet to vmrest).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

HOST_FILES = REPO / "tests" / "backends" / "workstation" / "files" / "host"

SITECUSTOMIZE = '''\
import os, sys

_log = os.open(os.environ["LABKIT_TEST_AUDIT_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def _audit(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.sendto", "socket.sendmsg"):
        os.write(_log, f"network {event} {args[1:]!r}\\n".encode())
        raise OSError(101, "network blocked by the test")
    if event == "open" and isinstance(args[0], (str, bytes)):
        os.write(_log, f"open {os.fsdecode(args[0])}\\n".encode())


sys.addaudithook(_audit)
'''


@pytest.fixture
def offline(tmp_path):
    """offline(*args) -> (process, network attempts, files opened) for `labkit *args`, run from the repo."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)

    def run(*args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, list[str], list[str]]:
        log = tmp_path / f"audit-{len(list(tmp_path.glob('audit-*')))}.log"
        proc = subprocess.run([sys.executable, "-m", "labkit.cli", *args], cwd=REPO, capture_output=True,
                              text=True, timeout=120,
                              env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "PYTHONPATH": str(site),
                                   "LABKIT_TEST_AUDIT_LOG": str(log), **(env or {})})
        lines = log.read_text().splitlines() if log.exists() else []
        network = [line for line in lines if line.startswith("network ")]
        opened = [line.removeprefix("open ") for line in lines if line.startswith("open ")]
        return proc, network, opened

    return run


def _data_files(opened: list[str]) -> set[str]:
    """The files of this repository (outside labkit's code and its install metadata) and of
    /etc/vmware that were opened: what a run read as data."""
    out = set()
    for name in opened:
        path = Path(name) if name.startswith("/") else REPO / name
        path = Path(str(path.resolve()))
        if path.is_relative_to("/etc/vmware"):
            out.add(str(path))
        elif path.is_relative_to(REPO) and not path.is_relative_to(REPO / "labkit") \
                and not path.is_relative_to(REPO / ".venv") \
                and not re.search(r"\.egg-info/|__editable__|__pycache__", str(path)):
            out.add(str(path))
    return out


def _left_to_vmrest(tmp_path: Path) -> Path:
    """inventory/workstation-vmrest.yml without its NAT network's facts: only vmrest could give them."""
    text = (REPO / "inventory" / "workstation-vmrest.yml").read_text()
    bare = re.sub(r"(    backend_network: VMnet8[^\n]*\n)(    [a-z_]+: [^\n]*\n)+", r"\1", text)
    path = tmp_path / "bare.yml"
    path.write_text(bare)
    return path


def test_the_harness_sees_a_connection_when_one_is_made(offline, tmp_path):
    """Opening a lab whose NAT subnet is left to vmrest does connect: blocked, logged, and reported."""
    path = _left_to_vmrest(tmp_path)
    if Path("/etc/vmware/networking").exists():
        pytest.skip("this machine has Workstation's networking files, which come before vmrest")
    proc, network, _ = offline("set-mode", "-i", str(path), "centos", "nat", env={"LABKIT_VMREST_PASSWORD": "pw"})
    assert network and "8697" in network[0], proc.stderr
    assert proc.returncode == 2 and "network blocked by the test" in proc.stderr


@pytest.mark.parametrize("inventory", ["inventory/workstation.yml", "inventory/workstation-vmrest.yml"])
def test_check_of_a_workstation_inventory_stays_offline(offline, inventory):
    proc, network, opened = offline("check", inventory)
    assert proc.returncode == 0, proc.stderr
    assert network == []
    assert _data_files(opened) == {str(REPO / inventory)}  # not the host's networking files
    assert not any(str(HOST_FILES) in name for name in opened)
    assert proc.stdout.startswith(f"ok: {inventory}\n")
    notes = [line for line in proc.stdout.splitlines() if line.startswith("note: ")]
    assert any(re.match(rf"note: {re.escape(inventory)}:\d+: networks\.nat: .*vmnet8.*"
                        r"\(read when the lab is opened\)$", n) for n in notes), proc.stdout


def test_check_asks_vmrest_nothing_even_for_facts_only_vmrest_has(offline, tmp_path):
    path = _left_to_vmrest(tmp_path)
    proc, network, opened = offline("check", str(path), env={"LABKIT_VMREST_PASSWORD": "pw"})
    assert (proc.returncode, network, proc.stderr) == (0, [], "")
    assert not any(name.startswith("/etc/vmware") for name in opened)
    assert (f"networks.nat: subnet, host_adapter, gateway and dhcp are left to the Workstation host's vmnet8 "
            "and type is checked against it (read when the lab is opened)") in proc.stdout


def test_check_names_what_the_host_will_fill_in(offline):
    proc, network, _ = offline("check", "inventory/workstation.yml")
    assert network == [] and proc.returncode == 0
    assert ("note: inventory/workstation.yml:32: networks.nat: subnet, host_adapter, gateway and dhcp are left to "
            "vmnet8 in the host's files (backend.networking_dir) and type is checked against it "
            "(read when the lab is opened)") in proc.stdout.splitlines()
    assert proc.stderr == ""


def test_check_of_a_playbook_on_a_workstation_inventory_stays_offline(offline):
    proc, network, opened = offline("check", "playbooks/workstation-switch.yml", "inventory/workstation-vmrest.yml")
    assert proc.returncode == 0 and network == [], proc.stderr
    assert _data_files(opened) == {str(REPO / "playbooks/workstation-switch.yml"),
                                   str(REPO / "inventory/workstation-vmrest.yml")}
    notes = [line for line in proc.stdout.splitlines() if line.startswith("note: ")]
    assert len(notes) == len(set(notes)) == 4  # the inventory's notes once, though it was checked twice


def test_a_host_fact_missing_without_a_vmnet_is_still_an_error(offline, tmp_path):
    """Only what a VMnet can say is left to the host: a network on none still needs its subnet."""
    text = (REPO / "inventory" / "workstation.yml").read_text()
    path = tmp_path / "inv.yml"
    path.write_text(text.replace("    backend_network: VMnet1\n", ""))
    proc, network, _ = offline("check", str(path))
    assert proc.returncode == 2 and network == []
    assert f"error: {path}:35: networks.hostonly.subnet: missing required key 'subnet'" in proc.stderr


@pytest.mark.parametrize("inventory", ["inventory/seed-lab.yml", "inventory/workstation.yml"])
def test_check_imports_no_hypervisor_client(inventory):
    code = ("import sys\nfrom labkit.cli import app\n"
            "try:\n    app(['check', sys.argv[1]])\nexcept SystemExit as exc:\n    print('exit', exc.code)\n"
            "print('loaded', sorted(m for m in ('httpx', 'pyVmomi', 'pyVim') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code, inventory], cwd=REPO, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"})
    assert "exit 0" in proc.stdout and "loaded []" in proc.stdout, proc.stdout + proc.stderr
