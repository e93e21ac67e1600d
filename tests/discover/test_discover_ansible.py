"""`labkit discover ansible`: hosts become VMs with the SSH settings Ansible uses, groups comments;
the result is refused by `labkit check` at exactly the placeholders it lists, and passes once
they are filled. No password in the Ansible file ever reaches the output."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.inventory import load_inventory
from tests.discover.helpers import assert_refused_exactly_at_placeholders, check, filled, labkit, printed_fills

DATA = Path(__file__).parent / "data"
SECRET = "Sup3rSecret!"


def fill_value(field: str) -> str:
    if field.endswith(".config"):
        return "{dhcp: true}"
    if field.endswith(".dialect"):
        return "ifupdown"
    return {"backend.type": "workstation", "host.lan_address": "192.168.1.100", "lan.subnet": "192.168.1.0/24",
            "lan.router": "192.168.1.1", "networks.lan.type": "bridged"}[field]


WEB = ["web01-lab-example", "web02-lab-example", "web03-lab-example"]
CLASSROOMS = {
    "classroom.ini": ["bastion-lab-example", *WEB, "db-a-lab-example", "db-b-lab-example", "win7", "winssh"],
    "classroom.yml": ["bastion-lab-example", *WEB, "web04-lab-example", "db-a-lab-example", "db-b-lab-example",
                      "win7"],
}


@pytest.mark.parametrize("source", sorted(CLASSROOMS))
def test_discovered_inventory_is_refused_at_its_placeholders_then_passes(tmp_path, source):
    out = tmp_path / "classroom.yml"
    proc = labkit("discover", "ansible", str(DATA / source), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    names = CLASSROOMS[source]
    assert f"wrote {out}: {len(names)} VMs" in proc.stdout
    fills = printed_fills(proc.stdout)
    # what only the user knows: the backend, the LAN, the hosts' network, each guest's addressing, and the
    # dialect of each Linux host (Windows hosts are netsh)
    assert {"backend.type", "host.lan_address", "lan.subnet", "lan.router", "networks.lan.type"} <= set(fills)
    assert sum(f.endswith(".config") for f in fills) == len(names)
    assert sum(f.endswith(".dialect") for f in fills) == len([n for n in names if not n.startswith("win")])
    text = out.read_text()
    assert_refused_exactly_at_placeholders(out, fills)

    done = tmp_path / "filled.yml"
    done.write_text(filled(text, fills, fill_value))
    assert check(done) == (0, {})
    inv = load_inventory(done)
    assert inv.lab == "classroom" and inv.vm_names == names  # localhost (ansible_connection local) left out
    db_a = inv.vm("db-a-lab-example").ssh
    assert (db_a.address, db_a.user, db_a.port, db_a.key_file, db_a.proxy_jump) == \
        ("10.0.0.21", "dba", 2222, "~/.ssh/lab_ed25519", "ops@192.168.1.60")
    assert inv.vm("db-b-lab-example").ssh.become == "sudo" and inv.vm("db-b-lab-example").ssh.port == 2200
    assert inv.vm("bastion-lab-example").ssh.model_dump(exclude_unset=True) == {"address": "192.168.1.60",
                                                                                 "user": "ops"}
    assert inv.vm("win7").os == "windows" and inv.vm("win7").dialect == "netsh" and inv.vm("win7").ssh is None
    assert "# the Ansible inventory calls it 'db-a.lab.example'; groups: lab, db" in text


def test_passwords_never_reach_the_output(tmp_path):
    out = tmp_path / "lab.yml"
    proc = labkit("discover", "ansible", str(DATA / "classroom.ini"), "-o", str(out))
    assert proc.returncode == 0
    assert SECRET not in proc.stdout + proc.stderr + out.read_text()
    assert "warning: win7 (" in proc.stderr and "ansible_password is not carried over" in proc.stderr


def test_a_value_labkit_refuses_is_left_out_with_why(tmp_path):
    out = tmp_path / "lab.yml"
    proc = labkit("discover", "ansible", str(DATA / "classroom.ini"), "-o", str(out))
    assert "warning: winssh: ssh.user: 'Administrator' is not written: not a Unix user name" in proc.stderr
    assert "# user 'Administrator' not written: not a Unix user name" in out.read_text()


def test_templates_are_not_evaluated(tmp_path):
    source = tmp_path / "hosts"
    source.write_text("[web]\nweb01 ansible_host='{{ lookup(\"env\", \"WEB01\") }}' ansible_user=labkit\n")
    out = tmp_path / "lab.yml"
    proc = labkit("discover", "ansible", str(source), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "ansible_host is a template" in proc.stderr and "{{" not in out.read_text().split("vms:")[1]


def test_an_existing_file_is_kept_without_force(tmp_path):
    out = tmp_path / "lab.yml"
    out.write_text("mine\n")
    proc = labkit("discover", "ansible", str(DATA / "classroom.ini"), "-o", str(out))
    assert proc.returncode == 2 and out.read_text() == "mine\n"
    assert f"error: {out}: -o: already exists; give --force" in proc.stderr
    again = labkit("discover", "ansible", str(DATA / "classroom.ini"), "-o", str(out), "--force")
    assert again.returncode == 0 and out.read_text().startswith("# Discovered by `labkit discover ansible`")


@pytest.mark.parametrize("args, message", [
    (["--lab", "no spaces please"], "--lab: 'no spaces please' is not a name"),
    (["-o", "/no/such/dir/lab.yml"], "the folder /no/such/dir does not exist"),
])
def test_bad_usage_is_exit_2_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "lab.yml"
    args = ["-o", str(out), *args] if "-o" not in args else args
    proc = labkit("discover", "ansible", str(DATA / "classroom.ini"), *args)
    assert proc.returncode == 2 and message in proc.stderr and not out.exists()


def test_a_bad_ansible_file_is_exit_2_naming_its_line(tmp_path):
    source, out = tmp_path / "hosts", tmp_path / "lab.yml"
    source.write_text("[web]\nweb01\nweb02 ansible_port\n")
    proc = labkit("discover", "ansible", str(source), "-o", str(out))
    assert proc.returncode == 2 and not out.exists()
    assert f"error: {source}:3: expected key=value after the host name" in proc.stderr


def test_to_standard_output(tmp_path):
    proc = labkit("discover", "ansible", str(DATA / "classroom.yml"), "-o", "-")
    assert proc.returncode == 0 and proc.stdout.startswith("# Discovered by") and "lab: discovered" in proc.stdout
    assert "values to fill in" in proc.stderr and "host.lan_address" in proc.stderr
