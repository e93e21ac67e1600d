"""Ping probes: the command line to run in a guest, and the parser for what it printed.

The command is kept apart from its verdict (as netlab does): building a command and reading its
output are pure functions, so the simulated backend, SSH and the console channel all share them,
and each can be tested on recorded text alone.

Three rules shape the parsers:

* `received` counts echo replies *from the target* only. An ICMP error from a gateway
  ("Destination host unreachable") proves the target did not answer, even where Windows' own
  statistics count it as received.
* No statistics block means the probe did not run (no route, no interface, bad option): that is
  a `PingParseError`, which the caller reports as an *error*, never as *unreachable*.
* Addresses are validated with `ipaddress` before they go anywhere near a shell.

Linux (iputils) and busybox output is parsed by the maintained `jc` library; jc has no Windows
parser, so a small one lives here.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import jc

from labkit.model import OsFamily

OS_FAMILIES: tuple[OsFamily, ...] = ("linux", "busybox", "windows")


@dataclass(frozen=True, slots=True)
class PingStats:
    """What one probe run saw. rtt_avg_ms is None when no reply came back."""

    transmitted: int
    received: int
    loss_pct: float
    rtt_avg_ms: float | None
    duplicates: int = 0

    @property
    def reachable(self) -> bool:
        """True when at least one echo reply came from the target itself."""
        return self.received > 0


class PingParseError(ValueError):
    """The output holds no usable statistics: the probe itself failed, so no verdict can be drawn."""


# --- command builders ---------------------------------------------------------------------------

# Interface names (Linux) or zone indexes (Windows). ipaddress accepts anything after '%',
# including ';' and '$(', so the zone is checked here before it can reach a shell.
_SCOPE_RE = re.compile(r"[A-Za-z0-9_.-]{1,32}")


def _checked_address(address: object) -> str:
    """Return the canonical text of an IPv4/IPv6 address, or raise ValueError.

    The returned text is produced by ipaddress, not copied from the input, so nothing the caller
    passed can smuggle shell syntax into a command line.
    """
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)  # already an address object: its text is ipaddress's own
    if not isinstance(address, str):
        raise ValueError(f"address must be a string, got {type(address).__name__}")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"not an IPv4 or IPv6 address: {address!r}") from None
    scope = getattr(ip, "scope_id", None)
    if scope is not None and not _SCOPE_RE.fullmatch(scope):
        raise ValueError(f"bad IPv6 zone in address: {address!r}")
    return str(ip)


def _checked_count(count: object) -> int:
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    return count


def _checked_timeout(timeout_s: object) -> float:
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) \
            or not math.isfinite(timeout_s) or timeout_s <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout_s!r}")
    return float(timeout_s)


def ping_command(os_family: OsFamily, address: str, count: int, timeout_s: float) -> str:
    """Build the ping command line for a guest of the given family.

    linux (iputils): -W is the per-reply wait in whole seconds (at least 1) and -w a deadline of
    count*wait+1 seconds, so the probe always ends even when replies never come. Modern iputils
    picks IPv4 or IPv6 from the address. Note that with both -c and -w iputils exits 1 when fewer
    than count replies arrive, so verdicts must come from parse_ping, not the exit status.
    busybox: -W is its wait for replies in seconds. windows: -w is the per-reply wait in ms.
    """
    addr = _checked_address(address)
    count = _checked_count(count)
    timeout_s = _checked_timeout(timeout_s)
    if os_family == "linux":
        secs = max(1, math.ceil(timeout_s))
        return f"ping -n -c {count} -W {secs} -w {count * secs + 1} {addr}"
    if os_family == "busybox":
        return f"ping -c {count} -W {max(1, math.ceil(timeout_s))} {addr}"
    if os_family == "windows":
        return f"ping -n {count} -w {max(1, math.ceil(timeout_s * 1000))} {addr}"
    raise ValueError(f"unknown OS family {os_family!r}; expected one of {', '.join(OS_FAMILIES)}")


def fping_command(addresses: Sequence[str], count: int, timeout_s: float) -> str:
    """Build one fping run probing many targets at once: quiet, per-probe times (-C), no retries."""
    if isinstance(addresses, str):
        raise ValueError("addresses must be a sequence of addresses, not one string")
    addrs = [_checked_address(a) for a in addresses]
    if not addrs:
        raise ValueError("fping needs at least one address")
    count = _checked_count(count)
    ms = max(1, math.ceil(_checked_timeout(timeout_s) * 1000))
    return f"fping -q -C {count} -t {ms} -r 0 {' '.join(addrs)}"


# --- parsers ------------------------------------------------------------------------------------

def _excerpt(text: str, limit: int = 200) -> str:
    """The first meaningful lines of an output, for error messages a trainer can act on."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return "(no output)"
    shown = " | ".join(lines[:3])
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _loss(transmitted: int, received: int) -> float:
    return (transmitted - received) * 100.0 / transmitted


def parse_ping(text: str, os_family: OsFamily) -> PingStats:
    """Read the statistics of one ping run; raise PingParseError when the probe did not run."""
    if os_family in ("linux", "busybox"):
        return _parse_unix(text, os_family)
    if os_family == "windows":
        return _parse_windows(text)
    raise ValueError(f"unknown OS family {os_family!r}; expected one of {', '.join(OS_FAMILIES)}")


_UNIX_SUMMARY_RE = re.compile(r"^\s*\d+ packets transmitted, ", re.MULTILINE)


def _parse_unix(text: str, os_family: str) -> PingStats:
    """iputils and busybox (and BSD/macOS) via jc.

    Both print the kernel-matched echo-reply count as "received"; ICMP errors from gateways are
    reported separately ("+3 errors" on iputils, silently dropped by busybox), so jc's
    packets_received already means "replies from the target".
    """
    if not _UNIX_SUMMARY_RE.search(text):
        raise PingParseError(f"no ping statistics in {os_family} output: {_excerpt(text)}")
    try:
        data = jc.parse("ping", text, quiet=True)
    except Exception as exc:  # jc raises IndexError/ValueError etc. on malformed text
        raise PingParseError(f"unreadable {os_family} ping output ({exc!r}): {_excerpt(text)}") from exc
    sent = data.get("packets_transmitted") if isinstance(data, dict) else None
    received = data.get("packets_received") if isinstance(data, dict) else None
    if sent is None or received is None:
        raise PingParseError(f"no ping statistics in {os_family} output: {_excerpt(text)}")
    if sent == 0:
        raise PingParseError(f"ping sent no probe: {_excerpt(text)}")
    loss = data.get("packet_loss_percent")
    avg = data.get("round_trip_ms_avg")
    return PingStats(
        transmitted=int(sent),
        received=int(received),
        loss_pct=float(loss) if loss is not None else _loss(sent, received),
        rtt_avg_ms=float(avg) if avg is not None and received > 0 else None,
        duplicates=int(data.get("duplicates") or 0),
    )


_WIN_HEADER_RE = re.compile(r"^Pinging (?:\S+ \[(?P<bracketed>[^\]]+)\]|(?P<plain>\S+)) with \d+ bytes")
_WIN_STATS_FOR_RE = re.compile(r"^Ping statistics for (?P<addr>\S+?):?$")
_WIN_PACKETS_RE = re.compile(r"Packets: Sent = (?P<sent>\d+), Received = (?P<received>\d+), Lost = (?P<lost>\d+)")
_WIN_REPLY_RE = re.compile(r"^Reply from (?P<addr>\S+): (?P<rest>.*)$")
_WIN_TIME_RE = re.compile(r"\btime(?P<op>[=<])(?P<ms>\d+)ms\b")
_WIN_TRANSMIT_FAILED = "PING: transmit failed"


def _same_address(a: str, b: str) -> bool:
    """Compare addresses as addresses (fe80::1%12 == FE80:0::1%12), falling back to text."""
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a.lower() == b.lower()


def _parse_windows(text: str) -> PingStats:
    """English Windows ping.exe output (Windows 7/10/11, Server).

    Windows counts any "Reply from" line as received, including "Reply from <gateway>:
    Destination host unreachable." Here received counts only echo replies (lines carrying a
    time) from the target, and loss is recomputed from that. Windows prints times in whole ms
    and "time<1ms" for sub-millisecond replies, taken as 0 ms as Windows' own average does.
    """
    lines = [ln.strip() for ln in text.replace("\r", "").splitlines()]
    target: str | None = None
    sent: int | None = None
    times: list[float] = []
    transmit_failures = 0
    for line in lines:
        if m := _WIN_HEADER_RE.match(line):
            target = m.group("bracketed") or m.group("plain")
        elif m := _WIN_STATS_FOR_RE.match(line):
            target = target or m.group("addr")
        elif m := _WIN_PACKETS_RE.search(line):
            sent = int(m.group("sent"))
        elif line.startswith(_WIN_TRANSMIT_FAILED):
            transmit_failures += 1
        elif m := _WIN_REPLY_RE.match(line):
            t = _WIN_TIME_RE.search(m.group("rest"))
            if t is None:
                continue  # an ICMP error (unreachable, TTL expired): not an answer from the target
            if target is not None and not _same_address(m.group("addr"), target):
                continue
            times.append(0.0 if t.group("op") == "<" else float(t.group("ms")))
    if sent is None:
        raise PingParseError(f"no Windows ping statistics (English output expected): {_excerpt(text)}")
    if sent == 0:
        raise PingParseError(f"ping sent no probe: {_excerpt(text)}")
    if transmit_failures >= sent:
        # "General failure": no probe ever left this host, like iputils' "connect: Network is
        # unreachable". That is a local fault, not a silent target.
        raise PingParseError(f"every probe failed to transmit: {_excerpt(text)}")
    received = min(len(times), sent)
    return PingStats(
        transmitted=sent,
        received=received,
        loss_pct=_loss(sent, received),
        rtt_avg_ms=sum(times) / len(times) if times else None,
    )


_FPING_LINE_RE = re.compile(r"^(?P<addr>\S+)\s+:(?P<results>(?:\s+(?:-|\d+(?:\.\d+)?(?:e[+-]?\d+)?))+)\s*$")


def parse_fping(text: str) -> dict[str, PingStats]:
    """Read fping -C output (printed on stderr): "ADDR : 0.05 0.04 -", one time per probe, '-' lost.

    Other lines (ICMP error notices, warnings) are ignored; a target missing from the output is
    missing from the result, so the caller can report it as an error rather than unreachable.
    """
    stats: dict[str, PingStats] = {}
    for line in text.replace("\r", "").splitlines():
        m = _FPING_LINE_RE.match(line.strip())
        if m is None:
            continue
        results = m.group("results").split()
        replies = [float(r) for r in results if r != "-"]
        stats[m.group("addr")] = PingStats(
            transmitted=len(results),
            received=len(replies),
            loss_pct=_loss(len(results), len(replies)),
            rtt_avg_ms=sum(replies) / len(replies) if replies else None,
        )
    return stats


# --- many targets at once without fping -----------------------------------------------------------

PROBE_MARK = "=== labkit-probe "


def parallel_ping_command(os_family: OsFamily, addresses: Sequence[object], count: int, timeout_s: float) -> str:
    """One shell command that pings every address at once (background jobs), for guests without fping.

    Each ping's output goes to its own file and is printed after a marker line, so the outputs do
    not interleave; `split_parallel` cuts them apart again. Every command comes from ping_command,
    so every address in it has been validated by ipaddress.
    """
    if os_family == "windows":
        raise ValueError("Windows has no POSIX shell: ping its targets one by one")
    cmds = [ping_command(os_family, a, count, timeout_s) for a in addresses]
    if not cmds:
        raise ValueError("no address to ping")
    jobs = " ".join(f'( {c} > "$d/{i}" 2>&1; echo "exit=$?" >> "$d/{i}" ) &' for i, c in enumerate(cmds))
    show = " ".join(f'echo "{PROBE_MARK}{c.split()[-1]}"; cat "$d/{i}";' for i, c in enumerate(cmds))
    return f'd=$(mktemp -d) || exit 2; {jobs} wait; {show} rm -rf "$d"'


def split_parallel(text: str) -> dict[str, str]:
    """The output of parallel_ping_command, per address (each ping's own text, without its exit line)."""
    out: dict[str, str] = {}
    current = None
    for line in text.splitlines(keepends=True):
        if line.startswith(PROBE_MARK):
            current = line[len(PROBE_MARK):].strip()
            out[current] = ""
        elif current is not None and not re.fullmatch(r"exit=\d+\s*", line):
            out[current] += line
    return out
