"""Guest network configuration dialects: pure text in, text out, no I/O.

The file dialects (ifcfg, ifupdown, nmkeyfile, netplan) share one shape, `FileDialect`; netsh
(Windows) has no file and speaks in commands. `file_dialect(name)` gives the shared shape for any
of them, so labkit/guest/config.py reads, edits and writes every format with the same few lines.
"""

from __future__ import annotations

import importlib
from types import SimpleNamespace
from typing import Any, Protocol

from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig

FILE_DIALECTS = ("ifcfg", "ifupdown", "nmkeyfile", "netplan")


class FileDialect(Protocol):
    def path_for(self, interface: str) -> str: ...
    def parse(self, text: str, name: str) -> Any: ...
    def read_config(self, doc: Any, interface: str) -> InterfaceConfig: ...
    def apply_config(self, doc: Any, interface: str, cfg: InterfaceConfig) -> None: ...
    def render(self, doc: Any) -> str: ...
    def restart_command(self, interface: str) -> str: ...


def _ifcfg() -> FileDialect:
    """ifcfg's module predates the shared shape: one file per interface, so no interface argument."""
    from labkit.dialects import ifcfg

    return SimpleNamespace(
        path_for=lambda interface: f"/etc/sysconfig/network-scripts/ifcfg-{interface}",
        parse=lambda text, name: ifcfg.IfcfgFile.parse(text, name),
        read_config=lambda doc, interface: ifcfg.read_config(doc),
        apply_config=lambda doc, interface, cfg: _ifcfg_apply(doc, interface, cfg),
        render=lambda doc: doc.render(),
        restart_command=ifcfg.restart_command,
    )


def _ifcfg_apply(doc, interface: str, cfg: InterfaceConfig) -> None:
    from labkit.dialects import ifcfg

    if doc.get("DEVICE") is None:
        doc.set("DEVICE", interface)
    ifcfg.apply_config(doc, cfg)


def file_dialect(name: str) -> FileDialect:
    if name == "ifcfg":
        return _ifcfg()
    if name in FILE_DIALECTS:
        return importlib.import_module(f"labkit.dialects.{name}")
    raise GuestConfigError(f"{name!r} is not a file dialect (file dialects: {', '.join(FILE_DIALECTS)})")
