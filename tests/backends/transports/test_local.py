"""The local channel per host OS: sh on Linux/macOS, ping.exe without a shell on Windows, and the
command runner under both (argv lists, the console's code page, a namespace prefix)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

import pytest

from labkit.backends.transports.commands import LocalRunner, console_encoding, encoding_for
from labkit.backends.transports.local import LocalTransport, WindowsTransport, local_transport, windows_argv
from labkit.errors import TransportError
from labkit.matrix.ping import parse_ping, ping_command
from labkit.protocols import CommandResult



@pytest.fixture(autouse=True)
def _no_system_root(monkeypatch):
    """Programs by their bare names (powershell.exe, ping.exe) even on a real Windows, where labkit
    would find them in System32: the runners below answer by name."""
    monkeypatch.delenv("SystemRoot", raising=False)
    monkeypatch.delenv("SYSTEMROOT", raising=False)

class Recorder:
    """A CommandRunner that records argv and answers with a fixed result."""

    def __init__(self, result: CommandResult = CommandResult(0)) -> None:
        self.result = result
        self.calls: list[list[str]] = []

    def run(self, argv: Sequence[str], timeout: float | None = None) -> CommandResult:
        self.calls.append(list(argv))
        return self.result


# ---- Windows: argv, no shell ------------------------------------------------------------------------

def test_ping_runs_as_ping_exe_from_an_argv_list():
    assert windows_argv(ping_command("windows", "10.0.0.2", 2, 1.0)) == ["ping.exe", "-n", "2", "-w", "1000",
                                                                        "10.0.0.2"]
    assert windows_argv("ping -n 1 -w 500 fe80::1%12")[-1] == "fe80::1%12"  # % is no variable without cmd.exe


def test_ping_exe_is_system32s_own(tmp_path):
    exe = tmp_path / "System32" / "PING.EXE"
    exe.parent.mkdir()
    exe.write_text("")
    assert windows_argv("ping -n 1 10.0.0.1", {"SystemRoot": str(tmp_path)})[0] == str(exe)


@pytest.mark.parametrize("command", ["command -v fping", "ping 10.0.0.1 | find \"TTL\"", "ping 10.0.0.1 > out",
                                     "ping 10.0.0.1 & shutdown", "echo $(reboot)", "a; b", "echo 'x'"])
def test_a_command_needing_a_shell_is_refused_not_guessed(command):
    if command == "command -v fping":
        # no shell syntax, so it is run as a program called "command": Windows says there is none
        assert windows_argv(command) == ["command", "-v", "fping"]
        return
    with pytest.raises(TransportError, match="needs a shell .* without one"):
        windows_argv(command)


def test_windows_transport_runs_through_its_runner_and_parses_german_ping():
    german = ("\r\nPing wird ausgeführt für 10.0.0.1 mit 32 Bytes Daten:\r\n"
              "Antwort von 10.0.0.1: Bytes=32 Zeit<1ms TTL=128\r\n\r\n"
              "Ping-Statistik für 10.0.0.1:\r\n    Pakete: Gesendet = 1, Empfangen = 1, Verloren = 0\r\n")
    runner = Recorder(CommandResult(0, german))
    t = WindowsTransport("host", runner)
    res = t.run(ping_command("windows", "10.0.0.1", 1, 1.0), timeout=31)
    assert runner.calls == [["ping.exe", "-n", "1", "-w", "1000", "10.0.0.1"]]
    assert t.kind == "local" and parse_ping(res.stdout, "windows").reachable


def test_windows_transport_files_are_python_io(tmp_path):
    t = WindowsTransport("host", Recorder())
    target = tmp_path / "Jane Doe" / "lab notes.txt"
    target.parent.mkdir()
    t.write_file(str(target), "line 1\r\nline 2\n", 0o600)
    assert target.read_bytes() == b"line 1\r\nline 2\n"  # written as given, no newline translation
    assert t.read_file(str(target)) == "line 1\r\nline 2\n"
    assert [p.name for p in target.parent.iterdir()] == ["lab notes.txt"]
    with pytest.raises(FileNotFoundError):
        t.read_file(str(tmp_path / "missing"))
    with pytest.raises(TransportError, match="cannot write"):
        t.write_file(str(tmp_path / "no such folder" / "f"), "x")


@pytest.mark.parametrize("platform, kind", [("win32", WindowsTransport), ("linux", LocalTransport),
                                            ("darwin", LocalTransport)])
def test_local_transport_per_os(platform, kind):
    assert type(local_transport("host", platform)) is kind


def test_no_local_channel_on_an_unknown_os():
    with pytest.raises(TransportError, match=r"no local channel on this OS \(sunos5\)"):
        local_transport("host", "sunos5")


# ---- encodings -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("console, oem, expected", [
    (850, 850, "cp850"),  # German console
    (None, 437, "cp437"),  # no console (a service, a GUI): the OEM code page
    (65001, 850, "utf-8"),  # chcp 65001
    (99999, 850, "cp850"),  # a code page Python has no codec for: the next one
    (None, None, "latin-1"),  # nothing known: the fallback
])
def test_encoding_for_the_console(console, oem, expected):
    assert encoding_for(console, oem, "latin-1") == expected


def test_console_encoding_off_windows_is_the_locales():
    import locale

    assert console_encoding("linux") == locale.getencoding()


def test_runner_decodes_in_its_encoding_and_drops_a_bom():
    r = LocalRunner(encoding="cp850")
    assert r.decode("Zeitüberschreitung".encode("cp850")) == "Zeitüberschreitung"
    assert r.decode(b"\xff\xfe\x81") == "\xa0\u25a0ü"  # never fails: every byte is something in cp850
    assert LocalRunner(encoding="utf-8").decode(b"\xef\xbb\xbf[]\xff") == "[]\ufffd"


# ---- the runner for real (POSIX here) ------------------------------------------------------------------------

@pytest.mark.skipif(sys.platform == "win32", reason="POSIX programs")
def test_runner_runs_argv_without_a_shell(tmp_path):
    r = LocalRunner(encoding="utf-8")
    name = "a name with spaces; $(reboot)"
    res = r.run(["printf", "%s|", name, "two"])
    assert res == CommandResult(0, f"{name}|two|", "")
    assert r.run(["sh", "-c", "echo out; echo err >&2; exit 3"]) == CommandResult(3, "out\n", "err\n")
    with pytest.raises(TransportError, match="cannot run no-such-program-here"):
        r.run(["no-such-program-here"])
    with pytest.raises(TransportError, match="timed out after 0.2 s"):
        r.run(["sleep", "5"], timeout=0.2)


def test_runner_prefix_comes_first(monkeypatch):
    seen = []
    monkeypatch.setattr("labkit.backends.transports.commands.subprocess.run",
                        lambda argv, **kw: seen.append(argv) or subprocess.CompletedProcess(argv, 0, b"", b""))
    LocalRunner(["ip", "netns", "exec", "lab-host"], encoding="utf-8").run(["ping", "-c", "1", "10.0.0.1"])
    assert seen == [["ip", "netns", "exec", "lab-host", "ping", "-c", "1", "10.0.0.1"]]


# ---- the real thing, where this runs on Windows (CI: .github/workflows/windows.yml) -----------------------

@pytest.mark.skipif(sys.platform != "win32", reason="ping.exe is Windows'")
def test_real_ping_exe_through_the_windows_transport(monkeypatch):
    monkeypatch.undo()  # System32's own ping.exe, found through SystemRoot
    host = local_transport("host")
    res = host.run(ping_command("windows", "127.0.0.1", 2, 1.0), timeout=30)
    stats = parse_ping(res.stdout + res.stderr, "windows")
    assert (stats.transmitted, stats.received) == (2, 2)


@pytest.mark.skipif(sys.platform != "win32", reason="PowerShell's NetAdapter cmdlets are Windows'")
def test_real_get_netadapter_script_runs(monkeypatch):
    """labkit's listing script, run by this Windows' PowerShell: valid, and no VMware adapter on a CI runner."""
    from labkit.backends.workstation.winadapters import WindowsHostNics

    monkeypatch.undo()
    assert WindowsHostNics(LocalRunner()).read(["vmnet1", "vmnet8"]) == {}
