"""What a simulated guest's ping prints.

The simulated backend answers the probe commands of labkit.matrix.ping with the text that OS's
real ping would print, byte for byte where it matters, so the real parsers (jc for iputils and
busybox, labkit's own for Windows and fping) run in simulation too. A simulation that returned
ready-made numbers would let parser bugs hide until the first real lab.

`rtts` is one entry per probe sent: a round-trip time in ms, or None for a probe that got no
echo reply. `unreachable_from` names the gateway (or the pinging host itself, for a failed ARP)
that answered the lost probes with "Destination Host Unreachable".

Formats follow iputils (Linux), busybox (Alpine and other small images), English Windows 7/10
ping.exe and fping 4/5. All functions are pure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from labkit.matrix.ping import OS_FAMILIES, OsFamily

TTL = 64


def _replies(rtts: Sequence[float | None]) -> list[float]:
    replies = [r for r in rtts if r is not None]
    if any(not math.isfinite(r) or r < 0 for r in replies):
        raise ValueError(f"round-trip times must be finite and non-negative: {list(rtts)!r}")
    return replies


def _usec(ms: float) -> int:
    """Ping programs measure in whole microseconds."""
    return round(ms * 1000)


def _fixed3(usec: int) -> str:
    """The "%ld.%03ld" both iputils and busybox use for summary times."""
    return f"{usec // 1000}.{usec % 1000:03d}"


def _iputils_time(usec: int) -> str:
    """iputils shortens per-reply times as they grow: 0.586, 4.17, 12.7, 382."""
    if usec >= 100_000 - 50:
        return str((usec + 500) // 1000)
    if usec >= 10_000 - 5:
        return f"{(usec + 50) // 1000}.{((usec + 50) % 1000) // 100}"
    if usec >= 1000:
        return f"{(usec + 5) // 1000}.{((usec + 5) % 1000) // 10:02d}"
    return _fixed3(usec)


def render_ping(os_family: OsFamily, address: str, rtts: Sequence[float | None], *,
                unreachable_from: str | None = None, deadline: bool = False) -> tuple[int, str, str]:
    """Return (exit_status, stdout, stderr) as that OS's ping would for these probe outcomes.

    deadline=True models iputils run with both -c and -w (as ping_command builds it): iputils
    then exits 1 whenever fewer replies than probes came back, not only when none did.
    """
    if not rtts:
        raise ValueError("rtts must hold at least one probe")
    _replies(rtts)
    if os_family == "linux":
        return _render_iputils(address, rtts, unreachable_from, deadline)
    if os_family == "busybox":
        return _render_busybox(address, rtts)
    if os_family == "windows":
        return _render_windows(address, rtts, unreachable_from)
    raise ValueError(f"unknown OS family {os_family!r}; expected one of {', '.join(OS_FAMILIES)}")


def _render_iputils(address: str, rtts: Sequence[float | None], gateway: str | None,
                    deadline: bool) -> tuple[int, str, str]:
    v6 = ":" in address
    out = [f"PING {address}({address}) 56 data bytes" if v6 else f"PING {address} ({address}) 56(84) bytes of data."]
    errors = 0
    for seq, rtt in enumerate(rtts, start=1):
        if rtt is not None:
            out.append(f"64 bytes from {address}: icmp_seq={seq} ttl={TTL} time={_iputils_time(_usec(rtt))} ms")
        elif gateway is not None:
            errors += 1
            out.append(f"From {gateway} icmp_seq={seq} Destination Host Unreachable")
    sent, replies = len(rtts), _replies(rtts)
    received = len(replies)
    summary = f"{sent} packets transmitted, {received} received"
    if errors:
        summary += f", +{errors} errors"
    summary += f", {(sent - received) * 100 / sent:g}% packet loss, time {(sent - 1) * 1001}ms"
    out += ["", f"--- {address} ping statistics ---", summary]
    if replies:
        us = [_usec(r) for r in replies]
        avg = sum(us) // len(us)
        mdev = math.isqrt(max(0, sum(u * u for u in us) // len(us) - avg * avg))
        out.append(f"rtt min/avg/max/mdev = {_fixed3(min(us))}/{_fixed3(avg)}/{_fixed3(max(us))}/{_fixed3(mdev)} ms")
    status = 1 if received == 0 or (deadline and received < sent) else 0
    return status, "\n".join(out) + "\n", ""


def _render_busybox(address: str, rtts: Sequence[float | None]) -> tuple[int, str, str]:
    """busybox ping prints nothing for a lost probe, and drops ICMP errors (their id is not its own)."""
    out = [f"PING {address} ({address}): 56 data bytes"]
    for seq, rtt in enumerate(rtts):
        if rtt is not None:
            out.append(f"64 bytes from {address}: seq={seq} ttl={TTL} time={_fixed3(_usec(rtt))} ms")
    sent, replies = len(rtts), _replies(rtts)
    received = len(replies)
    out += ["", f"--- {address} ping statistics ---",
            f"{sent} packets transmitted, {received} packets received, {(sent - received) * 100 // sent}% packet loss"]
    if replies:
        us = [_usec(r) for r in replies]
        out.append(f"round-trip min/avg/max = {_fixed3(min(us))}/{_fixed3(sum(us) // len(us))}/{_fixed3(max(us))} ms")
    return (0 if received else 1), "\n".join(out) + "\n", ""


def _render_windows(address: str, rtts: Sequence[float | None], gateway: str | None) -> tuple[int, str, str]:
    """English ping.exe, CRLF line ends. Unreachable replies count as received, as Windows counts them."""
    v6 = ":" in address
    out = ["", f"Pinging {address} with 32 bytes of data:"]
    received = 0
    ms: list[int] = []
    for rtt in rtts:
        if rtt is not None:
            t = int(rtt)
            ms.append(t)
            time = "time<1ms" if t < 1 else f"time={t}ms"
            out.append(f"Reply from {address}: {time}" if v6 else f"Reply from {address}: bytes=32 {time} TTL={TTL}")
            received += 1
        elif gateway is not None:
            out.append(f"Reply from {gateway}: Destination host unreachable.")
            received += 1
        else:
            out.append("Request timed out.")
    sent = len(rtts)
    lost = sent - received
    out += ["", f"Ping statistics for {address}:",
            f"    Packets: Sent = {sent}, Received = {received}, Lost = {lost} ({lost * 100 // sent}% loss),"]
    if ms:
        out += ["Approximate round trip times in milli-seconds:",
                f"    Minimum = {min(ms)}ms, Maximum = {max(ms)}ms, Average = {sum(ms) // len(ms)}ms"]
    return (0 if received else 1), "\r\n".join(out) + "\r\n", ""


def render_ping_error(os_family: OsFamily, message: str) -> tuple[int, str, str]:
    """A ping that failed before probing, e.g. ("linux", "connect: Network is unreachable").

    message is the text after "ping: " for linux/busybox (both print it on stderr; iputils exits
    2, busybox 1) and the whole line for Windows (printed on stdout, exit 1).
    """
    if os_family == "linux":
        return 2, "", f"ping: {message}\n"
    if os_family == "busybox":
        return 1, "", f"ping: {message}\n"
    if os_family == "windows":
        return 1, f"{message}\r\n", ""
    raise ValueError(f"unknown OS family {os_family!r}; expected one of {', '.join(OS_FAMILIES)}")


def _fping_time(ms: float) -> str:
    """fping prints about three significant digits: 0.045, 1.23, 12.3, 123."""
    if ms < 1:
        return f"{ms:.3f}"
    if ms < 10:
        return f"{ms:.2f}"
    if ms < 100:
        return f"{ms:.1f}"
    return f"{ms:.0f}"


def fping_line(address: str, rtts: Sequence[float | None], width: int) -> str:
    """One target's line of fping -q -C N (without its newline), the name padded to `width`."""
    return f"{address:<{width}} : " + " ".join("-" if r is None else _fping_time(r) for r in rtts)


def render_fping(results: Mapping[str, Sequence[float | None]]) -> tuple[int, str, str]:
    """fping -q -C N: one line per target on stderr, names padded to one width, '-' for a lost probe.

    Exit 0 when every target answered at least once, 1 when some did not.
    """
    if not results:
        raise ValueError("fping needs at least one target")
    if any(not rtts for rtts in results.values()):
        raise ValueError("every fping target needs at least one probe")
    width = max(len(a) for a in results)
    lines = [fping_line(addr, rtts, width) for addr, rtts in results.items()]
    status = 0 if all(_replies(rtts) for rtts in results.values()) else 1
    return status, "", "\n".join(lines) + "\n"


# --- how long a probe takes ---------------------------------------------------------------------------

def ping_seconds(rtts: Sequence[float | None], wait_s: float, deadline_s: float | None = None) -> float:
    """How long one ping run takes: probes one second apart; a lost probe waits out its reply time
    (`wait_s`: Windows' -w, iputils' and busybox's -W), a run never past its deadline (iputils' -w)."""
    took = 0.0
    last = len(rtts) - 1
    for n, rtt in enumerate(rtts):
        if rtt is None:
            took += max(wait_s, 1.0) if n < last else wait_s
        else:
            took += 1.0 if n < last else rtt / 1000
    return min(took, deadline_s) if deadline_s is not None else took


def fping_seconds(count: int, targets: int, timeout_s: float, lost: bool, slowest_ms: float,
                  gap_s: float = 0.01) -> float:
    """How long fping -C COUNT runs over `targets` targets: a round per second, the targets `gap_s`
    apart within it (fping's -i, 10 ms by default), and the last round waits out its timeout when
    a reply is missing (else the slowest reply)."""
    if targets == 0:
        return 0.0
    return (count - 1) * 1.0 + (targets - 1) * gap_s + (timeout_s if lost else slowest_ms / 1000)


# --- iputils in German ------------------------------------------------------------------------------

# iputils built with NLS (Fedora, RHEL) speaks the guest's locale: its German catalogue (po/de.po)
# turns these phrases, and its %g packet loss takes a decimal comma; the rtt line is not translated.
_IPUTILS_DE = ((" bytes of data.", " Bytes an Daten."), (" data bytes", " Datenbytes"), (" bytes from ", " Bytes von "),
               (" time=", " Zeit="), ("Destination Host Unreachable", "Zielhost nicht erreichbar"),
               (" ping statistics ---", " ping-Statistik ---"), (" packets transmitted, ", " Pakete übertragen, "),
               (" received", " empfangen"), (" errors,", " Fehler,"), ("% packet loss, time ", "% Paketverlust, Zeit "))


def in_german(iputils: str) -> str:
    """What iputils prints in a German locale (LANG=de_DE.UTF-8, LC_ALL unset) for `iputils`, the
    same run's output in the C locale."""
    out = []
    for line in iputils.split("\n"):
        if line.startswith("From "):
            line = "Von " + line[5:]
        if "% packet loss" in line:
            loss = re.search(r"([0-9.]+)% packet loss", line)
            if loss:
                line = line.replace(loss.group(0), loss.group(1).replace(".", ",") + "% packet loss")
        for english, german in _IPUTILS_DE:
            line = line.replace(english, german)
        out.append(line)
    return "\n".join(out)
