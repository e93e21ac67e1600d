"""Run a program on this machine from an argv list, without a shell, and read what it printed.

Everything labkit runs on the machine it sits on goes through a `CommandRunner`: the host's own
pings (local.py), the host's VMnet adapters switched with PowerShell or iproute2 (Workstation).
An argv list is never re-parsed by a shell, so a name with spaces ("VMware Network Adapter
VMnet8") is one argument and nothing in it is expanded. The runner is injected, so tests feed
captured outputs (`CommandRunner` is a protocol: any object with this `run` will do), and a
prefix (["ip", "netns", "exec", NS]) runs the same commands inside a network namespace.

Windows console programs (ping.exe, netsh) print in the console's code page (cp437, cp850 for
German...), not in UTF-8 and not in the ANSI code page Python's locale reports: the output is
decoded with `console_encoding()`, and never fails to decode (bad bytes become U+FFFD).
"""

from __future__ import annotations

import codecs
import locale
import subprocess
import sys
from collections.abc import Sequence
from typing import Protocol

from labkit.errors import TransportError
from labkit.osutil import host_family
from labkit.protocols import CommandResult


class CommandRunner(Protocol):
    """Runs an argv list; a non-zero exit is a result, a program that cannot start a TransportError."""

    def run(self, argv: Sequence[str], timeout: float | None = None) -> CommandResult: ...


def encoding_for(console_cp: int | None, oem_cp: int | None, fallback: str) -> str:
    """The codec for a Windows console program's output: the console's output code page when there
    is a console, else the OEM code page (what a program without one writes), else `fallback`.
    Code page 65001 is UTF-8. A code page Python has no codec for falls through to the next."""
    for cp in (console_cp, oem_cp):
        if not cp:
            continue
        name = "utf-8" if cp == 65001 else f"cp{cp}"
        try:
            return codecs.lookup(name).name
        except LookupError:
            continue
    return fallback


def _windows_code_pages() -> tuple[int | None, int | None]:
    """(console output code page, OEM code page) from kernel32; (None, None) off Windows."""
    try:
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32")  # type: ignore[attr-defined,unused-ignore]
        return int(kernel32.GetConsoleOutputCP()) or None, int(kernel32.GetOEMCP()) or None
    except (ImportError, AttributeError, OSError):
        return None, None


def console_encoding(platform: str | None = None) -> str:
    """How programs run here encode what they print: the console code page on Windows, the
    locale's encoding elsewhere (UTF-8 on any modern Linux or macOS)."""
    fallback = locale.getencoding()
    if host_family(platform) != "windows":
        return fallback
    console_cp, oem_cp = _windows_code_pages()
    return encoding_for(console_cp, oem_cp, "oem" if _has_codec("oem") else fallback)


def _has_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


class LocalRunner:
    """argv on this machine, after `prefix` (nothing, or one that enters a namespace), no shell."""

    def __init__(self, prefix: Sequence[str] = (), *, name: str = "host", timeout: float = 120,
                 encoding: str | None = None) -> None:
        self.prefix = list(prefix)
        self.name = name
        self.timeout = timeout
        self.encoding = encoding or console_encoding()

    def run(self, argv: Sequence[str], timeout: float | None = None, data: str | None = None) -> CommandResult:
        limit = timeout or self.timeout
        full = self.prefix + list(argv)
        # no console window flashing up for each command when labkit runs without one (Windows only)
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if sys.platform == "win32" else 0
        try:
            proc = subprocess.run(full, input=data.encode(self.encoding) if data is not None else None,
                                  capture_output=True, timeout=limit, creationflags=flags, check=False)
        except subprocess.TimeoutExpired:
            raise TransportError(f"{self.name}: {argv[0]} timed out after {limit:g} s") from None
        except OSError as exc:
            raise TransportError(f"{self.name}: cannot run {full[0]}: {exc.strerror or exc}") from None
        return CommandResult(proc.returncode, self.decode(proc.stdout), self.decode(proc.stderr))

    def decode(self, raw: bytes) -> str:
        """Text as the program meant it; a UTF-8 byte-order mark (PowerShell's) dropped."""
        text = raw.decode(self.encoding, "replace")
        return text.removeprefix("\ufeff")
