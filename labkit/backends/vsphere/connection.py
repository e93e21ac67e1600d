"""One authenticated vSphere session per run, TLS verified unless the inventory opts out.

The password comes from the environment variable the inventory names and is never put in a
message; a refused login, a certificate that does not verify and an unreachable server are told
apart, because the user fixes each in a different place.
"""

from __future__ import annotations

import logging
import os
import ssl

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

from labkit.errors import BackendError, InputError
from labkit.model import Backend
from labkit.backends.vsphere.props import fault_message

log = logging.getLogger(__name__)


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


def connect(backend: Backend, pool: int = 16) -> vim.ServiceInstance:
    """Log in; `pool` HTTP connections are kept for threads that submit tasks at the same time."""
    if not backend.host or not backend.user:
        raise InputError("the vsphere backend needs host and user", field="backend")
    port = backend.port or 443
    where = f"vSphere {backend.host}:{port}"
    secret = password(backend)
    try:
        si = SmartConnect(host=backend.host, port=port, user=backend.user, pwd=secret,
                          sslContext=tls_context(backend), connectionPoolTimeout=60,
                          httpConnectionTimeout=30)
    except vim.fault.InvalidLogin:
        raise BackendError(f"{where}: login refused for user {backend.user} (check the password in "
                           f"${backend.password_env})") from None
    except ssl.SSLCertVerificationError as exc:
        hint = f"ca_file {backend.ca_file}" if backend.ca_file else "the system's CA store"
        raise BackendError(f"{where}: TLS certificate not trusted ({exc.verify_message}; checked against "
                           f"{hint}; set ca_file to the server's CA)") from None
    except ssl.SSLError as exc:
        raise BackendError(f"{where}: TLS failed: {exc.reason or exc}") from None
    except OSError as exc:
        raise BackendError(f"{where}: cannot connect: {exc.strerror or exc}") from None
    except vim.fault.VimFault as exc:
        raise BackendError(f"{where}: login failed: {fault_message(exc)}") from None
    si._stub.poolSize = max(pool, 1)  # pyvmomi closes connections beyond the pool after each call
    return si


def disconnect(si: vim.ServiceInstance) -> None:
    """Log the session out; a server already gone is not an error at the end of a run."""
    try:
        Disconnect(si)
    except Exception as exc:  # noqa: BLE001 - logout is best effort, the run's result stands
        log.debug("vSphere logout failed: %s", exc)
