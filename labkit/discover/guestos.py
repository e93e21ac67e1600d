"""A guest's OS family from the identifier its hypervisor keeps for it, and a likely network dialect.

Workstation's .vmx `guestOS` ("windows7-64", "centos-64", "ubuntu-64") and vSphere's
`config.guestId` ("windows7_64Guest", "rhel8_64Guest") are what the user chose when creating the
VM. They say windows or linux reliably; the distribution they name only suggests how its network
is configured (a CentOS 6 is ifcfg, a CentOS 9 is NetworkManager keyfiles), so the dialect is
offered as a hint beside the placeholder, never written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

_LINUX = ("centos", "rhel", "redhat", "oracle", "fedora", "rocky", "alma", "ubuntu", "debian", "suse", "sles",
          "opensuse", "linux", "mandriva", "mandrake", "asianux", "turbolinux", "amazonlinux", "photon",
          "coreos", "vmwarephoton", "other24x", "other26x", "other3x", "other4x", "other5x", "other6x",
          "genericlinux")
_HINTS = (("centos", "likely ifcfg"), ("rhel", "likely ifcfg"), ("redhat", "likely ifcfg"),
          ("oracle", "likely ifcfg"), ("fedora", "likely nmkeyfile or ifcfg"), ("rocky", "likely nmkeyfile"),
          ("alma", "likely nmkeyfile"), ("ubuntu", "likely netplan (ifupdown before 17.10)"),
          ("debian", "likely ifupdown"))


@dataclass(frozen=True)
class GuestOs:
    os: Literal["linux", "windows"] | None
    note: str | None
    dialect_hint: str | None


def guest_os(identifier: str | None, where: str) -> GuestOs:
    """What `identifier` (a guestOS or guestId value, read from `where`) says; unknown: os None."""
    if not identifier:
        return GuestOs(None, None, None)
    key = identifier.strip().lower()
    said = f"{where} {identifier}"
    if key.startswith("win"):
        return GuestOs("windows", f"from {said}", None)
    if any(key.startswith(prefix) for prefix in _LINUX):
        hint = next((f"{said}: {h}" for prefix, h in _HINTS if key.startswith(prefix)), None)
        return GuestOs("linux", f"from {said}", hint)
    return GuestOs(None, None, f"{said} is neither Windows nor Linux to labkit")
