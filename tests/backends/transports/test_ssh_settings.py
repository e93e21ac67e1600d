"""The inventory's SSH settings, no server needed: what is accepted, how lab-wide defaults merge,
how jump hosts are resolved, and how a host name becomes an address once per run."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from labkit.backends.transports.sshconfig import SshConfig
from labkit.backends.transports.sshinventory import InventoryLogins, SshAddresses, effective_ssh
from labkit.backends.transports.sshroute import Common, Login, Router
from labkit.backends.transports.ssh import to_vm
from labkit.errors import InputError, TransportError
from labkit.inventory import inventory_from_data, load_inventory
from labkit.model import Ssh
from labkit.yamlsrc import load
from tests.conftest import REPO

SEED = REPO / "inventory" / "seed-lab.yml"


@pytest.mark.parametrize("address", ["10.0.0.101", "web1", "web1.lab.example.org", "db_2"])
def test_addresses_may_be_names_or_aliases(address):
    assert Ssh(address=address).address == address


@pytest.mark.parametrize("address", ["-oProxyCommand=reboot", "web 1", "web;reboot", "$(reboot)", "", "a" * 300])
def test_addresses_that_could_carry_options_or_syntax_are_refused(address):
    with pytest.raises(ValidationError):
        Ssh(address=address)


@pytest.mark.parametrize("jump", ["bastion", "ops@bastion:2222", "j1,ops@j2", "none", "10.0.0.5:22"])
def test_proxy_jump_as_openssh_writes_it(jump):
    assert Ssh(proxy_jump=jump).proxy_jump == jump


@pytest.mark.parametrize("jump", ["-J x", "a,,b", "a,none", "Root@b", "a b", "a,b,c,d,e"])
def test_bad_proxy_jumps_are_refused(jump):
    with pytest.raises(ValidationError):
        Ssh(proxy_jump=jump)


def test_become_password_needs_become():
    with pytest.raises(ValidationError, match="a sudo password needs become: sudo"):
        Ssh(become_password_env="SUDO_PW")
    with pytest.raises(ValidationError):
        Ssh(become="doas")
    assert Ssh(become="sudo", become_password_env="SUDO_PW").become == "sudo"


def test_a_vm_ssh_block_wins_over_the_lab_wide_one_key_by_key():
    lab = Ssh(user="labkit", become="sudo", proxy_jump="jump", port=2200)
    mine = Ssh.model_validate({"user": "ops", "become": None})
    merged = mine.over(lab)
    assert (merged.user, merged.become, merged.proxy_jump, merged.port) == ("ops", None, "jump", 2200)
    assert Ssh().over(None) == Ssh() and Ssh().over(lab) == lab


def _seed(**changes) -> dict:
    data = load(SEED).data
    data.update(changes)
    return data


def test_windows_guests_refuse_become_at_check_time_with_file_and_line(tmp_path):
    text = SEED.read_text().replace("lab: seed-lab", "lab: seed-lab\nssh: {become: sudo}", 1)
    path = tmp_path / "inv.yml"
    path.write_text(text)
    with pytest.raises(InputError) as err:
        load_inventory(path)
    message = str(err.value)
    line = next(i for i, text in enumerate(text.splitlines(), 1) if text.startswith("ssh:"))
    assert f"{path}:{line}: ssh.become: win7 is a windows guest: become (sudo) is for linux guests" in message
    # the VM's own `become: null` lifts the lab-wide default for it
    text = text.replace("  - name: win7\n", "  - name: win7\n    ssh: {address: 10.0.0.20, become: null}\n")
    path.write_text(text)
    inv = load_inventory(path)
    assert effective_ssh(inv, "win7").become is None and effective_ssh(inv, "centos").become == "sudo"


def test_a_windows_vm_saying_become_itself_is_pointed_at(tmp_path):
    text = SEED.read_text().replace("  - name: win7\n", "  - name: win7\n    ssh: {user: admin, become: sudo}\n")
    path = tmp_path / "inv.yml"
    path.write_text(text)
    with pytest.raises(InputError, match=r"vms\[1\]\.ssh\.become: win7 is a windows guest"):
        load_inventory(path)


def router(tmp_path: Path, config: str = "", logins=None) -> Router:
    path = tmp_path / "ssh_config"
    path.write_text(config)
    return Router(SshConfig(str(path)), Common(), logins)


def test_a_lab_wide_jump_host_is_skipped_by_the_jump_host_itself(tmp_path):
    inv = inventory_from_data(_seed(ssh={"proxy_jump": "bastion2,centos"}))
    logins = InventoryLogins(inv)
    r = router(tmp_path, logins=logins)
    centos = effective_ssh(inv, "centos")
    target, route = r.resolve("centos", Login("10.0.0.101", proxy_jump=centos.proxy_jump))
    assert [t.name for t in route] == ["jump host bastion2"]  # centos never jumps through itself
    target, route = r.resolve("web", Login("10.0.0.9", proxy_jump="bastion2,centos"))
    assert [t.name for t in route] == ["jump host bastion2", "jump host centos"]
    assert route[1].host == "10.0.0.101" and route[1].user == "root"  # centos' own inventory settings
    assert target.via == " via root@bastion2:22 -> root@10.0.0.101:22"


def test_a_jump_chain_that_loops_is_refused(tmp_path):
    r = router(tmp_path, "Host a\n  ProxyJump b\nHost b\n  ProxyJump c\nHost c\n  ProxyJump d\nHost d\n  ProxyJump e\n")
    with pytest.raises(TransportError, match="web: more than 4 jump hosts"):
        r.resolve("web", Login("10.0.0.9", proxy_jump="a"))


def test_a_jump_hosts_own_ssh_config_entry_is_used_else_the_guests_key_and_known_hosts(tmp_path):
    r = router(tmp_path, "Host bastion\n  HostName 192.0.2.7\n  User ops\n  Port 2222\n  HostKeyAlias bast\n")
    target, route = r.resolve("web", Login("10.0.0.9", key_file="/keys/lab", known_hosts="/lab/known",
                                           proxy_jump="bastion"))
    (jump,) = route
    assert (jump.host, jump.user, jump.port, jump.host_key_alias) == ("192.0.2.7", "ops", 2222, "bast")
    assert jump.default_key_file == "/keys/lab" and jump.known_hosts == ("/lab/known",)
    assert jump.trust_on_first_use is False


def test_to_vm_keeps_the_alias_when_the_address_is_the_inventorys_own(tmp_path):
    cfg = tmp_path / "cfg"
    cfg.write_text("Host web-alias\n  HostName 192.0.2.10\n  User ops\n")
    data = _seed()
    data["vms"][0]["ssh"] = {"address": "web-alias", "config_file": str(cfg)}
    inv = inventory_from_data(data)
    same = to_vm(inv, "centos", "vsphere", "web-alias")
    moved = to_vm(inv, "centos", "vsphere", "192.0.2.99")
    try:
        assert (same.host, same.user) == ("192.0.2.10", "ops")
        assert (moved.host, moved.user, moved.alias) == ("192.0.2.99", "ops", "web-alias")  # still the alias' entry
    finally:
        same.close()
        moved.close()


def test_names_are_resolved_once_per_run_and_kept_behind_a_jump_host(tmp_path, monkeypatch):
    cfg = tmp_path / "cfg"
    cfg.write_text("Host web-alias\n  HostName 192.0.2.10\nHost local-name\n  HostName localhost\n"
                   "Host far\n  HostName db.internal\n  ProxyJump bastion\n")
    data = _seed()
    data["vms"][0]["ssh"] = {"address": "web-alias", "config_file": str(cfg)}
    data["vms"][1]["ssh"] = {"address": "local-name", "config_file": str(cfg)}
    data["vms"][2]["ssh"] = {"address": "far", "config_file": str(cfg)}
    addresses = SshAddresses(inventory_from_data(data))
    assert addresses.of("centos") == "192.0.2.10"
    assert addresses.of("win7") == "127.0.0.1"
    assert addresses.of("nat2") == "far"  # only the jump host can resolve db.internal
    calls = []
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: calls.append(a) or [])
    assert addresses.of("win7") == "127.0.0.1" and calls == []  # resolved once per run
    assert SshAddresses(inventory_from_data(_seed())).of("centos") == "10.0.0.101"


def test_the_router_is_reached_over_ssh_when_the_inventory_says_how(tmp_path):
    cfg = tmp_path / "ssh_config"
    cfg.write_text("")
    data = _seed()
    assert "router_ssh" not in data["lan"]
    with pytest.raises(TransportError, match=r"no channel to 'router' \(give lan.router_ssh to ping from it\)"):
        to_vm(inventory_from_data(data), "router", "workstation")
    data["lan"]["router_ssh"] = {"user": "admin", "port": 2222, "config_file": str(cfg)}
    router = to_vm(inventory_from_data(data), "router", "workstation")  # at lan.router, 192.168.1.1
    data["lan"]["router_ssh"]["address"] = "192.0.2.1"
    elsewhere = to_vm(inventory_from_data(data), "router", "vsphere")
    try:
        assert (router.kind, router.host, router.user, router.port) == ("ssh", "192.168.1.1", "admin", 2222)
        assert elsewhere.host == "192.0.2.1"
    finally:
        router.close()
        elsewhere.close()
    with pytest.raises(TransportError, match=r"no channel to 'internet' \(the host and externals are not driven"):
        to_vm(inventory_from_data(data), "internet", "workstation")
