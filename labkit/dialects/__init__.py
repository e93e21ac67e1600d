"""Guest network configuration dialects: pure text in, text out, no I/O.

The file dialects (ifcfg, ifupdown, nmkeyfile, netplan) share one shape, `FileDialect`; netsh
(Windows) has no file and speaks in commands. `file_dialect(name)` gives the shared shape for any
of them, so labkit/guest/config.py reads, edits and writes every format with the same few lines.
"""

from __future__ import annotations

from typing import Any, Protocol

from labkit.dialects import ifcfg
from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig

FILE_DIALECTS = ("ifcfg", "ifupdown", "nmkeyfile", "netplan")


class FileDialect(Protocol):
    def path_for(self, interface: str) -> str: ...
    def parse(self, text: str, name: str) -> Any: ...
    def read_config(self, doc: Any, interface: str) -> InterfaceConfig: ...
    def apply_config(self, doc: Any, interface: str, cfg: InterfaceConfig) -> None: ...
    def edit_warnings(self, doc: Any, interface: str, cfg: InterfaceConfig) -> list[str]: ...
    def render(self, doc: Any) -> str: ...
    def restart_command(self, interface: str) -> str: ...


class _Ifcfg:
    """ifcfg's module predates the shared shape: one file per interface, so no interface argument."""

    def path_for(self, interface: str) -> str:
        return f"/etc/sysconfig/network-scripts/ifcfg-{interface}"

    def parse(self, text: str, name: str) -> ifcfg.IfcfgFile:
        return ifcfg.IfcfgFile.parse(text, name)

    def read_config(self, doc: ifcfg.IfcfgFile, interface: str) -> InterfaceConfig:
        return ifcfg.read_config(doc)

    def apply_config(self, doc: ifcfg.IfcfgFile, interface: str, cfg: InterfaceConfig) -> None:
        if doc.get("DEVICE") is None:
            doc.set("DEVICE", interface)
        ifcfg.apply_config(doc, cfg)

    def edit_warnings(self, doc: ifcfg.IfcfgFile, interface: str, cfg: InterfaceConfig) -> list[str]:
        return []  # an ifcfg file holds no routes: they are in route-IF (ifcfg.route_file_warnings)

    def render(self, doc: ifcfg.IfcfgFile) -> str:
        return doc.render()

    def restart_command(self, interface: str) -> str:
        return ifcfg.restart_command(interface)


def file_dialect(name: str) -> FileDialect:
    """The dialect's shared shape. The other modules are imported on first use (netplan needs
    ruamel), each by name so that the type checker holds each module to FileDialect."""
    if name == "ifcfg":
        return _Ifcfg()
    if name == "ifupdown":
        from labkit.dialects import ifupdown

        return ifupdown
    if name == "nmkeyfile":
        from labkit.dialects import nmkeyfile

        return nmkeyfile
    if name == "netplan":
        from labkit.dialects import netplan

        return netplan
    raise GuestConfigError(f"{name!r} is not a file dialect (file dialects: {', '.join(FILE_DIALECTS)})")
