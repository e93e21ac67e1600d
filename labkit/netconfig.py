"""The one vocabulary every guest dialect speaks: what an interface's IPv4 configuration is.

Dialects translate between this and their file format; the simulated guest and the model read it.
Keeping it tiny and validated (ipaddress types only) is what lets a value reach a shell-sourced
file safely: by the time a dialect renders it, it is an address, not a string from a user.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from typing import Literal

Mode = Literal["dhcp", "static"]


@dataclass(frozen=True, slots=True)
class InterfaceConfig:
    """An interface's IPv4 settings. Static needs an address; gateway and DNS are optional for both."""

    mode: Mode
    address: IPv4Interface | None = None  # address with prefix, e.g. 10.0.0.101/24
    gateway: IPv4Address | None = None
    dns: tuple[IPv4Address, ...] = field(default_factory=tuple)
    onboot: bool = True

    def __post_init__(self) -> None:
        if self.mode == "static" and self.address is None:
            raise ValueError("a static configuration needs an address")
        if self.mode == "static" and self.gateway is not None and self.address is not None \
                and self.gateway not in self.address.network:
            raise ValueError(f"gateway {self.gateway} is outside {self.address.network}")
