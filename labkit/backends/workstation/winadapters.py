"""The Workstation host's VMnet adapters on Windows: found, read and switched with PowerShell.

Workstation gives the host one virtual adapter per host-only/NAT VMnet, named "VMware Network
Adapter VMnet8" and described as "VMware Virtual Ethernet Adapter for VMnet8" (the description
stays when a user renames the connection, so either identifies the VMnet). `Get-NetAdapter`
lists them with their Status ("Up", "Disconnected", "Disabled"); `Disable-NetAdapter` /
`Enable-NetAdapter` switch one, which needs an elevated (Administrator) process: the switching
script checks that first and exits 5 before anything changes, and labkit says so.

Windows 7 (the tutorial's host) has no NetAdapter cmdlets: the listing script exits 3 there and
netsh (`netsh interface show interface`, `... set interface NAME admin=disabled`) is used instead;
its table is read in English and German.

Every command is an argv list (no cmd.exe): the PowerShell script is one argument, the adapter's
name inside it a single-quoted PowerShell literal; for netsh the name is one argument of its own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from labkit.backends.transports.commands import CommandRunner
from labkit.backends.workstation.facts import HostNic
from labkit.errors import BackendError
from labkit.osutil import system_program
from labkit.protocols import CommandResult

NO_NETADAPTER = 3  # the listing script's exit status where Get-NetAdapter does not exist (Windows 7)
NOT_ADMIN = 5  # the switching script's exit status when the process is not elevated

_VNET = re.compile(r"\bVMnet(\d{1,2})\s*$", re.IGNORECASE)
# Workstation gives the host's adapter on VMnetN the MAC 00:50:56:C0:00:NN (N in hex): the one
# thing left to tell them apart in a table PowerShell shortened ("VMware Network Adapte...8")
_HOST_MAC = re.compile(r"^00[-:]50[-:]56[-:]C0[-:]00[-:]([0-9A-F]{2})$", re.IGNORECASE)
_DISABLED = {"disabled", "not present"}  # Get-NetAdapter's Status words for an adapter that is off
NETSH_ENABLED = {"enabled": True, "disabled": False, "aktiviert": True, "deaktiviert": False}

LIST_SCRIPT = (
    "$ErrorActionPreference = 'Stop'; "
    f"if (-not (Get-Command Get-NetAdapter -ErrorAction SilentlyContinue)) {{ exit {NO_NETADAPTER} }}; "
    "$a = @(Get-NetAdapter | Where-Object { $_.InterfaceDescription -like 'VMware Virtual Ethernet Adapter*' "
    "-or $_.Name -like 'VMware Network Adapter*' } | Select-Object Name, InterfaceDescription, Status, MacAddress); "
    "ConvertTo-Json -InputObject $a -Compress"
)
ADMIN_CHECK = (
    "$me = [Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent(); "
    f"if (-not $me.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {{ exit {NOT_ADMIN} }}"
)


def vnet_of_adapter(name: str, description: str = "", mac: str = "") -> str | None:
    """"vmnet8" for "VMware Network Adapter VMnet8" or "VMware Virtual Ethernet Adapter for VMnet8",
    else for a VMware adapter whose MAC is Workstation's 00-50-56-C0-00-08."""
    for text in (description, name):
        if "vmware" in text.lower() and (m := _VNET.search(text)):
            return f"vmnet{int(m.group(1))}"
    m = _HOST_MAC.match(mac.strip())
    if m and "vmware" in f"{description} {name}".lower():
        return f"vmnet{int(m.group(1), 16)}"
    return None


def ps_literal(text: str) -> str:
    """`text` as a single-quoted PowerShell string naming exactly it: quotes doubled (PowerShell
    also takes the typographic ones for quotes) and wildcard characters escaped for -Name."""
    if any(ord(c) < 32 for c in text):
        raise BackendError(f"host: adapter name {text!r} holds a control character")
    text = re.sub(r"([*?\[\]`])", r"`\1", text)
    return "'" + re.sub(r"(['\u2018\u2019\u201a\u201b])", r"\1\1", text) + "'"


def powershell(script: str, environ: Mapping[str, str] | None = None) -> list[str]:
    """The argv running `script` in Windows PowerShell: no profile, no prompt, one -Command argument."""
    exe = system_program("System32", "WindowsPowerShell", "v1.0", "powershell.exe", fallback="powershell.exe",
                         environ=environ)
    return [exe, "-NoProfile", "-NonInteractive", "-Command", script]


def switch_script(name: str, enabled: bool) -> str:
    verb = "Enable-NetAdapter" if enabled else "Disable-NetAdapter"
    return f"$ErrorActionPreference = 'Stop'; {ADMIN_CHECK}; {verb} -Name {ps_literal(name)} -Confirm:$false"


def netsh(*args: str, environ: Mapping[str, str] | None = None) -> list[str]:
    return [system_program("System32", "netsh.exe", fallback="netsh.exe", environ=environ), *args]


# ---- parsers (pure: captured outputs in, adapters out) ----------------------------------------

def parse_netadapter_json(text: str) -> list[HostNic]:
    """`Get-NetAdapter | Select-Object Name, InterfaceDescription, Status, MacAddress | ConvertTo-Json`:
    a list, or one object (ConvertTo-Json unwraps a single item), or nothing at all."""
    text = text.strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BackendError(f"host: Get-NetAdapter printed no readable JSON ({exc}): {text[:200]!r}") from None
    items = data if isinstance(data, list) else [data]
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise BackendError(f"host: unexpected Get-NetAdapter item {item!r}")
        name, status = str(item.get("Name") or ""), item.get("Status")
        vnet = vnet_of_adapter(name, str(item.get("InterfaceDescription") or ""), str(item.get("MacAddress") or ""))
        if vnet is None or not name:
            continue
        word = str(status) if status is not None else "?"
        out.append(HostNic(vnet, name, word.lower() not in _DISABLED, word))
    return out


def parse_netadapter_table(text: str) -> list[HostNic]:
    """Get-NetAdapter's default table ("Name  InterfaceDescription  ifIndex Status ..." over a row
    of dashes), cut at the columns the dashes mark. A name PowerShell shortened ("VMware Network
    Adapte...8") is still placed by its description, or by its MAC; such a name cannot be passed
    back to PowerShell, which is why labkit itself asks for JSON."""
    lines = text.replace("\r", "").splitlines()
    dash_at = next((i for i, ln in enumerate(lines) if ln.strip().startswith("----")), None)
    if dash_at is None or dash_at == 0:
        raise BackendError(f"host: no Get-NetAdapter table in: {text.strip()[:200]!r}")
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", lines[dash_at])]
    header = lines[dash_at - 1]
    columns = [header[a:b].strip() for a, b in spans]
    starts = [a for a, _ in spans] + [10**6]
    out = []
    for line in lines[dash_at + 1:]:
        if not line.strip():
            continue
        cells = {col: line[starts[k]:starts[k + 1]].strip() for k, col in enumerate(columns)}
        name, status = cells.get("Name", ""), cells.get("Status", "")
        vnet = vnet_of_adapter(name, cells.get("InterfaceDescription", ""), cells.get("MacAddress", ""))
        if vnet is not None and status:
            out.append(HostNic(vnet, name, status.lower() not in _DISABLED, status))
    return out


def parse_netadapters(text: str) -> list[HostNic]:
    """Either form: JSON (what labkit asks for) or the table (what a person pastes)."""
    stripped = text.strip()
    if not stripped or stripped[0] in "[{":
        return parse_netadapter_json(stripped)
    return parse_netadapter_table(text)


def parse_netsh_interfaces(text: str) -> list[HostNic]:
    """`netsh interface show interface`: Admin State, State, Type, Interface Name (the name last,
    spaces and all), in English or German ("Aktiviert"/"Deaktiviert")."""
    lines = text.replace("\r", "").splitlines()
    dash_at = next((i for i, ln in enumerate(lines) if ln.strip().startswith("----")), None)
    if dash_at is None:
        raise BackendError(f"host: no `netsh interface show interface` table in: {text.strip()[:200]!r}")
    out = []
    for line in lines[dash_at + 1:]:
        parts = line.split(None, 3)
        if len(parts) < 4:
            continue
        admin, name = parts[0], parts[3].strip()
        vnet = vnet_of_adapter(name)
        if vnet is None:
            continue
        if admin.lower() not in NETSH_ENABLED:
            raise BackendError(f"host: netsh says {admin!r} for {name!r}: labkit reads netsh in English and "
                               "German only")
        out.append(HostNic(vnet, name, NETSH_ENABLED[admin.lower()], admin))
    return out


# ---- the adapters of this Windows machine ------------------------------------------------------

class WindowsHostNics:
    """The VMware adapters of the Windows host labkit runs on, through an injected CommandRunner."""

    def __init__(self, runner: CommandRunner, environ: Mapping[str, str] | None = None) -> None:
        self.runner = runner
        self.environ = environ
        self.netsh = False  # set on the first listing, where the NetAdapter cmdlets are missing

    def read(self, vnets: Sequence[str]) -> dict[str, HostNic]:
        """The adapters on `vnets` the host has (a VMnet without one is absent from the result)."""
        if not self.netsh:
            res = self.runner.run(powershell(LIST_SCRIPT, self.environ))
            if res.exit_status == NO_NETADAPTER:
                self.netsh = True
            else:
                _check(res, "Get-NetAdapter")
                return _only(parse_netadapters(res.stdout), vnets)
        res = self.runner.run(netsh("interface", "show", "interface", environ=self.environ))
        _check(res, "netsh interface show interface")
        return _only(parse_netsh_interfaces(res.stdout), vnets)

    def switch(self, nic: HostNic, enabled: bool) -> None:
        """Enable or disable `nic`; BackendError (nothing changed) when labkit is not elevated."""
        if self.netsh:
            self._elevated(nic)
            res = self.runner.run(netsh("interface", "set", "interface", nic.name,
                                        f"admin={'enabled' if enabled else 'disabled'}", environ=self.environ))
            _check(res, f"netsh interface set interface {nic.name!r}")
            return
        res = self.runner.run(powershell(switch_script(nic.name, enabled), self.environ))
        if res.exit_status == NOT_ADMIN:
            raise _not_admin(nic)
        _check(res, f"{'Enable' if enabled else 'Disable'}-NetAdapter {nic.name!r}")

    def _elevated(self, nic: HostNic) -> None:
        res = self.runner.run(powershell(ADMIN_CHECK, self.environ))
        if res.exit_status == NOT_ADMIN:
            raise _not_admin(nic)
        _check(res, "the Administrator check")


def _not_admin(nic: HostNic) -> BackendError:
    return BackendError(f"host: switching {nic.name!r} ({nic.vnet}) needs Administrator rights and labkit is not "
                        "running as Administrator; nothing was changed (start the terminal with "
                        "'Run as administrator')")


def _check(res: CommandResult, what: str) -> None:
    if not res.ok:
        said = (res.stderr.strip() or res.stdout.strip())[:300] or "no message"
        raise BackendError(f"host: {what} failed (exit {res.exit_status}): {said}")


def _only(nics: list[HostNic], vnets: Sequence[str]) -> dict[str, HostNic]:
    return {n.vnet: n for n in nics if n.vnet in vnets}
