"""`files:` content is plain configuration or refused (labkit/dialects/plainconfig.py): what a shell
sourcing an ifcfg file, or ifupdown, would run is found on its line; what they only read passes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from labkit.cli import app
from labkit.dialects.plainconfig import dialect_of, problems
from tests.conftest import TUTORIAL_IFCFG
from tests.hostile.make_corpus import IFCFG, inventory

PLAIN_IFCFG = TUTORIAL_IFCFG + """\
# a comment, and blank lines

NAME='System eth0 $(not run: single quotes)'
ZONE="public" ; # NM's writer leaves such tails
ETHTOOL_OPTS=$'autoneg off\\041'
HWADDR=00:0C:29:3B:4C:6D
  MTU=1500
"""

PLAIN_INTERFACES = """\
# /etc/network/interfaces
auto lo
iface lo inet loopback

allow-hotplug eth0
iface eth0 inet static
    address 10.0.0.5/24
    gateway 10.0.0.2
    dns-nameservers 10.0.0.2
"""


def test_real_files_are_plain():
    assert problems(IFCFG, PLAIN_IFCFG) == []
    assert problems("/etc/network/interfaces", PLAIN_INTERFACES) == []
    assert problems("/etc/hosts", "$(reboot)\n") == []  # no dialect: no backend but sim seeds it


@pytest.mark.parametrize("line, why", [
    ("touch /tmp/proof", "is not an assignment"),
    ("IPADDR=$(touch /x)", "IPADDR: unquoted shell metacharacter '('"),
    ("GATEWAY=`touch /x`", "GATEWAY: text after the value"),
    ("UUID=`id`", "UUID: a backquote runs a command"),
    ('NAME="`id`"', "NAME: unescaped '`' inside double quotes"),
    ("ONBOOT=yes; reboot", "ONBOOT: text after the value"),
    ("f() { touch /x; }", "is not an assignment"),
    ("UUID=${UUID}", "UUID: a '$' expansion"),
    (". /etc/other", "is not an assignment"),
    ("IPADDR=10.0.0.9 GATEWAY=10.0.0.2", "IPADDR: text after the value"),
    ("NAME='open", "NAME: unterminated single quote"),
])
def test_what_a_shell_would_run_is_refused_on_its_line(line, why):
    found = problems(IFCFG, f"DEVICE=eth0\n{line}\nONBOOT=yes\n")
    assert len(found) == 1 and found[0][0] == 2 and why in found[0][1], found


@pytest.mark.parametrize("hook", ["up", "down", "pre-up", "post-up", "pre-down", "post-down"])
def test_ifupdown_hooks_are_refused(hook):
    text = PLAIN_INTERFACES + f"    {hook} touch /tmp/proof\n"
    assert problems("/etc/network/interfaces", text) == [
        (10, f"{hook!r} runs its command with /bin/sh: labkit seeds plain configuration only")]


def test_ifupdown_includes_and_mapping_scripts_are_refused():
    text = "source /etc/network/interfaces.d/*\nmapping eth0\n    script /usr/local/bin/map\n"
    assert [n for n, _ in problems("/etc/network/interfaces.d/lab", text)] == [1, 2, 3]


def test_dialects_by_path():
    assert dialect_of(IFCFG) == "ifcfg" and dialect_of("/etc/network/interfaces.d/eth1") == "ifupdown"
    assert dialect_of("/etc/NetworkManager/system-connections/eth0.nmconnection") == "nmkeyfile"
    assert dialect_of("/etc/netplan/01-netcfg.yaml") == "netplan" and dialect_of("/etc/resolv.conf") is None


def test_the_simulated_lab_takes_them_as_data(tmp_path, monkeypatch):
    """Its guests run nothing from their files: `check` accepts the same inventory on sim."""
    vms = (f"  - name: x1\n    dialect: ifcfg\n    adapters: [{{interface: eth0, network: nat}}]\n    files:\n"
           f"      {IFCFG}: |\n        DEVICE=eth0\n        touch /tmp/proof\n")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sim.yml").write_text(inventory(vms=vms))
    (tmp_path / "netns.yml").write_text(inventory(vms=vms).replace("  type: sim\n", "  type: netns\n"))
    (tmp_path / "plain.yml").write_text(inventory(vms=vms.replace("touch /tmp/proof", "ONBOOT=yes"))
                                        .replace("  type: sim\n", "  type: netns\n"))
    runner = CliRunner()
    assert runner.invoke(app, ["check", "sim.yml"]).exit_code == 0
    assert runner.invoke(app, ["check", "plain.yml"]).exit_code == 0
    refused = runner.invoke(app, ["check", "netns.yml"])
    assert refused.exit_code == 2 and "netns.yml:44: vms[2].files" in refused.stderr
