"""The guest contract: files and commands through lab.transport(vm), and the console where declared."""

from __future__ import annotations

import pytest

from tests.contract.subject import Subject

TEXT = "IPADDR='10.0.0.101'\n# ünïcode, \"quotes\", $dollar, `ticks` and a \\ backslash\n\nlast line\n"


@pytest.mark.needs("files")
def test_write_then_read_back_and_replace(subject: Subject) -> None:
    path = f"/etc/labkit-contract-{subject.name}.conf"
    transport = subject.lab.transport(subject.vm)
    transport.write_file(path, TEXT)
    assert transport.read_file(path) == TEXT
    transport.write_file(path, "second\n")  # replaces the whole file
    assert transport.read_file(path) == "second\n"


@pytest.mark.needs("files")
def test_reading_a_missing_file_is_file_not_found(subject: Subject) -> None:
    path = "/etc/labkit-contract-no-such-file"
    with pytest.raises(FileNotFoundError) as err:
        subject.lab.transport(subject.vm).read_file(path)
    assert path in (err.value.filename, str(err.value))


@pytest.mark.needs("commands")
def test_a_command_keeps_its_exit_status_and_both_streams(subject: Subject) -> None:
    res = subject.lab.transport(subject.vm).run("echo out; echo err >&2; exit 3")
    assert (res.exit_status, res.stdout, res.stderr) == (3, "out\n", "err\n")
    assert not res.ok
    assert subject.lab.transport(subject.vm).run("true").ok


@pytest.mark.needs("console", "files")
def test_the_console_and_the_transport_see_the_same_files(subject: Subject) -> None:
    path = f"/etc/labkit-contract-console-{subject.name}.conf"
    assert subject.lab.console is not None
    console, transport = subject.lab.console.open(subject.vm), subject.lab.transport(subject.vm)
    console.write_file(path, TEXT)
    assert transport.read_file(path) == TEXT
    transport.write_file(path, "from the transport\n")
    assert console.read_file(path) == "from the transport\n"
    with pytest.raises(FileNotFoundError):
        console.read_file("/etc/labkit-contract-no-such-file")


@pytest.mark.needs("console")
def test_the_console_runs_commands_in_the_guest(subject: Subject) -> None:
    console = subject.lab.console
    assert console is not None
    assert console.reaches(subject.vm) is True
    res = console.open(subject.vm).run("hostname")
    assert (res.exit_status, res.stdout) == (0, f"{subject.vm}\n")  # the guest's own name, not this machine's


# ---- declared <=> present, for every backend ----

def test_console_is_present_exactly_when_declared(subject: Subject) -> None:
    assert (subject.lab.console is not None) == ("console" in subject.caps)


def test_batch_is_present_exactly_when_declared(subject: Subject) -> None:
    assert (subject.lab.batch is not None) == ("batch" in subject.caps)


def test_host_adapters_are_present_exactly_when_declared(subject: Subject) -> None:
    assert (subject.lab.host_adapters is not None) == ("host_adapters" in subject.caps)


def test_links_are_present_exactly_when_declared(subject: Subject) -> None:
    assert (subject.lab.links is not None) == ("links" in subject.caps)
