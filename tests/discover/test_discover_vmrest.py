"""`labkit discover vmrest` on the fake vmrest (held to vmrest's published definition): VMs, NICs,
MACs and VMnets read with GET requests only; `labkit check` refuses the result at exactly the
placeholders listed; filled in, it runs playbooks/workstation-switch.yml against the same vmrest."""

from __future__ import annotations

import json
import re

import pytest

from labkit.inventory import load_inventory
from tests.backends.workstation.conftest import PASSWORD, PASSWORD_ENV
from tests.backends.workstation.fake_vmrest import FakeVmrest, default_world
from tests.conftest import REPO
from tests.discover.helpers import assert_refused_exactly_at_placeholders, check, filled, labkit, printed_fills

HOST_FILES = REPO / "tests" / "backends" / "workstation" / "files" / "host"
CENTOS = "8VQ2J4AS0PFKC2PFQ1H6O8B6L1B3TSKE"
WIN7 = "F0B3MKSDR2GT9FV0JPTM6I2EIS39VVNK"
OS_BY_VM = {0: "linux", 1: "windows", 2: "linux"}  # CentOS 6.5, Windows 7, nat2: what the user knows


def fill_value(field: str) -> str:
    vm = re.match(r"vms\[(\d+)\]", field)
    if field.endswith(".config"):
        return "{dhcp: true}"
    if field.endswith(".os"):
        return OS_BY_VM[int(vm.group(1))]
    if field.endswith(".dialect"):
        return "netsh" if OS_BY_VM[int(vm.group(1))] == "windows" else "ifcfg"
    return {"host.lan_address": "192.168.1.100"}[field]


def discover(fake: FakeVmrest, out, *extra: str, password: str | None = PASSWORD):
    return labkit("discover", "vmrest", "--port", str(fake.port), "--user", "labkit", "--password-env", PASSWORD_ENV,
                  "-o", str(out), *extra, env={PASSWORD_ENV: password} if password else {})


def test_discovered_from_vmrest_with_get_requests_only(fake_vmrest, tmp_path):
    out = tmp_path / "workstation.yml"
    proc = discover(fake_vmrest, out)
    assert proc.returncode == 0, proc.stderr
    assert {method for method, _ in fake_vmrest.requests} == {"GET"}  # discovery changes nothing
    fills = printed_fills(proc.stdout)
    # the fake's vmrest does not answer guestOS, so each VM's OS is the user's to say
    assert set(fills) == {"host.lan_address", *(f"vms[{i}].{k}" for i in range(3) for k in ("os", "dialect")),
                          *(f"vms[{i}].adapters[0].config" for i in range(3))}
    assert_refused_exactly_at_placeholders(out, fills)
    done = tmp_path / "filled.yml"
    done.write_text(filled(out.read_text(), fills, fill_value))
    assert check(done) == (0, {})

    inv = load_inventory(done)
    assert (inv.backend.type, inv.backend.host, inv.backend.port, inv.backend.user, inv.backend.password_env) == \
        ("workstation", "127.0.0.1", fake_vmrest.port, "labkit", PASSWORD_ENV)
    assert inv.host.os == "windows"  # the VMs' paths are C:\... paths
    # the LAN as the bridged Windows 7 guest sees it (VMware Tools' address and default gateway)
    assert (str(inv.lan.subnet), str(inv.lan.router)) == ("192.168.1.0/24", "192.168.1.1")
    assert list(inv.networks) == ["bridged", "hostonly", "vmnet2", "nat"]
    nat, vmnet2 = inv.networks["nat"], inv.networks["vmnet2"]
    assert (nat.backend_network, str(nat.subnet), str(nat.gateway), str(nat.host_adapter.address)) == \
        ("VMnet8", "10.0.0.0/24", "10.0.0.2", "10.0.0.1")
    assert (vmnet2.type, str(vmnet2.subnet)) == ("hostonly", "192.168.100.0/24")
    assert inv.vm_names == ["CentOS-6-5", "Windows-7", "nat2"]
    centos = inv.vm("CentOS-6-5")
    assert centos.path == r"C:\Users\lab\Documents\Virtual Machines\CentOS 6.5\CentOS 6.5.vmx"
    assert [(a.label, a.mac, a.network) for a in centos.adapters] == [("Network adapter 1", "00:0c:29:3b:4c:6d", "nat")]
    assert inv.vm("nat2").powered_on is False and centos.powered_on is True
    text = out.read_text()
    said = " ".join(line.lstrip("# ") for line in text.splitlines())  # comments are wrapped
    assert "the NAT device (.2) and the DHCP pool are Workstation's defaults, not reported" in said
    assert re.search(r"VMware Tools reports 10\.0\.0\.\d+/24, gateway 10\.0\.0\.2", text)  # a hint for config
    assert PASSWORD not in proc.stdout + proc.stderr + text


def test_round_trip_discover_fill_then_run_the_switch_playbook(fake_vmrest, tmp_path):
    """What a user does: discover, fill in, give the VMs and the custom network the names the
    playbook uses, run it against the same vmrest."""
    out, done = tmp_path / "discovered.yml", tmp_path / "workstation.yml"
    proc = discover(fake_vmrest, out)
    assert proc.returncode == 0, proc.stderr
    text = filled(out.read_text(), printed_fills(proc.stdout), fill_value)
    for old, new in (("name: CentOS-6-5\n", "name: centos\n"), ("name: Windows-7\n", "name: win7\n"),
                     ("  vmnet2:\n", "  lab2:\n")):
        assert text.count(old) == 1
        text = text.replace(old, new)
    done.write_text(text)
    report = tmp_path / "r.json"
    run = labkit("run", "playbooks/workstation-switch.yml", "-i", str(done), "--json", str(report),
                 env={PASSWORD_ENV: PASSWORD})
    assert run.returncode == 0, run.stdout + run.stderr
    assert "centos: eth0 -> lab2 (changed)" in run.stdout and "centos: eth0: 192.168.100." in run.stdout
    assert len(json.loads(report.read_text())["steps"]) == 8
    assert fake_vmrest.count("PUT", f"/vms/{CENTOS}/nic/1$") == 4
    assert fake_vmrest.count("PUT", f"/vms/{WIN7}/nic/1$") == 1
    assert fake_vmrest.vms[CENTOS].nics[0]["type"] == fake_vmrest.vms[WIN7].nics[0]["type"] == "nat"


class GuestOsVmrest(FakeVmrest):
    """A vmrest that answers every .vmx parameter, as the real one does (the fake answers displayName only)."""

    guest_os = {CENTOS: "centos-64", WIN7: "windows7-64"}

    def getVMParams(self, p, body):
        if p["name"] == "guestOS" and p["id"] in self.guest_os:
            return 200, {"name": "guestOS", "value": self.guest_os[p["id"]]}
        return super().getVMParams(p, body)


@pytest.fixture
def guest_os_vmrest(contract, vmrest_fakes):
    fake = default_world(GuestOsVmrest(contract, password=PASSWORD)).start()
    vmrest_fakes.append(fake)
    yield fake
    fake.stop()


def test_guest_os_and_the_hosts_files(guest_os_vmrest, tmp_path):
    out = tmp_path / "workstation.yml"
    proc = discover(guest_os_vmrest, out, "--networking-dir", str(HOST_FILES))
    assert proc.returncode == 0, proc.stderr
    fills = printed_fills(proc.stdout)
    assert "vms[0].os" not in fills and "vms[1].os" not in fills and "vms[1].dialect" not in fills
    assert "vms[2].os" in fills  # nat2's guestOS is not known
    assert_refused_exactly_at_placeholders(out, fills)
    done = tmp_path / "filled.yml"
    done.write_text(filled(out.read_text(), fills, fill_value))
    inv = load_inventory(done)
    assert (inv.vm("CentOS-6-5").os, inv.vm("Windows-7").os, inv.vm("Windows-7").dialect) == \
        ("linux", "windows", "netsh")
    # the host's files: dhcpd.conf's pool, no DHCP server address (the files do not say it), and
    # networking_dir written so a run reads them again
    nat = inv.networks["nat"]
    assert (str(nat.dhcp.start), str(nat.dhcp.end), nat.dhcp.server) == ("10.0.0.128", "10.0.0.254", None)
    assert inv.backend.networking_dir == str(HOST_FILES.resolve())
    assert list(inv.networks) == ["bridged", "hostonly", "nat"]  # what the files define (no VM is on VMnet2)
    assert "guestOS centos-64: likely ifcfg" in out.read_text()


def test_missing_password_variable_asks_nothing(fake_vmrest, tmp_path):
    out = tmp_path / "w.yml"
    proc = discover(fake_vmrest, out, password=None)
    assert proc.returncode == 2 and f"environment variable {PASSWORD_ENV} is not set" in proc.stderr
    assert fake_vmrest.requests == [] and not out.exists() and "Traceback" not in proc.stderr


def test_refused_credentials_are_exit_1(fake_vmrest, tmp_path):
    wrong = "Wr0ng-" + PASSWORD
    proc = discover(fake_vmrest, tmp_path / "w.yml", password=wrong)
    assert proc.returncode == 1 and "refused the credentials" in proc.stderr
    assert wrong not in proc.stdout + proc.stderr and not (tmp_path / "w.yml").exists()


def test_an_existing_file_is_refused_before_vmrest_is_asked(fake_vmrest, tmp_path):
    out = tmp_path / "w.yml"
    out.write_text("mine\n")
    proc = discover(fake_vmrest, out)
    assert proc.returncode == 2 and "already exists" in proc.stderr
    assert fake_vmrest.requests == [] and out.read_text() == "mine\n"


def test_bad_options_are_named_as_options(fake_vmrest, tmp_path):
    proc = labkit("discover", "vmrest", "--user", "labkit", "--password-env", "lower-case", "-o", str(tmp_path / "w"))
    assert proc.returncode == 2 and "error: --password-env: 'lower-case' is not allowed here" in proc.stderr
