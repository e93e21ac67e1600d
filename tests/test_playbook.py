"""Playbook checks that keep `labkit run` from tripping over what `labkit check` accepted: matrix
sources that can send, unique step names, every problem in one pass, static addresses tracked step
by step, and `no_address` expectations (checked here, run on the simulated lab)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from labkit.backends import open_lab
from labkit.errors import InputError, InputErrors
from labkit.playbook import load_checked, load_playbook
from labkit.report.as_json import to_json
from labkit.runner import run_playbook
from tests.e2e.test_playbooks import labkit

REPO = Path(__file__).resolve().parent.parent
INV = REPO / "tests" / "broken" / "valid-inventory.yml"

# Three Linux VMs on the NAT network: a and b with static addresses, c on DHCP.
TRIO = """\
lab: trio
host: {lan_address: 192.168.1.100}
lan: {subnet: 192.168.1.0/24, router: 192.168.1.1}
networks:
  nat:
    type: nat
    subnet: 10.0.0.0/24
    host_adapter: {address: 10.0.0.1}
    gateway: 10.0.0.2
    dhcp: {server: 10.0.0.254, start: 10.0.0.128, end: 10.0.0.253}
vms:
  - name: a
    adapters: [{interface: eth0, network: nat, config: {address: 10.0.0.11/24, gateway: 10.0.0.2}}]
  - name: b
    adapters: [{interface: eth0, network: nat, config: {address: 10.0.0.12/24, gateway: 10.0.0.2}}]
  - name: c
    adapters: [{interface: eth0, network: nat, config: {dhcp: true}}]
"""


def playbook(tmp_path: Path, steps: str, inventory: Path = INV, name: str = "pb.yml") -> Path:
    path = tmp_path / name
    path.write_text(f"name: t\ninventory: {inventory}\nsteps:\n" + textwrap.indent(textwrap.dedent(steps), "  "))
    return path


def problems(path: Path) -> list[InputError]:
    with pytest.raises(InputErrors) as exc:
        load_checked(path)
    return exc.value.errors


def trio(tmp_path: Path) -> Path:
    path = tmp_path / "trio.yml"
    path.write_text(TRIO)
    return path


# ---- 1. sources that cannot send ------------------------------------------------------------


@pytest.mark.parametrize(("ref", "says"), [
    ("nat.gateway", "'nat.gateway' is nat's NAT device: labkit runs ping on the source and nobody can log"),
    ("nat.dhcp", "'nat.dhcp' is nat's DHCP server: labkit runs ping on the source and nobody can log"),
    ("8.8.8.8", "'8.8.8.8' is an address: labkit runs ping on the source"),
    ("10.0.0.77", "an address can only be a target"),
    ("192.168.1.1", "this is router's address: name it router"),
    ("10.0.0.101", "this is centos.eth0's address: name it centos.eth0"),
])
def test_a_source_nobody_can_log_into_is_refused(tmp_path, ref, says):
    path = playbook(tmp_path, f"""\
        - ping_matrix: {{sources: [host, "{ref}"], targets: [router]}}
        """)
    [err] = problems(path)
    assert (err.file, err.line, err.field) == (str(path), 4, "steps[0].ping_matrix.sources[1]")
    assert says in err.message
    assert "a VM, VM.IFACE, host, host.NET, router or an external's name" in err.message


def test_sources_that_can_send_and_any_target_pass(tmp_path):
    path = playbook(tmp_path, """\
        - ping_matrix:
            sources: [host, host.nat, router, internet, centos, centos.eth0, win7]
            targets: [nat.gateway, nat.dhcp, 8.8.8.8, 10.0.0.77, host, router]
        """)
    pb, _ = load_checked(path)
    assert pb.steps[0].spec.sources[0] == "host"


@pytest.mark.parametrize("backend", ["workstation", "vsphere"])
def test_the_router_as_a_source_needs_router_ssh_on_real_backends(tmp_path, backend):
    """On sim and netns labkit builds the router itself; on VMware it is the user's router, reached only over SSH."""
    base = TRIO.replace("lab: trio\n", f"lab: trio\nbackend: {{type: {backend}, host: 127.0.0.1, user: u, "
                                        "password_env: LABKIT_TEST_PW}\n")
    inv = tmp_path / "inv.yml"
    inv.write_text(base)
    path = playbook(tmp_path, "- ping_matrix: {sources: [host, router], targets: [router]}\n", inventory=inv)
    [err] = problems(path)
    assert (err.line, err.field) == (4, "steps[0].ping_matrix.sources[1]")
    assert f"on the {backend} backend it logs into the LAN router only over SSH: give lan.router_ssh" in err.message
    inv.write_text(base.replace("router: 192.168.1.1}", "router: 192.168.1.1, router_ssh: {user: root}}"))
    pb, _ = load_checked(path)
    assert pb.steps[0].spec.sources == ["host", "router"]


def test_labkit_matrix_and_predict_refuse_such_sources_with_exit_2():
    proc = labkit("matrix", "-i", "inventory/seed-lab.yml", "--sources", "host,nat.gateway,8.8.8.8",
                  "--targets", "nat.dhcp,8.8.8.8")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith("error: --sources: '") for line in lines), lines
    assert "nat's NAT device" in lines[0] and "'8.8.8.8' is an address" in lines[1]
    proc = labkit("predict", "-i", "inventory/seed-lab.yml", "--sources", "nat.dhcp")
    assert proc.returncode == 2 and proc.stderr.startswith("error: --sources: 'nat.dhcp' is nat's DHCP server")


# ---- 2. unique step names -------------------------------------------------------------------


def test_a_duplicate_step_name_names_both_lines(tmp_path):
    path = playbook(tmp_path, """\
        - name: ping
          ping_matrix: {sources: [host], targets: [router]}
        - name: other
          restart_network: {vms: [centos]}
        - name: ping
          ping_matrix: {sources: [host], targets: [centos]}
        """)
    [err] = problems(path)
    assert (err.line, err.field) == (8, "steps[2].name")
    assert err.message.startswith("duplicate step name 'ping': steps[0] (line 4) has it too")


def test_default_names_never_collide_with_given_ones_or_each_other(tmp_path):
    path = playbook(tmp_path, """\
        - name: "configure_guest #2"
          restart_network: {vms: [centos]}
        - configure_guest: {vms: [centos], dhcp: true}
        - name: "configure_guest #2 (2)"
          restart_network: {vms: [centos]}
        - ping_matrix: {sources: [host], targets: [router]}
        - ping_matrix: {sources: [host], targets: [centos]}
        """)
    pb, _ = load_playbook(path)
    names = [s.name for s in pb.steps]
    assert names == ["configure_guest #2", "configure_guest #2 (3)", "configure_guest #2 (2)",
                     "ping_matrix #4", "ping_matrix #5"]


def test_two_unnamed_matrices_are_two_keys_of_the_report(tmp_path):
    path = playbook(tmp_path, """\
        - ping_matrix: {sources: [host], targets: [router]}
        - ping_matrix: {sources: [host], targets: [internet]}
        """)
    pb, inv = load_checked(path)
    report = to_json(run_playbook(pb, open_lab(inv)))
    assert [m["step"] for m in report["matrices"]] == ["ping_matrix #1", "ping_matrix #2"]
    assert [s["name"] for s in report["steps"]] == ["ping_matrix #1", "ping_matrix #2"]


# ---- 3. every problem in one pass -------------------------------------------------------------


def test_problems_of_every_stage_come_at_once_in_file_order(tmp_path):
    path = playbook(tmp_path, """\
        - ping_matrix: {sources: [host, win10], targets: [router]}
        - reboot: {vms: [centos]}
        - set_mode: {vms: [centos, pc9], mode: vmnet8}
        - configure_guest: {vms: [centos], address: 10.0.0.7}
        - name: 42
          restart_network: {vms: [centos]}
        """)
    errs = problems(path)
    assert [(e.line, e.field) for e in errs] == [
        (4, "steps[0].ping_matrix.sources[1]"),
        (5, "steps[1].reboot"),
        (6, "steps[2].set_mode.vms[1]"),
        (6, "steps[2].set_mode.mode"),
        (7, "steps[3].configure_guest.address"),
        (8, "steps[4].name"),
    ]
    assert "unknown VM 'pc9'" in errs[2].message and "unknown mode 'vmnet8'" in errs[3].message


def test_playbook_problems_come_with_the_inventorys(tmp_path):
    bad_inventory = tmp_path / "inv.yml"
    bad_inventory.write_text(TRIO.replace("lan_address: 192.168.1.100", "lan_address: 10.9.9.9"))
    path = playbook(tmp_path, "- reboot: {vms: [a]}\n", inventory=bad_inventory)
    errs = problems(path)
    assert errs[0].file == str(path) and "unknown step kind 'reboot'" in errs[0].message
    assert errs[1:] and all(e.file == str(bad_inventory) for e in errs[1:])


# ---- 4. static addresses, step by step ----------------------------------------------------------


def test_an_address_freed_by_a_move_may_be_taken(tmp_path):
    path = playbook(tmp_path, """\
        - configure_guest: {vms: [a], address: 10.0.0.21/24}
        - configure_guest: {vms: [b], address: 10.0.0.11/24}
        """, inventory=trio(tmp_path))
    load_checked(path)


def test_a_swap_through_a_spare_address_or_dhcp_is_accepted(tmp_path):
    path = playbook(tmp_path, """\
        - configure_guest: {vms: [a], address: 10.0.0.99/24}
        - configure_guest: {vms: [b], address: 10.0.0.11/24}
        - configure_guest: {vms: [a], address: 10.0.0.12/24}
        - configure_guest: {vms: [a, b], dhcp: true}
        - configure_guest: {vms: [c], address: 10.0.0.11/24}
        - configure_guest: {vms: [b], address: 10.0.0.12/24}
        - configure_guest: {vms: [b], address: 10.0.0.12/24}
        """, inventory=trio(tmp_path))
    load_checked(path)


def test_a_collision_at_some_step_names_both_vms_and_lines(tmp_path):
    inventory = trio(tmp_path)
    path = playbook(tmp_path, """\
        - configure_guest: {vms: [c], address: 10.0.0.11/24}
        - configure_guest: {vms: [a], address: 10.0.0.31/24}
        - configure_guest: {vms: [c], address: 10.0.0.31/24}
        """, inventory=inventory)
    first, second = problems(path)
    assert (first.line, first.field) == (4, "steps[0].configure_guest.address")
    assert first.message == (f"duplicate static address 10.0.0.11: this step gives it to c while a still has it "
                             f"({inventory}:13: vms[0].adapters[0].config.address)")
    assert (second.line, second.field) == (6, "steps[2].configure_guest.address")
    assert second.message == ("duplicate static address 10.0.0.31: this step gives it to c while a still has it "
                              "(steps[1], line 5)")


def test_infrastructure_addresses_stay_refused(tmp_path):
    path = playbook(tmp_path, "- configure_guest: {vms: [c], address: 10.0.0.254/24}\n", inventory=trio(tmp_path))
    [err] = problems(path)
    assert err.message == "10.0.0.254 is nat's DHCP server's address"


# ---- 5. no_address expectations -----------------------------------------------------------------

BREAK_DHCP = """\
- set_mode: {vms: [centos], mode: hostonly}
- configure_guest: {vms: [centos], interface: eth0, dhcp: true}
- name: restart (hostonly has no DHCP server, so centos gets no address)
  restart_network: {vms: [centos], interface: eth0}
- name: m
  ping_matrix:
    sources: [centos, host]
    targets: [centos, host, router, win7]
    expect:
      model: true
      cells:
        - {from: centos, to: host, result: no_address}
        - {from: host, to: centos, result: no_address}
        - {from: host, to: win7, result: %s}
"""


def test_no_address_cells_hold_when_a_side_has_no_address(tmp_path):
    pb, inv = load_checked(playbook(tmp_path, BREAK_DHCP % "reachable"))
    lab = open_lab(inv)
    result = run_playbook(pb, lab)
    m = result.matrices[0]
    for src, dst, side in [("centos", "host", "source"), ("host", "centos", "target")]:
        cell = m.cell(src, dst)
        assert (cell.expected, cell.observed.verdict, cell.ok) == ("no_address", "no_address", True)
        assert cell.observed.reason.startswith(f"{side} has no address: centos's eth0 has no address")
    assert m.cell("centos", "router").expected == "unreachable"  # the model's, as before
    assert m.ok
    data = to_json(result)
    assert data["schema"] == "labkit-report/2"
    cells = {(c["source"], c["target"]): c for c in data["matrices"][0]["cells"]}
    assert cells[("centos", "host")]["observed"] == "no_address" and cells[("centos", "host")]["ok"]


def test_no_address_fails_where_both_sides_have_one(tmp_path):
    pb, inv = load_checked(playbook(tmp_path, BREAK_DHCP % "no_address"))
    m = run_playbook(pb, open_lab(inv)).matrices[0]
    cell = m.cell("host", "win7")
    assert (cell.expected, cell.observed.verdict, cell.ok) == ("no_address", "reachable", False)
    assert m.failed_cells() == [cell]


def test_no_address_needs_a_vm_at_one_end(tmp_path):
    path = playbook(tmp_path, """\
        - ping_matrix:
            sources: [host, centos]
            targets: [router, centos.eth0, 8.8.8.8]
            expect: {cells: [{from: host, to: 8.8.8.8, result: no_address},
                             {from: host, to: centos.eth0, result: no_address},
                             {from: centos, to: router, result: no_address}]}
        """)
    [err] = problems(path)
    assert err.field == "steps[0].ping_matrix.expect.cells[0].result"
    assert err.message.startswith("no_address can never hold for host -> 8.8.8.8")


def test_labkit_run_reports_no_address_cells(tmp_path):
    out = tmp_path / "r.json"
    proc = labkit("run", str(playbook(tmp_path, BREAK_DHCP % "reachable")), "--json", str(out))
    assert proc.returncode == 1  # the restart step fails: DHCP is broken on purpose
    assert "∅ no addr" in proc.stdout and "Traceback" not in proc.stderr
    report = json.loads(out.read_text())
    assert report["matrices"][0]["ok"] and report["summary"]["failed_cells"] == 0


def test_an_empty_inventory_key_is_no_inventory_and_the_steps_are_still_checked(tmp_path):
    path = tmp_path / "pb.yml"
    path.write_text("name: t\ninventory:\nsteps:\n  - reboot: {}\n")
    errs = problems(path)
    assert [(e.line, e.field) for e in errs] == [(2, "inventory"), (4, "steps[0].reboot")]
    assert errs[0].message.startswith("no inventory")
