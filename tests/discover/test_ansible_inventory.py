"""Ansible's inventory formats as Ansible documents them, read without Ansible: hosts, groups,
children, variables and their precedence, ranges, ports; every bad file refused at its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.discover.ansible_inventory import MAX_HOSTS, read
from labkit.errors import InputError

DATA = Path(__file__).parent / "data"


@pytest.fixture(params=["classroom.ini", "classroom.yml"])
def classroom(request):
    return read(DATA / request.param)


def test_hosts_in_file_order_with_ranges_expanded(classroom):
    hosts = list(classroom.hosts)
    assert hosts[:4] == ["bastion.lab.example", "web01.lab.example", "web02.lab.example", "web03.lab.example"]
    assert {"db-a.lab.example", "db-b.lab.example", "win7"} <= set(hosts)
    assert "db-a.lab.example:2222" not in hosts  # host:port is a host and its port


def test_groups_include_parents_through_children_least_nested_first(classroom):
    assert classroom.groups_of("db-a.lab.example") == ["all", "lab", "db"]
    assert classroom.groups_of("web02.lab.example") == ["all", "lab", "web"]
    assert classroom.groups_of("win7") == ["all", "windows"]


def test_variables_follow_ansibles_precedence(classroom):
    db_a = classroom.vars_of("db-a.lab.example")
    assert db_a["ansible_user"] == "dba"  # the child group (db) wins over its parent (lab)
    assert db_a["ansible_port"] == 2222  # from db-a.lab.example:2222
    assert db_a["ansible_ssh_private_key_file"] == "~/.ssh/lab_ed25519"  # inherited from lab
    assert classroom.vars_of("bastion.lab.example")["ansible_user"] == "ops"  # a host's own wins over all
    assert classroom.vars_of("db-b.lab.example")["ansible_port"] == 2200


def test_ini_host_values_are_python_literals_and_group_vars_strings():
    inv = read(DATA / "classroom.ini")
    db_b = inv.vars_of("db-b.lab.example")
    assert db_b["ansible_port"] == 2200 and db_b["ansible_become"] == "true"  # `true` is no Python literal
    assert inv.group("lab").vars["ansible_ssh_common_args"] == "'-J ops@192.168.1.60'"  # [x:vars]: as written
    assert inv.group("ungrouped").hosts == ["bastion.lab.example"]
    assert inv.lines["db-a.lab.example"] == 8


@pytest.mark.parametrize("pattern, hosts", [
    ("web[01:03].lab", ["web01.lab", "web02.lab", "web03.lab"]),
    ("n[1:9:4]", ["n1", "n5", "n9"]),
    ("db-[a:c]", ["db-a", "db-b", "db-c"]),
    ("r[1:2]-[a:b]", ["r1-a", "r1-b", "r2-a", "r2-b"]),
    ("node[8:10]:2200", ["node8", "node9", "node10"]),
])
def test_ranges(tmp_path, pattern, hosts):
    path = tmp_path / "hosts"
    path.write_text(f"[g]\n{pattern}\n")
    inv = read(path)
    assert list(inv.hosts) == hosts
    assert all(inv.hosts[h].get("ansible_port") == (2200 if pattern.endswith(":2200") else None) for h in hosts)


BAD_INI = [
    ("[web]\nweb01\n[web:other]\n", 3, "[group], [group:vars] or [group:children]"),
    ("[web\n", 1, "not a section header"),
    ("[web]\nweb01 ansible_user\n", 2, "expected key=value after the host name"),
    ("[web]\nweb01 ansible_user='open\n", 2, "cannot split the host line"),
    ("[web:vars]\njust-a-word\n", 2, "expected key=value in [web:vars]"),
    ("[web]\nw[5:1]\n", 2, "ends before it starts"),
    ("[web]\nw[01:5]\n", 2, "as many digits"),
    ("[web]\nw[1:99999]\n", 2, f"more than {MAX_HOSTS} hosts"),
    ("[web]\nw[a:9]\n", 2, "neither numbers nor single letters"),
    ("[web]\nw1:70000\n", 2, "port 70000 is not 1-65535"),
]


@pytest.mark.parametrize("text, line, message", BAD_INI, ids=[m for _, _, m in BAD_INI])
def test_bad_ini_is_refused_at_its_line(tmp_path, text, line, message):
    path = tmp_path / "hosts.ini"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        read(path)
    assert (caught.value.file, caught.value.line) == (str(path), line)
    assert message in caught.value.message


BAD_YAML = [
    ("all:\n  hosts: [a, b]\n", 2, "hosts of group 'all' must be a mapping"),
    ("all:\n  childs:\n    web: {}\n", 2, "unknown key 'childs' in group 'all'"),
    ("all:\n  children:\n    web: [a]\n", 3, "group 'web' must be a mapping"),
    ("all:\n  hosts:\n    a: [1]\n", 3, "host 'a': its variables must be a mapping"),
    ("all:\n  hosts:\n    a:\n      ansible_become_password: !vault |\n        $ANSIBLE_VAULT;1.1;AES256\n", 4,
     "vault-encrypted values are not read"),
    ("- a\n- b\n", 1, "a mapping of groups"),
]


@pytest.mark.parametrize("text, line, message", BAD_YAML, ids=[m for _, _, m in BAD_YAML])
def test_bad_yaml_is_refused_at_its_line(tmp_path, text, line, message):
    path = tmp_path / "hosts.yml"
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        read(path)
    assert (caught.value.file, caught.value.line) == (str(path), line)
    assert message in caught.value.message


def test_children_that_loop_are_refused(tmp_path):
    path = tmp_path / "hosts"
    path.write_text("[a:children]\nb\n[b:children]\na\n")
    with pytest.raises(InputError, match="groups are children of each other: a -> b -> a"):
        read(path)


def test_not_utf8_is_refused_with_its_line(tmp_path):
    path = tmp_path / "hosts"
    path.write_bytes(b"[web]\nweb01\nw\xe9b02\n")
    with pytest.raises(InputError) as caught:
        read(path)
    assert caught.value.line == 3 and "not UTF-8" in caught.value.message


def test_format_is_told_by_content_when_the_name_does_not_say(tmp_path):
    yaml_file, ini_file = tmp_path / "hosts", tmp_path / "inventory"
    yaml_file.write_text("# lab\nall:\n  hosts:\n    a:\n")
    ini_file.write_text("; lab\na ansible_port=22\n")
    assert list(read(yaml_file).hosts) == ["a"] and read(ini_file).hosts == {"a": {"ansible_port": 22}}
