"""Every vSphere call of a run goes through one guard, so that a lost vCenter costs one timeout.

A busy vCenter is slow, and a gone one (its process killed, its VM frozen, the network cut) is
silent: without a guard each remaining step would wait out a full timeout on its own, and a run
of a dozen steps would hang for many minutes. So the run's calls share a `Link`: the first call
that finds vCenter unreachable (refused, reset, or no answer within `backend.call_timeout`) marks
it lost, and from then on every call fails at once, before anything is sent, with the one error
that says since when and during what. Faults vCenter answers with (a refused reconfigure) are not
a loss: they are that call's answer.

The guard is a pyVmomi stub adapter wrapped around the SOAP one (as pyVmomi's own
SessionOrientedStub is), so every managed object the session hands out calls through it. The
HTTPS connections it opens apply `backend.connect_timeout` to TCP and TLS, and `call_timeout` to
each answer.
"""

from __future__ import annotations

import http.client
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from xml.parsers.expat import ExpatError

from pyVmomi import vim
from pyVmomi.SoapAdapter import SoapStubAdapter, StubAdapterBase

from labkit.errors import BackendError


class VcenterLost(BackendError):
    """vCenter stopped answering during this run: no later call is sent."""


class ConnectTimeout(TimeoutError):
    """No TCP connection or TLS handshake within connect_timeout."""


def timed_https(connect_timeout: float, call_timeout: float) -> type[http.client.HTTPSConnection]:
    """An HTTPS connection class that connects within `connect_timeout` and then waits at most
    `call_timeout` for each read (pyVmomi's own timeout is one value for both)."""

    class TimedHTTPSConnection(http.client.HTTPSConnection):
        def connect(self) -> None:
            self.timeout = connect_timeout
            try:
                super().connect()
            except TimeoutError as exc:
                raise ConnectTimeout(f"no TCP connection and TLS handshake within {connect_timeout:g} s "
                                     f"(backend.connect_timeout)") from exc
            assert self.sock is not None  # connect() made it
            self.sock.settimeout(call_timeout)
            self.timeout = call_timeout

    return TimedHTTPSConnection


# A connection that was open and is now closed: on a pooled connection the server may simply have
# dropped it while idle, so the call is tried once more on a new one before vCenter is called lost.
CLOSED = (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected, ssl.SSLEOFError,
          ssl.SSLZeroReturnError)
# Anything else at the transport level means vCenter is not answering.
UNREACHABLE = (OSError, http.client.IncompleteRead, http.client.BadStatusLine, ExpatError)


def why(exc: BaseException, call_timeout: float) -> str:
    """What went wrong, in words (never a traceback)."""
    if isinstance(exc, ConnectTimeout):
        return str(exc)
    if isinstance(exc, TimeoutError):
        return f"no answer within {call_timeout:g} s (backend.call_timeout)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, CLOSED):
        return "the connection was closed by the other end"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed: {exc.reason or exc}"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    if isinstance(exc, ExpatError):
        return "its answer was cut off or is not SOAP"
    if isinstance(exc, vim.fault.NotAuthenticated):
        return "vCenter no longer knows labkit's session (it was restarted, or the session ended)"
    return "its answer was cut off"


class Link:
    """What every call of one run shares: where vCenter is, its limits, and whether it is lost."""

    def __init__(self, where: str, connect_timeout: float, call_timeout: float) -> None:
        self.where = where
        self.connect_timeout = connect_timeout
        self.call_timeout = call_timeout
        self.lost: str | None = None  # the message, once lost
        self._lock = threading.Lock()
        self._local = threading.local()

    @contextmanager
    def doing(self, what: str) -> Iterator[None]:
        """Name what the calls in this block are for ("reconfiguring web"), for the loss message."""
        before = getattr(self._local, "what", None)
        self._local.what = what
        try:
            yield
        finally:
            self._local.what = before

    def check(self) -> None:
        """Fail at once when vCenter is known lost."""
        if self.lost is not None:
            raise VcenterLost(self.lost)

    def lose(self, method: str, exc: BaseException, since: float | None = None) -> VcenterLost:
        """Mark vCenter lost (the first loss is the one reported) and return the error to raise;
        `since`: when the call that found it out was sent (default: now)."""
        return self.lose_because(method, why(exc, self.call_timeout), since)

    def lose_because(self, method: str, reason: str, since: float | None = None) -> VcenterLost:
        with self._lock:
            if self.lost is None:
                what = getattr(self._local, "what", None) or f"calling {method}"
                at = time.strftime("%H:%M:%S", time.localtime(since))
                self.lost = f"vCenter at {self.where} is unreachable since {what} ({at}, {method}): {reason}"
            return VcenterLost(self.lost)


class GuardedStub(StubAdapterBase):
    """pyVmomi's SOAP stub behind the Link: checked before each call, marking the loss after one."""

    def __init__(self, soap: SoapStubAdapter, link: Link) -> None:
        StubAdapterBase.__init__(self, version=soap.version)
        self.soap = soap
        self.link = link

    def InvokeMethod(self, mo: Any, info: Any, args: Any) -> Any:  # noqa: N802 - pyVmomi's name
        method = str(getattr(info, "wsdlName", None) or getattr(info, "name", "?"))
        for attempt in (1, 2):
            self.link.check()
            sent = time.time()
            try:
                # With an outer stub, pyVmomi hands back (status, object) and binds the managed
                # objects it returns to this guard.
                status, obj = self.soap.InvokeMethod(mo, info, args, self)
                break
            except ssl.SSLCertVerificationError:
                raise  # not a loss: the certificate is wrong, connect() says how to fix it
            except CLOSED as exc:
                if attempt == 2:
                    raise self.link.lose(method, exc, sent) from None
            except UNREACHABLE as exc:
                raise self.link.lose(method, exc, sent) from None
            except http.client.HTTPException as exc:  # an HTTP status other than 200 or 500
                raise BackendError(f"vCenter at {self.link.where} answered {method} with HTTP {exc}") from None
        if status == 200:
            return obj
        if isinstance(obj, vim.fault.NotAuthenticated):
            raise self.link.lose(method, obj)
        if isinstance(obj, BaseException):
            raise obj
        raise BackendError(f"vCenter at {self.link.where} answered {method} with a fault labkit cannot read")

    def DropConnections(self) -> None:  # noqa: N802 - pyVmomi's name
        self.soap.DropConnections()
