"""labkit's pytest plugin (labkit/pytest_plugin.py, entry point pytest11), run by pytester the way
a user's project meets it: installed, loaded by pytest itself, on the simulated lab.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import REPO

pytest_plugins = ["pytester"]

NAT_STEPS = ["put win7 on NAT (VMnet8)", "ipconfig /renew", "both NAT VMs have a VMnet8 address",
             "NAT with the host's VMnet8 adapter enabled", "disable the host's VMnet8 adapter",
             "NAT with the host's VMnet8 adapter disabled", "enable the host's VMnet8 adapter again",
             "host <-> VM is back"]

# Moves win7 to NAT without renewing its address, then expects the LAN router to reach it.
WRONG = """\
name: wrong on purpose
inventory: lab.yml
steps:
  - name: win7 on NAT
    set_mode: {vms: [win7], mode: nat}
  - name: the LAN reaches win7
    ping_matrix:
      sources: [router, host]
      targets: [win7, centos]
      expect:
        model: true
        cells:
          - {from: router, to: win7, result: reachable}
"""

FIXTURE_TESTS = """\
import labkit

SEEN = []


def test_the_lab_is_open(labkit_lab):
    SEEN.append(labkit_lab)
    assert labkit_lab.backend == "sim" and not labkit_lab.closed
    assert labkit_lab.matrix(["host"], ["centos"]).cell("host", "centos").verdict == "reachable"


def test_the_same_lab_for_the_session(labkit_lab, labkit_inventory):
    assert SEEN == [labkit_lab] and labkit_lab.inventory.lab == labkit_inventory.lab == "seed-lab"


def test_assert_matrix_message(labkit_lab):
    result = labkit_lab.matrix(["router"], ["centos"])
    wrong = labkit_lab.run({"name": "wrong", "steps": [{"name": "LAN to NAT", "ping_matrix": {
        "sources": ["router"], "targets": ["centos"],
        "expect": {"model": True, "cells": [{"from": "router", "to": "centos", "result": "reachable"}]}}}]})
    labkit.assert_matrix(result)
    labkit.assert_matrix(wrong)
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A user's project: the tutorial's inventory as lab.yml, and its NAT playbook as a test file."""
    shutil.copy(REPO / "inventory" / "seed-lab.yml", pytester.path / "lab.yml")
    text = (REPO / "playbooks" / "seed-nat.yml").read_text().replace("../inventory/seed-lab.yml", "lab.yml")
    (pytester.path / "test_nat.labkit.yml").write_text(text)
    return pytester


def test_a_playbook_file_is_one_test_per_step_in_junit(project: pytest.Pytester):
    result = project.runpytest("-v", "--junitxml=out.xml")
    result.assert_outcomes(passed=len(NAT_STEPS))
    result.stdout.fnmatch_lines(["*test_nat.labkit.yml::put win7 on NAT (VMnet8) PASSED*",
                                 "*test_nat.labkit.yml::host <-> VM is back PASSED*"])
    suite = ET.parse(project.path / "out.xml").getroot().find("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == NAT_STEPS
    assert {c.get("classname") for c in cases} == {"test_nat.labkit.yml"}
    assert suite.get("failures") == "0" and suite.get("errors") == "0"


def test_a_failing_matrix_step_shows_its_failing_cells(project: pytest.Pytester):
    (project.path / "test_wrong.labkit.yml").write_text(WRONG)
    result = project.runpytest("test_wrong.labkit.yml", "--junitxml=out.xml")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*_ ping_matrix: the LAN reaches win7 _*",
        "step 'the LAN reaches win7' (ping_matrix) failed: 1 of 4 cells did not hold",
        "│ router    │ ○ unreach (want reach) │ ○ unreach │",
        "  ✗ router -> win7 (192.168.1.101): expected reachable, observed unreachable: 2 sent, no reply",
        "  the model on router -> win7: wrong subnet: win7's eth0 has 192.168.1.101/24 but nat is 10.0.0.0/24*",
        "FAILED test_wrong.labkit.yml::the LAN reaches win7 - *",
    ])
    assert "Traceback" not in result.stdout.str()
    failure = ET.parse(project.path / "out.xml").getroot().find(".//testcase[@name='the LAN reaches win7']/failure")
    assert "✗ router -> win7 (192.168.1.101)" in failure.text


def test_a_step_runs_on_the_lab_its_predecessors_left(project: pytest.Pytester):
    """Selecting only the matrix step still runs the set_mode before it (win7 then keeps its
    bridged address on NAT, which is why the router cannot reach it)."""
    (project.path / "test_wrong.labkit.yml").write_text(WRONG)
    result = project.runpytest("test_wrong.labkit.yml", "-k", "LAN")
    result.assert_outcomes(failed=1, deselected=1)
    result.stdout.fnmatch_lines(["  ✗ router -> win7 (192.168.1.101): *"])


def test_a_playbook_that_does_not_fit_its_lab_errors_every_step_with_file_and_line(project: pytest.Pytester):
    (project.path / "test_unknown.labkit.yml").write_text(
        "name: unknown vm\ninventory: lab.yml\nsteps:\n  - set_mode: {vms: [win8], mode: nat}\n"
        "  - ping_matrix: {sources: [host], targets: [win8]}\n")
    result = project.runpytest("test_unknown.labkit.yml")
    result.assert_outcomes(errors=2)
    out = result.stdout.str()
    # once in each step's error report; the short summary (`ERROR ... - message`, cut to the terminal's
    # width except under CI=true, where pytest prints it whole) is not counted
    reports = [line for line in out.splitlines() if not line.startswith("ERROR ")]
    said = "test_unknown.labkit.yml:4: steps[0].set_mode.vms[0]: unknown VM 'win8'"
    assert sum(line.count(said) for line in reports) == 2
    assert "test_unknown.labkit.yml:5: steps[1].ping_matrix.targets[0]: unknown endpoint 'win8'" in out
    assert "Traceback" not in out and "During handling" not in out


def test_a_broken_playbook_is_a_collection_error_with_file_and_line(pytester: pytest.Pytester):
    (pytester.path / "test_broken.labkit.yml").write_text(
        "name: broken\nsteps:\n  - set_mode: {vms: [win7], mode: nat, colour: red}\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*ERROR collecting test_broken.labkit.yml*",
                                 "*test_broken.labkit.yml:3: steps[[]0[]].set_mode.colour: unknown key"])
    assert "Traceback" not in result.stdout.str()


def test_the_configured_inventory_replaces_the_playbooks(project: pytest.Pytester):
    (project.path / "test_nat.labkit.yml").write_text(
        (project.path / "test_nat.labkit.yml").read_text().replace("inventory: lab.yml", "inventory: nowhere.yml"))
    result = project.runpytest("--labkit-inventory", "lab.yml")
    result.assert_outcomes(passed=len(NAT_STEPS))


def test_only_the_named_files_are_collected(project: pytest.Pytester):
    text = (project.path / "test_nat.labkit.yml").read_text()
    for name in ("nat.labkit.yml", "test_nat.yml", "test_nat.labkit.yml.bak"):
        (project.path / name).write_text(text)
    project.runpytest().assert_outcomes(passed=len(NAT_STEPS))
    project.makeini("[pytest]\nlabkit_files = *.playbook.yml\n")
    (project.path / "nat.playbook.yml").write_text(text)
    result = project.runpytest("-v")
    result.assert_outcomes(passed=len(NAT_STEPS))
    result.stdout.fnmatch_lines(["*nat.playbook.yml::ipconfig /renew PASSED*"])


def test_the_fixture_the_session_lab_and_the_assertion_message(project: pytest.Pytester):
    project.makepyfile(test_lab=FIXTURE_TESTS)
    project.makeconftest("""
        def pytest_sessionfinish(session):
            import test_lab
            print("LAB CLOSED:", [lab.closed for lab in test_lab.SEEN])
    """)
    result = project.runpytest("test_lab.py", "-s", "--labkit-inventory", "lab.yml")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines([
        "*LAB CLOSED: [[]True[]]",  # the session's lab, closed by the time the session finished
        ">       labkit.assert_matrix(wrong)",
        "E       AssertionError: step 'LAN to NAT' (ping_matrix) failed: 1 of 1 cells did not hold",
        "E       │ router    │ ○ unreach (want reach) │",
        "E         ✗ router -> centos (10.0.0.101): expected reachable, observed unreachable: 2 sent, no reply",
        "E         the model on router -> centos: no route to 10.0.0.101: nothing on the internet has it *",
        "test_lab.py:*: AssertionError",
    ])


def test_the_ini_file_names_the_inventory_from_its_own_folder(project: pytest.Pytester, monkeypatch):
    project.makepyfile(test_lab=FIXTURE_TESTS)
    project.makeini("[pytest]\nlabkit_inventory = lab.yml\nlabkit_backend = sim\n")
    monkeypatch.chdir(project.mkdir("elsewhere"))  # lab.yml is not here, but beside the ini file
    result = project.runpytest(str(project.path / "test_lab.py"), "-k", "open or same")
    result.assert_outcomes(passed=2, deselected=1)
    result.stdout.fnmatch_lines([f"labkit: inventory {project.path / 'lab.yml'}, backend sim"])


def test_the_fixture_without_an_inventory_says_how_to_give_one(pytester: pytest.Pytester):
    pytester.makepyfile("def test_lab(labkit_lab):\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*labkit: no inventory; give --labkit-inventory PATH or set labkit_inventory*"])
    assert "Traceback" not in result.stdout.str()


def test_an_unknown_backend_is_a_usage_error(project: pytest.Pytester):
    result = project.runpytest("--labkit-backend", "hyperv")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown backend 'hyperv' (available: netns, sim, vsphere, workstation)*"])


def test_the_options_are_in_help(pytester: pytest.Pytester):
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["labkit (VMware network labs):", "*--labkit-inventory=PATH*",
                                 "*--labkit-backend=NAME*", "*labkit_inventory (string):*", "*labkit_files (args):*"])


def test_a_project_that_does_not_use_labkit_imports_none_of_it(pytester: pytest.Pytester):
    """A separate process, as any project in this environment runs pytest: the plugin is loaded
    (pytest11), but no labkit module beyond it and the package root."""
    pytester.makepyfile("""
        import sys

        def test_plain():
            assert "labkit.pytest_plugin" in sys.modules
            assert sorted(m for m in sys.modules if m.startswith("labkit")) == ["labkit", "labkit.pytest_plugin"]
            assert "pydantic" not in sys.modules
    """)
    pytester.runpytest_subprocess().assert_outcomes(passed=1)


def test_the_example_of_docs_pytest_md_runs(pytester: pytest.Pytester):
    """docs/pytest.md's files (each block that starts with `# tests/NAME`), run as its page says."""
    import re

    page = (REPO / "docs" / "pytest.md").read_text(encoding="utf-8")
    written = []
    for body in re.findall(r"^```\w+\n(# (tests/\S+)\n.*?)^```$", page, re.S | re.M):
        path = pytester.path / body[1]
        path.parent.mkdir(exist_ok=True)
        path.write_text(body[0])
        written.append(body[1])
    assert written == ["tests/test_reachability.py", "tests/test_nat.labkit.yml"]
    for folder, name in (("inventory", "seed-lab.yml"), ("playbooks", "seed-nat.yml")):
        (pytester.path / folder).mkdir()
        shutil.copy(REPO / folder / name, pytester.path / folder / name)
    result = pytester.runpytest("-v", "--labkit-inventory", "inventory/seed-lab.yml")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["tests/test_nat.labkit.yml::win7 on NAT PASSED*",
                                 "tests/test_nat.labkit.yml::renew PASSED*",
                                 "tests/test_nat.labkit.yml::NAT works PASSED*"])
