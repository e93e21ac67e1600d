"""One authenticated vSphere session per run, TLS verified unless the inventory opts out.

The password comes from the environment variable the inventory names and is never put in a
message; a refused login, a certificate that does not verify and an unreachable server are told
apart, because the user fixes each in a different place.

pyVim's SmartConnect is not used: its API version probe opens a connection with no timeout at
all, so a frozen vCenter would hang the run before the first step. Here the probe and every
call go through the run's Link (session.py), with the inventory's connect and call limits.
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass
from xml.etree import ElementTree

from pyVmomi import vim, vmodl
from pyVmomi.SoapAdapter import SoapStubAdapter
from pyVmomi.VmomiSupport import GetServiceVersions, versionIdMap

from labkit.errors import BackendError, InputError
from labkit.model import Backend
from labkit.backends.vsphere.props import fault_message
from labkit.backends.vsphere.session import CLOSED, UNREACHABLE, GuardedStub, Link, VcenterLost, timed_https

log = logging.getLogger(__name__)

POOL_IDLE = 30  # seconds a pooled connection may sit idle before it is closed rather than reused


@dataclass(frozen=True)
class Session:
    """A logged-in session: the service instance, its content (read once: every `si.content` is
    a round trip) and the Link all its calls go through."""

    si: vim.ServiceInstance
    content: vim.ServiceInstanceContent
    link: Link
    stub: GuardedStub


def tls_context(backend: Backend) -> ssl.SSLContext:
    """Verified by default (the system's CAs, or `ca_file`); `insecure: true` is explicit and logged."""
    if backend.insecure:
        log.warning("vSphere %s: TLS certificate verification is OFF (insecure: true in the inventory)",
                    backend.host)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=str(backend.ca_file) if backend.ca_file else None)


def password(backend: Backend) -> str:
    if not backend.password_env:
        raise InputError("the vsphere backend needs password_env (the NAME of a variable holding the password)",
                         field="backend.password_env")
    value = os.environ.get(backend.password_env)
    if not value:
        raise InputError(f"environment variable {backend.password_env} is not set (it should hold the "
                         f"vSphere password)", field="backend.password_env")
    return value


def link_for(backend: Backend) -> Link:
    """The Link a run's calls to `backend` share (a vCenter lost while logging in is lost too)."""
    return Link(f"{backend.host}:{backend.port or 443}", backend.connect_timeout, backend.call_timeout)


def connect(backend: Backend, link: Link, pool: int = 16) -> Session:
    """Log in through `link`; `pool` HTTP connections are kept for threads that submit tasks at the
    same time."""
    if not backend.host or not backend.user:
        raise InputError("the vsphere backend needs host and user", field="backend")
    port = backend.port or 443
    secret = password(backend)
    ctx = tls_context(backend)
    scheme = timed_https(backend.connect_timeout, backend.call_timeout)
    try:
        with link.doing("logging in"):
            version = api_version(link, scheme, backend.host, port, ctx)
            soap = SoapStubAdapter(host=backend.host, port=port, version=version, sslContext=ctx,
                                   poolSize=max(pool, 1), connectionPoolTimeout=POOL_IDLE)
            # pyVmomi builds each connection with `scheme(host=, port=, context=)` (its stubs type the
            # attribute by the first class it may hold)
            soap.scheme = scheme  # type: ignore[assignment]
            stub = GuardedStub(soap, link)
            si = vim.ServiceInstance("ServiceInstance", stub)
            content = si.RetrieveContent()
            if content.sessionManager is None:
                raise BackendError(f"vSphere {link.where} offers no session manager: cannot log in")
            content.sessionManager.Login(backend.user, secret, None)
    except vim.fault.InvalidLogin:
        raise BackendError(f"vSphere {link.where}: login refused for user {backend.user} (check the password "
                           f"in ${backend.password_env})") from None
    except ssl.SSLCertVerificationError as exc:
        hint = f"ca_file {backend.ca_file}" if backend.ca_file else "the system's CA store"
        raise BackendError(f"vSphere {link.where}: TLS certificate not trusted ({exc.verify_message}; checked "
                           f"against {hint}; set ca_file to the server's CA)") from None
    except vmodl.MethodFault as exc:
        raise BackendError(f"vSphere {link.where}: login failed: {fault_message(exc) or type(exc).__name__}") from None
    return Session(si, content, link, stub)


def api_version(link: Link, scheme: type, host: str, port: int, ctx: ssl.SSLContext) -> str:
    """The newest vim25 API version both pyVmomi and the server speak (the server lists its own in
    /sdk/vimServiceVersions.xml), read within the Link's limits."""
    link.check()
    conn = scheme(host=host, port=port, context=ctx)
    try:
        conn.request("GET", "/sdk/vimServiceVersions.xml")
        resp = conn.getresponse()
        body = resp.read()
    except ssl.SSLCertVerificationError:
        raise
    except (*CLOSED, *UNREACHABLE) as exc:
        raise link.lose("vimServiceVersions.xml", exc) from None
    finally:
        conn.close()
    if resp.status != 200:
        raise BackendError(f"vSphere {link.where} is not a vCenter or ESXi server: /sdk/vimServiceVersions.xml "
                           f"answered HTTP {resp.status}")
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        raise BackendError(f"vSphere {link.where}: /sdk/vimServiceVersions.xml is not XML") from None
    offered = {v.text for ns in root.findall("namespace") if ns.findtext("name") == "urn:vim25"
               for v in [ns.find("version"), *ns.findall("priorVersions/version")] if v is not None}
    for version in GetServiceVersions("vim25"):
        if versionIdMap.get(version) in offered:
            return str(version)
    raise BackendError(f"vSphere {link.where} speaks vim25 {', '.join(sorted(v for v in offered if v))}, "
                       f"none of which this pyVmomi knows")


def disconnect(session: Session) -> None:
    """Log the session out; a server already gone is not an error at the end of a run, and a lost
    one is not waited for again."""
    if session.link.lost is None:
        try:
            with session.link.doing("logging out"):
                if session.content.sessionManager is not None:
                    session.content.sessionManager.Logout()
        except (VcenterLost, vmodl.MethodFault, BackendError) as exc:
            log.debug("vSphere logout failed: %s", exc)
    session.stub.DropConnections()


__all__ = ["Session", "connect", "disconnect", "link_for", "password", "tls_context"]
