"""A client for VMware Workstation's REST API (vmrest 1.3.0, ../shared/specs/workstation-vmrest-1.3.0.swagger.yaml).

Only what the Workstation backend needs: the VM library, NICs, power, guest addresses and the host's
VMnets. The only module that imports httpx. Every failure becomes a BackendError whose message says
what to do (wrong credentials, VM busy, vmrest not running); the password is read from the
environment variable the inventory names and never appears in a message, a log line or a repr.

TLS: vmrest serves plain HTTP on 127.0.0.1:8697 unless it was started with a certificate, and it
authenticates with HTTP basic auth, so credentials must not cross a network in clear text:
- `tls: null` (default): https, except for a loopback host without `ca_file` (http).
- `tls: true`: https. `tls: false`: http, allowed to a non-loopback host only because it is
  explicit, and logged as a warning (the password then crosses the network readable).
- https verifies the certificate (system CAs, or `ca_file`); `insecure: true` turns that off and
  logs a warning. `ca_file` or `insecure` with plain http is a contradiction: an input error.
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from typing import Any
from urllib.parse import quote

import httpx

from labkit.errors import BackendError, InputError
from labkit.protocols import GuestNic
from labkit.model import Backend
from labkit.backends.workstation.facts import DhcpRange, VnetFacts, VnetType
from labkit.backends.workstation.placement import is_loopback

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/vnd.vmware.vmw.rest-v1+json"
DEFAULT_PORT = 8697
NIC_TYPES = ("bridged", "nat", "hostonly", "custom")
_VNET_TYPES: dict[str, VnetType] = {"hostOnly": "hostonly", "nat": "nat", "bridged": "bridged"}


@dataclass(frozen=True, slots=True)
class VmEntry:
    """A VM of vmrest's library: its id (vmrest's own, stable per .vmx) and .vmx path."""

    id: str
    path: str


@dataclass(frozen=True, slots=True)
class Nic:
    """One network adapter as vmrest reports it; `index` counts from 1 ("Network adapter 1" = ethernet0)."""

    index: int
    type: str  # bridged | nat | hostonly | custom
    vmnet: str  # "vmnet8"; meaningful for custom, informative otherwise
    mac: str | None


class VmrestError(BackendError):
    """vmrest answered with an error status; `status` and vmrest's own `code` are kept for callers."""

    def __init__(self, message: str, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def base_url(backend: Backend) -> str:
    """The API root for an inventory's backend section, after the TLS rules above."""
    host = backend.host or "127.0.0.1"
    tls = backend.tls
    if tls is None:
        tls = not is_loopback(host) or backend.ca_file is not None
    if not tls and (backend.ca_file or backend.insecure):
        raise InputError("ca_file and insecure apply to https only; remove them or set tls: true", field="backend.tls")
    if not tls and not is_loopback(host):
        log.warning("vmrest at %s over plain http (tls: false): the password crosses the network unencrypted", host)
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if tls else 'http'}://{shown}:{backend.port or DEFAULT_PORT}/api"


def password_from_env(backend: Backend) -> str:
    if not backend.password_env:
        raise InputError("name the environment variable that holds vmrest's password", field="backend.password_env")
    value = os.environ.get(backend.password_env)
    if not value:
        raise InputError(f"environment variable {backend.password_env} is not set (it should hold vmrest's password)",
                         field="backend.password_env")
    return value


def tls_verify(backend: Backend) -> ssl.SSLContext | bool:
    if backend.insecure:
        log.warning("vmrest TLS certificate verification is OFF (insecure: true): anyone on the path can "
                    "impersonate vmrest and read its password")
        return False
    if backend.ca_file:
        path = os.path.expanduser(backend.ca_file)
        try:
            return ssl.create_default_context(cafile=path)
        except (OSError, ssl.SSLError) as exc:
            raise InputError(f"cannot load CA file {path}: {exc}", field="backend.ca_file") from None
    return True


class VmrestClient:
    """One HTTP connection pool to vmrest; thread-safe (httpx.Client is), so VMs can be handled in parallel."""

    def __init__(self, url: str, user: str, password: str, *, verify: ssl.SSLContext | bool = True,
                 timeout: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self.user = user
        self._http = httpx.Client(base_url=self.url, auth=httpx.BasicAuth(user, password), verify=verify,
                                  timeout=timeout, transport=transport,
                                  headers={"Accept": MEDIA_TYPE})

    @classmethod
    def from_backend(cls, backend: Backend, **kwargs: Any) -> VmrestClient:
        if not backend.user:
            raise InputError("vmrest needs a user (the one set with `vmrest -C`)", field="backend.user")
        return cls(base_url(backend), backend.user, password_from_env(backend), verify=tls_verify(backend), **kwargs)

    def __repr__(self) -> str:
        return f"VmrestClient({self.user}@{self.url})"

    def close(self) -> None:
        self._http.close()

    # ---- the calls ------------------------------------------------------------------------------

    def list_vms(self) -> list[VmEntry]:
        return [VmEntry(str(v["id"]), str(v["path"])) for v in self._call("GET", "/vms", what="list VMs")]

    def param(self, vm_id: str, name: str) -> str | None:
        """A .vmx config value through GET /vms/{id}/params/{name} (None: vmrest has no such value)."""
        try:
            body = self._call("GET", f"/vms/{_seg(vm_id)}/params/{_seg(name)}", what=f"read {name} of VM {vm_id}")
        except VmrestError as exc:
            if exc.status == 404:
                return None
            raise
        value = body.get("value") if isinstance(body, dict) else None
        return value if isinstance(value, str) and value else None

    def display_name(self, vm_id: str) -> str | None:
        """vmrest's VM list has no names: the display name is the .vmx's displayName param."""
        return self.param(vm_id, "displayName")

    def nics(self, vm_id: str) -> list[Nic]:
        body = self._call("GET", f"/vms/{_seg(vm_id)}/nic", what=f"read the NICs of VM {vm_id}")
        return [_nic(n) for n in body.get("nics") or []]

    def set_nic(self, vm_id: str, index: int, nic_type: str, vmnet: str) -> Nic:
        """PUT /vms/{id}/nic/{index}. NICDeviceParameter requires vmnet even when only custom uses it."""
        if nic_type not in NIC_TYPES:
            raise ValueError(nic_type)
        body = self._call("PUT", f"/vms/{_seg(vm_id)}/nic/{index}", json={"type": nic_type, "vmnet": vmnet},
                          what=f"set NIC {index} of VM {vm_id} to {nic_type} {vmnet}")
        return _nic(body)

    def power_state(self, vm_id: str) -> str:
        return self._call("GET", f"/vms/{_seg(vm_id)}/power", what=f"read the power state of VM {vm_id}")["power_state"]

    def set_power(self, vm_id: str, operation: str) -> str:
        """PUT /vms/{id}/power. The body is the bare operation word (on, off, shutdown, suspend, pause,
        unpause): the spec's VMPowerOperation is a string schema, and vmrest reads the raw body."""
        body = self._call("PUT", f"/vms/{_seg(vm_id)}/power", content=operation.encode(),
                          what=f"power {operation} VM {vm_id}")
        return body["power_state"]

    def ip(self, vm_id: str) -> str | None:
        """The guest's primary address from VMware Tools (None: Tools not running or no address yet)."""
        try:
            return self._call("GET", f"/vms/{_seg(vm_id)}/ip", what=f"read the address of VM {vm_id}")["ip"] or None
        except VmrestError as exc:
            if exc.status in (409, 500):
                return None
            raise

    def nic_ips(self, vm_id: str) -> list[GuestNic]:
        """Every guest NIC with its IPv4 addresses; [] while VMware Tools cannot answer (409/500).

        The 1.3.0 spec types `nics` as ONE NicIpStack while vmrest sends a list: both are read.
        The gateway is the default route's next hop when it lies inside one of the NIC's subnets
        (the routes' interface ids are not documented well enough to trust)."""
        try:
            body = self._call("GET", f"/vms/{_seg(vm_id)}/nicips", what=f"read the guest NICs of VM {vm_id}")
        except VmrestError as exc:
            if exc.status in (409, 500):
                log.debug("no guest NIC information for VM %s yet: %s", vm_id, exc)
                return []
            raise
        raw = body.get("nics") or []
        stacks = [raw] if isinstance(raw, dict) else list(raw)
        hops = [IPv4Address(r["nexthop"]) for r in body.get("routes") or []
                if r.get("dest") in ("0.0.0.0", None) and r.get("prefix") == 0 and _is_v4(r.get("nexthop"))]
        out = []
        for s in stacks:
            addrs = tuple(IPv4Interface(a) for a in s.get("ip") or [] if _is_v4(a))
            gateway = next((h for h in hops for a in addrs if h in a.network), None)
            out.append(GuestNic(_mac(s.get("mac")), addrs, gateway))
        return out

    def vmnets(self) -> list[VnetFacts]:
        """The host's virtual networks (GET /vmnet). vmrest says only whether DHCP is on, not the pool:
        the pool given is the one Workstation generates (N.128-N.254, server N.254); the host's
        dhcpd.conf, when readable, says the real one."""
        body = self._call("GET", "/vmnet", what="list the host's virtual networks")
        return [_vnet(n) for n in body.get("vmnets") or []]

    def mac_to_ip(self, vmnet: str) -> dict[str, IPv4Address]:
        """DHCP reservations on a VMnet (mac -> address)."""
        body = self._call("GET", f"/vmnet/{_seg(vmnet)}/mactoip", what=f"read the MAC-to-IP settings of {vmnet}")
        return {str(m["mac"]).lower(): IPv4Address(m["ip"]) for m in body.get("mactoips") or []
                if m.get("mac") and _is_v4(m.get("ip"))}

    # ---- transport and errors -------------------------------------------------------------------

    def _call(self, method: str, path: str, *, what: str, json: Any = None, content: bytes | None = None) -> Any:
        headers = {"Content-Type": MEDIA_TYPE} if json is not None or content is not None else None
        try:
            resp = self._http.request(method, path, json=json, content=content, headers=headers)
        except httpx.ConnectError as exc:
            if _is_cert_error(exc):
                raise BackendError(f"cannot {what}: the TLS certificate of vmrest at {self.url} is not trusted "
                                   f"({_reason(exc)}); give its CA in backend.ca_file") from None
            raise BackendError(f"cannot {what}: cannot connect to vmrest at {self.url} ({_reason(exc)}); "
                               "is vmrest running there (`vmrest` on the Workstation host)?") from None
        except httpx.TimeoutException:
            raise BackendError(f"cannot {what}: vmrest at {self.url} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise BackendError(f"cannot {what}: talking to vmrest at {self.url} failed ({_reason(exc)})") from None
        if resp.status_code >= 400:
            raise _status_error(resp, what, self.url)
        if resp.status_code == 204 or not resp.content:
            return None
        try:
            return resp.json()
        except ValueError:
            raise BackendError(f"cannot {what}: vmrest at {self.url} answered {resp.status_code} "
                               "with a body that is not JSON") from None


def _status_error(resp: httpx.Response, what: str, url: str) -> VmrestError:
    code, message = None, ""
    try:
        body = resp.json()
        if isinstance(body, dict):
            code, message = body.get("code"), str(body.get("message") or "")
    except ValueError:
        message = resp.text[:200]
    said = f" (vmrest {resp.status_code}" + (f", code {code}" if code is not None else "") + \
        (f": {message})" if message else ")")
    status = resp.status_code
    if status == 401:
        text = f"cannot {what}: vmrest at {url} refused the credentials; check backend.user and the " \
               "password in the environment variable backend.password_env names"
    elif status == 403:
        text = f"cannot {what}: vmrest at {url} denied permission"
    elif status == 404:
        text = f"cannot {what}: not found (the VM or device is not in vmrest's library)"
    elif status == 409:
        text = f"cannot {what}: the VM is busy or locked (in use by Workstation or another operation)"
    elif status == 500:
        text = f"cannot {what}: vmrest failed; the VM may be busy or locked"
    elif status == 406:
        text = f"cannot {what}: vmrest did not accept the media type {MEDIA_TYPE}"
    else:
        text = f"cannot {what}: vmrest answered {status}"
    return VmrestError(_printable(text + said), status, code if isinstance(code, int) else None)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)


def _reason(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _is_cert_error(exc: Exception) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _seg(value: str) -> str:
    """One path segment, percent-encoded: an id or name never adds a path level."""
    return quote(str(value), safe="")


def _mac(value: object) -> str | None:
    return str(value).lower() if value else None


def _is_v4(text: object) -> bool:
    try:
        IPv4Interface(str(text))
        return True
    except ValueError:
        return False


def _nic(n: dict) -> Nic:
    return Nic(int(n["index"]), str(n["type"]), str(n.get("vmnet") or "").lower(), _mac(n.get("macAddress")))


def _vnet(n: dict) -> VnetFacts:
    kind: VnetType = _VNET_TYPES.get(str(n.get("type")), "custom")
    try:
        subnet = IPv4Network(f"{n['subnet']}/{n['mask']}", strict=False)
    except (KeyError, ValueError):
        subnet = None
    dhcp = None
    if n.get("dhcp") == "true" and kind != "bridged" and subnet is not None and subnet.prefixlen == 24:
        base = subnet.network_address
        dhcp = DhcpRange(base + 128, subnet.broadcast_address - 1, server=subnet.broadcast_address - 1)
    if kind == "bridged" or subnet is None:
        return VnetFacts(name=str(n["name"]).lower(), type=kind)
    # Workstation's fixed layout (docs/model.md): the host's adapter is N.1, the NAT device N.2
    base = subnet.network_address
    return VnetFacts(name=str(n["name"]).lower(), type=kind, subnet=subnet, host_address=base + 1,
                     gateway=base + 2 if kind == "nat" else None, dhcp=dhcp,
                     assumed=frozenset({"host_address", "gateway", "dhcp"}))
