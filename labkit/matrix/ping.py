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

Linux (iputils), busybox and macOS (BSD) output is parsed by the maintained `jc` library; jc has
no Windows parser, so a small one lives here. ping.exe speaks the user's language: English and
German output are read (phrases in one table, `WINDOWS_PHRASES`), and any other is refused with a
message that says so, never taken for an unreachable target.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from typing import Any

import jc

from labkit.model import OsFamily

OS_FAMILIES: tuple[OsFamily, ...] = ("linux", "busybox", "windows", "macos")


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


class CheckedAddresses(tuple[str, ...]):
    """Address texts that ipaddress has validated (its canonical text): safe on a command line.

    A matrix validates its targets once and hands every source the same list (less the source's
    own address): validating a thousand addresses for each of a thousand sources is what a big
    matrix would otherwise spend its time on.
    """

    def __new__(cls, addresses: Iterable[object]) -> CheckedAddresses:
        return super().__new__(cls, [_checked_address(a) for a in addresses])

    def without(self, drop: Collection[str]) -> CheckedAddresses:
        """The same addresses less those in `drop` (a subset of valid addresses needs no check)."""
        if not drop:
            return self
        if len(drop) <= 4:  # a source's own address or two: cut out (a C search) rather than test each one
            keep = list(self)
            for a in drop:
                while a in keep:
                    keep.remove(a)
            return tuple.__new__(CheckedAddresses, keep)
        return tuple.__new__(CheckedAddresses, [a for a in self if a not in drop])

    def batches(self, size: int) -> list[CheckedAddresses]:
        """The addresses in runs of at most `size`, in order."""
        return [tuple.__new__(CheckedAddresses, self[k:k + size]) for k in range(0, len(self), size)]


def _checked_all(addresses: Sequence[object]) -> Sequence[str]:
    if isinstance(addresses, str):
        raise ValueError("addresses must be a sequence of addresses, not one string")
    return addresses if isinstance(addresses, CheckedAddresses) else CheckedAddresses(addresses)


def _checked_count(count: object) -> int:
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    return count


def _checked_timeout(timeout_s: object) -> float:
    if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) \
            or not math.isfinite(timeout_s) or timeout_s <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout_s!r}")
    return float(timeout_s)


# A probe on a Linux or macOS guest runs in the C locale: iputils built with NLS (Fedora, RHEL)
# speaks the guest's language ("64 Bytes von ...: Zeit=0.045 ms", "1 Pakete übertragen"), which no
# parser reads, and a decimal comma would misread times. (ping.exe has no such switch: its English
# and German are both read, WINDOWS_PHRASES.)
C_LOCALE = "LC_ALL=C "


def ping_command(os_family: OsFamily, address: object, count: int, timeout_s: float) -> str:
    """Build the ping command line for a guest of the given family.

    linux (iputils): -W is the per-reply wait in whole seconds (at least 1) and -w a deadline of
    count*wait+1 seconds, so the probe always ends even when replies never come. Modern iputils
    picks IPv4 or IPv6 from the address. Note that with both -c and -w iputils exits 1 when fewer
    than count replies arrive, so verdicts must come from parse_ping, not the exit status.
    busybox: -W is its wait for replies in seconds. windows: -w is the per-reply wait in ms.
    macos (BSD ping): -W is the per-reply wait in *milliseconds* and -t the deadline in seconds
    (iputils' -w); IPv6 would need ping6, whose options differ, so it is refused.
    """
    addr = _checked_address(address)
    count = _checked_count(count)
    timeout_s = _checked_timeout(timeout_s)
    if os_family == "linux":
        secs = max(1, math.ceil(timeout_s))
        return f"{C_LOCALE}ping -n -c {count} -W {secs} -w {count * secs + 1} {addr}"
    if os_family == "busybox":
        return f"{C_LOCALE}ping -c {count} -W {max(1, math.ceil(timeout_s))} {addr}"
    if os_family == "windows":
        return f"ping -n {count} -w {max(1, math.ceil(timeout_s * 1000))} {addr}"
    if os_family == "macos":
        if ":" in addr:
            raise ValueError(f"{addr}: IPv6 from a Mac needs ping6, whose options differ; labkit probes IPv4 there")
        secs = max(1, math.ceil(timeout_s))
        return f"{C_LOCALE}ping -n -c {count} -W {max(1, math.ceil(timeout_s * 1000))} -t {count * secs + 1} {addr}"
    raise ValueError(f"unknown OS family {os_family!r}; expected one of {', '.join(OS_FAMILIES)}")


# fping sends to one target after another, 10 ms apart by default, and its timeout starts after
# the last send: 50 targets take half a second more than one. 1 ms is the least fping 4 and later
# allow an ordinary user; older ones refuse it ("too risky for mere mortals"): FPING_REFUSED.
FPING_INTERVAL_MS = 1
FPING_REFUSED = "too risky"


def fping_command(addresses: Sequence[object], count: int, timeout_s: float,
                  interval_ms: int | None = FPING_INTERVAL_MS) -> str:
    """Build one fping run probing many targets at once: quiet, per-probe times (-C), the targets
    `interval_ms` apart (None: fping's own default), no retries."""
    addrs = _checked_all(addresses)
    if not addrs:
        raise ValueError("fping needs at least one address")
    count = _checked_count(count)
    ms = max(1, math.ceil(_checked_timeout(timeout_s) * 1000))
    if interval_ms is not None and (not isinstance(interval_ms, int) or isinstance(interval_ms, bool)
                                    or not 1 <= interval_ms <= 1000):
        raise ValueError(f"interval must be 1 to 1000 ms, got {interval_ms!r}")
    spacing = f"-i {interval_ms} " if interval_ms is not None else ""
    return f"{C_LOCALE}fping -q -C {count} -t {ms} {spacing}-r 0 {' '.join(addrs)}"


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
    if os_family in ("linux", "busybox", "macos"):
        return _parse_unix(text, os_family)
    if os_family == "windows":
        return _parse_windows(text)
    raise ValueError(f"unknown OS family {os_family!r}; expected one of {', '.join(OS_FAMILIES)}")


_UNIX_SUMMARY_RE = re.compile(r"^\s*\d+ packets transmitted, ", re.MULTILINE)


def _parse_unix(text: str, os_family: str) -> PingStats:
    """iputils, busybox and BSD/macOS via jc.

    Both print the kernel-matched echo-reply count as "received"; ICMP errors from gateways are
    reported separately ("+3 errors" on iputils, silently dropped by busybox), so jc's
    packets_received already means "replies from the target".
    """
    if not _UNIX_SUMMARY_RE.search(text):
        raise PingParseError(f"no ping statistics in {os_family} output: {_excerpt(text)}")
    try:
        parsed = jc.parse("ping", text, quiet=True)
    except Exception as exc:  # jc raises IndexError/ValueError etc. on malformed text
        raise PingParseError(f"unreadable {os_family} ping output ({exc!r}): {_excerpt(text)}") from exc
    data: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
    sent = data.get("packets_transmitted")
    received = data.get("packets_received")
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


# What ping.exe prints, per language. Words with umlauts are matched loosely (\S*): decoded
# with the wrong code page, "für" arrives as "fÃ¼r" or "f?r" and must still be read.
WINDOWS_PHRASES: dict[str, dict[str, str]] = {
    "English": {
        "header": r"Pinging (?:\S+ \[(?P<bracketed>[^\]]+)\]|(?P<plain>\S+)) with \d+ bytes",
        "stats_for": r"Ping statistics for (?P<addr>\S+?):?",
        "packets": r"Packets: Sent = (?P<sent>\d+), Received = (?P<received>\d+), Lost = (?P<lost>\d+)",
        "reply": r"Reply from (?P<addr>\S+): (?P<rest>.*)",
        "time": r"time",
        "no_route": r"Destination (?:host|net) unreachable|General failure",
    },
    "German": {
        "header": r"Ping wird ausgef\S*hrt f\S*r (?:\S+ \[(?P<bracketed>[^\]]+)\]|(?P<plain>\S+)) mit \d+ Bytes",
        "stats_for": r"Ping-Statistik f\S*r (?P<addr>\S+?):?",
        "packets": r"Pakete: Gesendet = (?P<sent>\d+), Empfangen = (?P<received>\d+), Verloren = (?P<lost>\d+)",
        "reply": r"Antwort von (?P<addr>\S+): (?P<rest>.*)",
        "time": r"Zeit",
        "no_route": r"Zielhost nicht erreichbar|Zielnetz nicht erreichbar|Allgemeiner Fehler",
    },
}
LANGUAGES = " and ".join(WINDOWS_PHRASES)


def _either(key: str, whole_line: bool = True) -> re.Pattern[str]:
    """One pattern matching `key`'s phrase in any of the languages."""
    # the named groups repeat across languages: each language's get a suffix (_0, _1); _group reads them
    parts = []
    for n, phrases in enumerate(WINDOWS_PHRASES.values()):
        parts.append("(?:" + re.sub(r"\(\?P<(\w+)>", rf"(?P<\1_{n}>", phrases[key]) + ")")
    body = "|".join(parts)
    return re.compile(f"^(?:{body})$" if whole_line else body)


def _group(m: re.Match[str], name: str) -> str | None:
    """A named group of an `_either` match, whichever language matched."""
    for key, value in m.groupdict().items():
        if value is not None and key.rsplit("_", 1)[0] == name:
            return value
    return None


_WIN_HEADER_RE = _either("header", whole_line=False)
_WIN_STATS_FOR_RE = _either("stats_for")
_WIN_PACKETS_RE = _either("packets", whole_line=False)
_WIN_REPLY_RE = _either("reply")
_WIN_TIME_RE = re.compile(r"\b(?:" + "|".join(p["time"] for p in WINDOWS_PHRASES.values())
                          + r")(?P<op>[=<])(?P<ms>\d+) ?ms\b", re.IGNORECASE)
_NO_ROUTE_RE = re.compile("|".join([*(p["no_route"] for p in WINDOWS_PHRASES.values()),
                                     "Network is unreachable", "No route to host"]), re.IGNORECASE)
_WIN_TRANSMIT_FAILED = "PING:"  # "PING: transmit failed. ..." / "PING: Fehler bei der Übertragung. ..."


def no_route_line(text: str) -> str | None:
    """The line with which ping says "the kernel has no way there" (any language labkit reads):
    a real unreachable, not a probe error. None when there is none."""
    for line in text.splitlines():
        if _NO_ROUTE_RE.search(line):
            return line.strip()
    return None


def _same_address(a: str, b: str) -> bool:
    """Compare addresses as addresses (fe80::1%12 == FE80:0::1%12), falling back to text."""
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a.lower() == b.lower()


def _parse_windows(text: str) -> PingStats:
    """Windows ping.exe output (Windows 7/10/11, Server), in English or German.

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
            target = _group(m, "bracketed") or _group(m, "plain")
        elif m := _WIN_STATS_FOR_RE.match(line):
            target = target or _group(m, "addr")
        elif m := _WIN_PACKETS_RE.search(line):
            sent = int(_group(m, "sent") or 0)
        elif line.startswith(_WIN_TRANSMIT_FAILED):
            transmit_failures += 1
        elif m := _WIN_REPLY_RE.match(line):
            t = _WIN_TIME_RE.search(_group(m, "rest") or "")
            if t is None:
                continue  # an ICMP error (unreachable, TTL expired): not an answer from the target
            addr = _group(m, "addr") or ""
            if target is not None and not _same_address(addr, target):
                continue
            times.append(0.0 if t.group("op") == "<" else float(t.group("ms")))
    if sent is None:
        raise PingParseError(f"no Windows ping statistics (labkit reads ping.exe in {LANGUAGES}; "
                             f"this is another language or no ping ran): {_excerpt(text)}")
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
_MEMO_LIMIT = 200_000  # lines (or outputs) a memo keeps before it starts again: bounded memory


def _fping_line(line: str) -> tuple[str, PingStats] | tuple[()]:
    """One line of fping -C output as (address, stats), or () for any other line."""
    m = _FPING_LINE_RE.match(line.replace("\r", "").strip())
    if m is None:
        return ()
    results = m.group("results").split()
    replies = [float(r) for r in results if r != "-"]
    return m.group("addr"), PingStats(
        transmitted=len(results),
        received=len(replies),
        loss_pct=_loss(len(results), len(replies)),
        rtt_avg_ms=sum(replies) / len(replies) if replies else None,
    )


def parse_fping(text: str, memo: dict[str, tuple[str, PingStats] | tuple[()]] | None = None) -> dict[str, PingStats]:
    """Read fping -C output (printed on stderr): "ADDR : 0.05 0.04 -", one time per probe, '-' lost.

    Other lines (ICMP error notices, warnings) are ignored; a target missing from the output is
    missing from the result, so the caller can report it as an error rather than unreachable.
    The output is scanned once, line by line; `memo` (line -> what it says), shared by the caller
    across many outputs, reads each distinct line once: a thousand sources' outputs repeat lines.
    """
    if memo is None or len(memo) > _MEMO_LIMIT:
        memo = {}
    stats: dict[str, PingStats] = {}
    get = memo.get
    for line in text.split("\n"):
        hit = get(line)
        if hit is None:
            hit = memo[line] = _fping_line(line)
        if hit:
            stats[hit[0]] = hit[1]
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


# --- many targets at once on Windows (cmd.exe) ----------------------------------------------------

# Targets per command line: one ping.exe each runs at once (under a megabyte of memory each), and
# cmd.exe reads at most 8191 characters of a line (250 addresses take about 4,300). More targets
# take more lines, one after another, each about one probe deadline.
WINDOWS_BATCH = 250
_TOKEN_RE = re.compile(r"[0-9a-f]{4,32}")


def windows_parallel_command(addresses: Sequence[object], count: int, timeout_s: float, token: str) -> str:
    """One cmd.exe command line that pings every address at once with Windows' own ping.exe.

    For Windows 7 and later with nothing installed, through `cmd.exe /c` (VMware Tools, vmrun) as
    through SSH to Windows' OpenSSH server (whose default shell is cmd). In a new directory under
    %TEMP% named after `token`, `start /b` runs `ping -n COUNT -w MS ADDR` for every address at
    once, each writing to ADDR.txt. ping.exe holds its file open until it ends, and Windows renames
    no file another process holds open, so the wait loop, while any .txt is left, sleeps a second
    (`ping -n 2 127.0.0.1`) and renames what it can to ADDR.out, at most as long as the slowest
    probe can take. Then every .out is printed (`type`) and the directory removed. Each output starts
    with ping.exe's own header naming its address ("Pinging ADDR with 32 bytes of data:"), which is
    how `split_windows_outputs` tells them apart; a probe that never ended is not printed, so it
    reads as missing, never as unreachable. Only IPv4: an IPv6 address holds ':' (a stream
    separator in an NTFS name) and a zone's '%'.
    """
    addrs = _checked_all(addresses)
    if not addrs:
        raise ValueError("no address to ping")
    if len(addrs) > WINDOWS_BATCH:
        raise ValueError(f"at most {WINDOWS_BATCH} addresses per command line, got {len(addrs)}")
    for a in addrs:
        if ":" in a:
            raise ValueError(f"{a}: the parallel Windows probe takes IPv4 addresses only")
    if not _TOKEN_RE.fullmatch(token):
        raise ValueError(f"token must be 4 to 32 lowercase hex digits, got {token!r}")
    count = _checked_count(count)
    ms = max(1, math.ceil(_checked_timeout(timeout_s) * 1000))
    rounds = count * max(1, math.ceil(ms / 1000)) + 2  # ping.exe: each echo waits its timeout, or ~1 s
    d = f"labkit-ping-{token}"
    start = f'(for %a in ({" ".join(addrs)}) do @start "" /b ping -n {count} -w {ms} %a >%a.txt 2>&1 )'
    wait = f"(for /l %i in (1,1,{rounds}) do @(if exist *.txt ping -n 2 127.0.0.1 >nul & ren *.txt *.out 2>nul ))"
    return f'cd /d "%TEMP%" && md {d} && cd {d} && ({start} & {wait} & type *.out 2>nul & cd .. & rd /s /q {d} )'


# how one ping.exe output starts, in each language labkit reads (its header's first words)
_WIN_OPENINGS = [re.split(r"[\\(\[?*+{|^$.]", p["header"], maxsplit=1)[0] for p in WINDOWS_PHRASES.values()]
_WIN_STARTS = re.compile("^(?=" + "|".join(map(re.escape, _WIN_OPENINGS)) + ")", re.MULTILINE)


def split_windows_outputs(text: str) -> list[str]:
    """Several ping.exe outputs one after another, cut where each one's header starts (what comes
    before the first header is dropped). Each piece names its target in its header: `ping_target`."""
    present = [o for o in _WIN_OPENINGS if o in text]
    if len(present) == 1:  # one language: a plain search, much faster than the pattern on a long text
        opening = present[0]
        text = "\n" + text
        return [opening + piece for piece in text.split("\n" + opening)[1:]]
    return _WIN_STARTS.split(text)[1:]


def ping_target(output: str) -> str | None:
    """The address a ping.exe output's header names (None: no header labkit reads)."""
    m = _WIN_HEADER_RE.search(output)
    return None if m is None else (_group(m, "bracketed") or _group(m, "plain"))
