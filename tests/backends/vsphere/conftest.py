"""One vcsim (tests/vcsim, built by scripts/build-vcsim.sh) per test session, served over TLS
with a certificate made here (ECDSA P-256 for 127.0.0.1), plus helpers to reach it. Its stderr
is kept line by line (Vcsim.log): started with -log-requests, it has one line per SOAP request.

Each test works on VMs of its own (the model has 32), so sharing one simulator keeps the suite fast
without tests seeing each other's changes.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import secrets
import shutil
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from labkit.inventory import inventory_from_data
from labkit.yamlsrc import load
from tests.conftest import REPO, require

VCSIM = REPO / ".build" / "vcsim"
VMS = 32  # DC0_C0_RP0_VM0 .. VM31
PASSWORD_ENV = "LABKIT_VSPHERE_PASSWORD"


@dataclass
class Vcsim:
    host: str
    port: int
    url: str
    user: str
    password: str
    ca_file: Path
    proc: subprocess.Popen
    log: list[str] = field(default_factory=list)  # its stderr, line by line, as it comes

    def requests(self) -> list[str]:
        """The SOAP methods it received, in order (started with -log-requests)."""
        return [line.split()[2] for line in list(self.log) if line.startswith("vcsim-request ")]


def make_cert(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed ECDSA P-256 certificate for IP 127.0.0.1 (it is its own CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"labkit test {name}")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(IPv4Address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def build_vcsim() -> None:
    """Build the binary when Go is there and it is missing or stale (make test does it first)."""
    if shutil.which("go"):
        subprocess.run(["sh", str(REPO / "scripts" / "build-vcsim.sh")], check=False, capture_output=True)


def start_vcsim(directory: Path, *args: str, env: dict[str, str] | None = None) -> Vcsim:
    """Start tests/vcsim with a fresh certificate and password; wait for its JSON line.

    `env` adds variables (secrets such as VCSIM_GUEST_PASSWORD go there, not on the command line)."""
    build_vcsim()
    require(VCSIM.exists(), f"{VCSIM} is missing (needs golang-go and golang-github-vmware-govmomi-dev: "
                            f"make lab-deps, then scripts/build-vcsim.sh)")
    cert, key = make_cert(directory, "vcsim")
    password = secrets.token_urlsafe(12)
    proc = subprocess.Popen([str(VCSIM), "-cert", str(cert), "-key", str(key), "-user", "labkit", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {}), "VCSIM_PASSWORD": password})
    line = _first_line(proc, timeout=60)
    if not line:
        proc.kill()
        raise RuntimeError(f"vcsim did not start: {proc.stderr.read()[-2000:]}")
    info = json.loads(line)
    sim = Vcsim(info["host"], int(info["port"]), info["url"], "labkit", password, cert, proc)
    threading.Thread(target=_collect, args=(proc, sim.log), daemon=True).start()  # keeps the pipe drained
    return sim


def _collect(proc: subprocess.Popen, log: list[str]) -> None:
    for line in proc.stderr:
        log.append(line.rstrip("\n"))


def _first_line(proc: subprocess.Popen, timeout: float) -> str:
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return out[0].strip() if out else ""


def stop_vcsim(sim: Vcsim) -> None:
    sim.proc.terminate()
    try:
        sim.proc.wait(10)
    except subprocess.TimeoutExpired:
        sim.proc.kill()
        sim.proc.wait()


@pytest.fixture(scope="session")
def vcsim(tmp_path_factory) -> Vcsim:
    sim = start_vcsim(tmp_path_factory.mktemp("vcsim"), "-vm", str(VMS))
    yield sim
    stop_vcsim(sim)


@pytest.fixture
def password_env(vcsim, monkeypatch):
    monkeypatch.setenv(PASSWORD_ENV, vcsim.password)


def sim_inventory_data(sim: Vcsim, vms: list[dict] | None = None, **backend) -> dict:
    """inventory/vsphere-sim.yml pointed at `sim`, optionally with other VMs or backend fields."""
    data = copy.deepcopy(load(REPO / "inventory" / "vsphere-sim.yml").data)
    data["backend"].update(host=sim.host, port=sim.port, ca_file=str(sim.ca_file))
    data["backend"].update(backend)
    if vms is not None:
        data["vms"] = vms
    return data


def sim_inventory(sim: Vcsim, vms: list[dict] | None = None, **backend):
    return inventory_from_data(sim_inventory_data(sim, vms, **backend))


def vm_entry(name: str, n: int, **adapter) -> dict:
    """An inventory VM for the simulator's DC0_C0_RP0_VM<n>, its adapter found by MAC unless given."""
    nic = {"interface": "eth0", "network": "distributed", **adapter}
    if "label" not in nic and "mac" not in nic:
        nic["mac"] = f"00:50:56:00:00:{n:02x}"
    return {"name": name, "backend_name": f"DC0_C0_RP0_VM{n}", "os": "linux", "adapters": [nic]}


class Probe:
    """A pyvmomi session of the test's own, to look at vcsim from outside labkit."""

    def __init__(self, sim: Vcsim) -> None:
        from pyVim.connect import SmartConnect

        self.si = SmartConnect(host=sim.host, port=sim.port, user=sim.user, pwd=sim.password,
                               sslContext=ssl.create_default_context(cafile=str(sim.ca_file)))
        self.content = self.si.RetrieveContent()

    def vm(self, n: int):
        return self.content.searchIndex.FindByInventoryPath(f"DC0/vm/DC0_C0_RP0_VM{n}")

    def networks(self, name: str) -> list:
        from pyVmomi import vim

        view = self.content.viewManager.CreateContainerView(self.content.rootFolder, [vim.Network], True)
        try:
            return [n for n in view.view if n.name == name]
        finally:
            view.Destroy()

    def task_ids(self) -> set[str]:
        return {t._moId for t in self.content.taskManager.recentTask}

    def reconfigures_since(self, before: set[str], n: int) -> int:
        """ReconfigVM_Task tasks on VM n that are not in `before`."""
        vm = self.vm(n)
        new = [t for t in self.content.taskManager.recentTask if t._moId not in before]
        return sum(1 for t in new if t.info.entity == vm and t.info.descriptionId == "VirtualMachine.reconfigVm")

    def set_guest_ip(self, n: int, address: str) -> None:
        """vcsim 0.24's way to make VMware Tools report an address (guest.net[0])."""
        from pyVim.task import WaitForTask
        from pyVmomi import vim

        spec = vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(key="SET.guest.ipAddress", value=address)])
        WaitForTask(self.vm(n).ReconfigVM_Task(spec))

    def close(self) -> None:
        from pyVim.connect import Disconnect

        Disconnect(self.si)


@pytest.fixture(scope="session")
def probe(vcsim):
    p = Probe(vcsim)
    yield p
    p.close()
