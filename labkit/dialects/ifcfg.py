r"""RHEL/CentOS `/etc/sysconfig/network-scripts/ifcfg-*`: parse, edit, render. Pure: text in, text out.

Two readers: bash sources the file (initscripts, the RHEL 5-7 network service) and NetworkManager's
ifcfg-rh plugin reads it line by line (shvar.c). labkit edits it, then restarts the network over the
link it changed, so what it writes must mean the same to both, and a file whose meaning it cannot pin
down is refused with GuestConfigError `name:line: KEY: reason`, never guessed at.

Reading follows NM's svUnescape. `[blanks]NAME=...` is an assignment whose value is one shell word of
bare characters, `\x` escapes, '...', "..." (backslash escapes only `\ $ " \``, else it stays) and
$'...' (ANSI-C; octal/hex bytes decode as UTF-8), then optional blanks, one `;`, a `#` comment. As in
NM, a bare `$`, backquote or leading `~` is literal (NM's writer tests hold `UUID=${UUID}`) though bash
would expand it: labkit's own keys then fail validation, and the others are never rewritten. `$` or a
backquote inside "..." is refused, as NM does; an old NM writer's `"it\'s"` reads as NM reads it.
Blank lines, comments and other lines are kept verbatim and ignored, as NM does.
Departure from NM, on purpose: NM takes a value it cannot unescape (open quote, trailing backslash,
`a b`, `a|b`, an escape giving NUL) as "" and reads the next lines as assignments, but bash joins the
lines of an open quote or runs the rest as a command. The readers disagree, so `IfcfgFile.parse`
raises at that line; so it does for any other line that leaves a quote open.

Writing (`quote`: NM's svEscape with an allow-list): bare when every character is in [A-Za-z0-9] or
`-_.:/@+,%=` (also the empty value: NM writes `KEY=`); else "..." escaping `\ $ " \``; else, for a
control character (< 0x20, 0x7f-0x9f, U+2028/9, an undecodable byte), $'...' with 3-digit octal
escapes of the UTF-8 bytes, which RHEL 6's bash 4.1 reads ($'\u' came in bash 4.2). NUL is refused.

apply_config, as a RHEL user expects it (the tutorial's CentOS 6.5 switch to DHCP):
- it touches only BOOTPROTO, ONBOOT, IPADDR, PREFIX/NETMASK, GATEWAY and DNSn; HWADDR, UUID,
  NM_CONTROLLED, PEERDNS, TYPE, DEVICE, comments and the rest stay byte-identical. A key already
  meaning the wanted value (ONBOOT=YES, BOOTPROTO=bootp for dhcp or none for static) is not rewritten,
  so applying a file's own configuration changes nothing;
- dhcp: BOOTPROTO=dhcp. IPADDR, NETMASK/PREFIX, GATEWAY stay (the network service ignores them under
  dhcp; switching back is one edit). DNSn stay when cfg.dns is empty, else DNS1..DNSn are set and
  surplus DNSk removed. RHEL's ifup-post applies DNSn under dhcp too (unless PEERDNS=no), which is
  why read_config reports them in both modes;
- static: BOOTPROTO=static (`none` kept), IPADDR set, netmask style kept (NETMASK if the file has it,
  PREFIX if it has PREFIX or neither, both when both), GATEWAY set or removed for None, DNS1..DNSn
  exactly (empty cfg.dns removes them: a static configuration says it all). The primary address is
  IPADDR, else the lowest IPADDRn, with its PREFIXn/NETMASKn/GATEWAYn; other IPADDRn are left alone;
- DNSn holding an IPv6 address belong to IPv6 (NM reads them so): read_config skips them,
  apply_config keeps them, renumbered after the IPv4 servers;
- ONBOOT=yes/no; only yes/no (any case) are read, the values NM and initscripts agree on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Address

from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig

_BLANK = " \t\n\v\f\r"  # what NM (g_ascii_isspace) treats as a blank
_ENDS_WORD = _BLANK + ";|&()<>"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ASSIGN = re.compile(r"[ \t\v\f\r]*([A-Za-z_][A-Za-z0-9_]*)=")
_TAIL = re.compile(r"[ \t\v\f\r]*(?:;[ \t\v\f\r]*)?(?:#.*)?")
_OLD_NM = re.compile(r'"(?:[^"\\\'$`~]|\\["\\\'$`~])*"')  # a whole value as an old NM escaped it
_OCT, _HEX = re.compile("[0-7]{1,3}"), re.compile("[0-9A-Fa-f]+")
_ANSI_IN = {"a": 7, "b": 8, "e": 27, "E": 27, "f": 12, "n": 10, "r": 13, "t": 9, "v": 11,
            "?": 63, '"': 34, "\\": 92, "'": 39}
_ANSI_OUT = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
             "\v": "\\v", "\\": "\\\\", "'": "\\'"}
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.:/@+,%=")
_DNS = re.compile(r"DNS([1-9][0-9]*)")


def _enc(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise GuestConfigError("holds a lone surrogate, which is not text") from None


def _dquoted(raw: str, i: int, out: bytearray, expand_ok: bool) -> int:
    start = i
    while True:
        if i >= len(raw):
            raise GuestConfigError("unterminated double quote")
        c = raw[i]
        if c == '"':
            return i + 1
        if c in "$`" and not expand_ok:
            raise GuestConfigError(f"unescaped {c!r} inside double quotes (expansion is not supported)")
        if c == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            old_nm = nxt in "'~" and start == 1 and _OLD_NM.fullmatch(raw) is not None
            if nxt not in '$`"\\' and not old_nm:
                out += b"\\"
            c, i = nxt, i + 1
        out += _enc(c)
        i += 1


def _ansi_c(raw: str, i: int, out: bytearray) -> int:
    while True:
        if i >= len(raw) or (raw[i] == "\\" and i + 1 >= len(raw)):
            raise GuestConfigError("unterminated $'...' quote")
        c = raw[i]
        if c == "'":
            return i + 1
        if c != "\\":
            out += _enc(c)
            i += 1
            continue
        e, i = raw[i + 1], i + 2
        width = {"x": 2, "u": 4, "U": 8}.get(e, 0)
        if e in _ANSI_IN:
            piece = bytes([_ANSI_IN[e]])
        elif e in "01234567" and (m := _OCT.match(raw, i - 1)):  # always matches: raw[i - 1] is e
            i, piece = m.end(), bytes([int(m.group(), 8) & 0xFF])
        elif width and (m := _HEX.match(raw, i, min(len(raw), i + width))):
            i, code = m.end(), int(m.group(), 16)
            if e != "x" and (code > 0x10FFFF or 0xD800 <= code <= 0xDFFF):
                raise GuestConfigError(f"\\{e}{m.group()} is not a Unicode character")
            piece = bytes([code]) if e == "x" else chr(code).encode()
        else:  # an unknown escape, or \x without digits, is kept as written, as NM does
            piece = _enc("\\" + e)
        if piece == b"\0":
            raise GuestConfigError("an escape gives a NUL character")
        out += piece


def _word(raw: str, i: int, expand_ok: bool = False) -> tuple[bytearray, int]:
    """Read one shell word of raw from i: its bytes, and where it ends (a blank, ';', metachar, end)."""
    out = bytearray()
    while i < len(raw) and raw[i] not in _ENDS_WORD:
        c = raw[i]
        if c == "\\":
            if i + 1 == len(raw):
                raise GuestConfigError("backslash at end of line (line continuation is not supported)")
            out += _enc(raw[i + 1])
            i += 2
        elif c == "'":
            j = raw.find("'", i + 1)
            if j < 0:
                raise GuestConfigError("unterminated single quote")
            out += _enc(raw[i + 1:j])
            i = j + 1
        elif c == '"':
            i = _dquoted(raw, i + 1, out, expand_ok)
        elif raw.startswith("$'", i):
            i = _ansi_c(raw, i + 2, out)
        else:
            out += _enc(c)
            i += 1
    return out, i


def _value(raw: str) -> tuple[str, int]:
    """Unescape the text after `KEY=`: the value, and where its word ends (the rest is kept on edit)."""
    if "\0" in raw:
        raise GuestConfigError("holds a NUL character")
    out, end = _word(raw, 0)
    if end < len(raw) and raw[end] in "|&()<>":
        raise GuestConfigError(f"unquoted shell metacharacter {raw[end]!r}")
    if not _TAIL.fullmatch(raw, end):
        raise GuestConfigError("text after the value that bash would run as a command")
    return out.decode("utf-8", "surrogateescape"), end


def _check_other(line: str) -> None:
    """A line that is no assignment is ignored, but it must not leave a quote open for the next line."""
    i = 0
    while i < len(line) and line[i] != "#":
        i = i + 1 if line[i] in _ENDS_WORD else _word(line, i, expand_ok=True)[1]


def unquote(raw: str) -> str:
    """The value bash and NM both read from `raw`, the text after `KEY=`.

    GuestConfigError when they would not agree (see the module docstring)."""
    return _value(raw)[0]


def _control(c: str) -> bool:
    o = ord(c)
    return o < 0x20 or 0x7F <= o <= 0x9F or o in (0x2028, 0x2029) or 0xD800 <= o <= 0xDFFF


def _ansi_char(c: str) -> str:
    if c in _ANSI_OUT:
        return _ANSI_OUT[c]
    return "".join(f"\\{b:03o}" for b in _enc(c)) if _control(c) else c


def quote(value: str) -> str:
    """The shortest of bare, "..." or $'...' that gives back exactly `value`, and only it, to bash and NM."""
    if "\0" in value:
        raise GuestConfigError("a NUL character cannot be written to an ifcfg file")
    if _enc(value).decode("utf-8", "surrogateescape") != value:  # "\udcc3\udca9" would come back as "é"
        raise GuestConfigError("holds surrogate escapes of valid UTF-8: no file decodes to that")
    if all(c in _SAFE for c in value):
        return value
    if any(_control(c) for c in value):
        return "$'" + "".join(_ansi_char(c) for c in value) + "'"
    return '"' + "".join("\\" + c if c in '\\$"`' else c for c in value) + '"'


@dataclass(slots=True, eq=False)
class _Line:
    text: str
    key: str | None = None
    value: str | None = None
    start: int = 0  # text[start:end] is the raw value; what follows (blanks, ';', comment) is kept on edit
    end: int = 0


class IfcfgFile:
    """An ifcfg file as its lines; only the value part of edited lines ever changes."""

    def __init__(self, lines: list[_Line], name: str) -> None:
        self._lines = lines
        self.name = name

    @classmethod
    def parse(cls, text: str, name: str = "ifcfg") -> IfcfgFile:
        lines = []
        for number, line in enumerate(text.split("\n"), 1):
            m = _ASSIGN.match(line)
            try:
                if m is None:
                    _check_other(line)
                    lines.append(_Line(line))
                    continue
                value, end = _value(line[m.end():])
            except GuestConfigError as e:
                raise GuestConfigError(f"{name}:{number}: {m.group(1) + ': ' if m else ''}{e}") from None
            lines.append(_Line(line, m.group(1), value, m.end(), m.end() + end))
        return cls(lines, name)

    def _last(self, key: str) -> int | None:
        return next((n for n in range(len(self._lines) - 1, -1, -1) if self._lines[n].key == key), None)

    def where(self, key: str) -> str:
        """`name:line: KEY` of the assignment that counts, for error messages."""
        n = self._last(key)
        return f"{self.name}: {key}" if n is None else f"{self.name}:{n + 1}: {key}"

    def get(self, key: str) -> str | None:
        n = self._last(key)
        return None if n is None else self._lines[n].value

    def set(self, key: str, value: str) -> None:
        if not _NAME.fullmatch(key):
            raise GuestConfigError(f"{self.name}: {key!r} is not a valid ifcfg key")
        try:
            raw = quote(value)
        except GuestConfigError as e:
            raise GuestConfigError(f"{self.name}: {key}: {e}") from None
        n = self._last(key)
        if n is None:  # appended before the final newline, adding one if the file lacked it
            at = len(self._lines) - (bool(self._lines) and self._lines[-1].text == "")
            self._lines[at:] = [_Line(f"{key}={raw}", key, value, len(key) + 1, len(key) + 1 + len(raw)),
                                _Line("")]
        elif (line := self._lines[n]).value != value:
            line.text = line.text[:line.start] + raw + line.text[line.end:]
            line.value, line.end = value, line.start + len(raw)

    def unset(self, key: str) -> None:
        self._lines = [line for line in self._lines if line.key != key]

    def keys(self) -> list[str]:
        return list(dict.fromkeys(line.key for line in self._lines if line.key))

    def render(self) -> str:
        return "\n".join(line.text for line in self._lines)


def _address(f: IfcfgFile, key: str) -> IPv4Address:
    try:
        return IPv4Address(f.get(key))
    except ValueError:
        raise GuestConfigError(f"{f.where(key)}: {f.get(key)!r} is not an IPv4 address") from None


def _prefix(f: IfcfgFile, suffix: str) -> int:
    if raw := f.get("PREFIX" + suffix):
        if not re.fullmatch("[0-9]{1,2}", raw) or int(raw) > 32:
            raise GuestConfigError(f"{f.where('PREFIX' + suffix)}: {raw!r} is not a prefix length (0-32)")
        return int(raw)
    if f.get("NETMASK" + suffix):
        hosts = ~int(_address(f, "NETMASK" + suffix)) & 0xFFFFFFFF
        if hosts & (hosts + 1):
            raise GuestConfigError(f"{f.where('NETMASK' + suffix)}: {f.get('NETMASK' + suffix)!r} "
                                   "is not a contiguous netmask")
        return 32 - hosts.bit_length()
    raise GuestConfigError(f"{f.where('IPADDR' + suffix)}: neither PREFIX{suffix} nor NETMASK{suffix} "
                           "is set (labkit does not guess a classful netmask)")


def _primary(f: IfcfgFile) -> str | None:
    """The suffix of the address that counts: IPADDR, else the lowest-numbered IPADDRn."""
    found = [k[6:] for k in f.keys() if re.fullmatch("IPADDR[0-9]*", k) and f.get(k)]
    return min(found, key=lambda s: (s != "", int(s or 0), s), default=None)


def _onboot(f: IfcfgFile) -> bool | None:
    """yes/no in any case, the two values NM and every initscripts version agree on; unset means yes."""
    return {"yes": True, "no": False}.get((f.get("ONBOOT") or "yes").lower())


def _dns_keys(f: IfcfgFile) -> list[str]:
    return sorted((k for k in f.keys() if _DNS.fullmatch(k)), key=lambda k: int(k[3:]))


def _ipv6(value: str | None) -> bool:
    try:
        return bool(value) and IPv6Address(value) is not None
    except ValueError:
        return False


def read_config(f: IfcfgFile) -> InterfaceConfig:
    """What the file configures, validated; GuestConfigError names the key and line of a bad value."""
    onboot = _onboot(f)
    if onboot is None:
        raise GuestConfigError(f"{f.where('ONBOOT')}: {f.get('ONBOOT')!r} is neither yes nor no")
    dns = tuple(_address(f, k) for k in _dns_keys(f) if f.get(k) and not _ipv6(f.get(k)))
    proto = f.get("BOOTPROTO") or "none"
    if proto.lower() in ("dhcp", "bootp") and proto != proto.lower():
        raise GuestConfigError(f"{f.where('BOOTPROTO')}: {proto!r} is dhcp to NetworkManager but static "
                               "to the network service, which compares case-sensitively")
    proto = proto.lower()
    if proto in ("dhcp", "bootp"):
        return InterfaceConfig("dhcp", dns=dns, onboot=onboot)
    if proto not in ("static", "none"):
        raise GuestConfigError(f"{f.where('BOOTPROTO')}: {proto!r} is not supported "
                               "(dhcp, bootp, static, none)")
    suffix = _primary(f)
    if suffix is None:
        raise GuestConfigError(f"{f.where('BOOTPROTO')}: BOOTPROTO={proto} and no IPADDR: "
                               "no IPv4 configuration labkit can describe")
    address = IPv4Interface((_address(f, "IPADDR" + suffix), _prefix(f, suffix)))
    gw_key = "GATEWAY" + suffix if f.get("GATEWAY" + suffix) else "GATEWAY"
    gateway = _address(f, gw_key) if f.get(gw_key) else None
    try:
        return InterfaceConfig("static", address, gateway, dns, onboot)
    except ValueError as e:
        raise GuestConfigError(f"{f.where(gw_key)}: {e}") from None


def apply_config(f: IfcfgFile, cfg: InterfaceConfig) -> None:
    """Edit f in place to configure cfg; the module docstring says which keys move and which stay."""
    if _onboot(f) != cfg.onboot:
        f.set("ONBOOT", "yes" if cfg.onboot else "no")
    proto = f.get("BOOTPROTO")
    if cfg.mode == "dhcp" and proto not in ("dhcp", "bootp"):
        f.set("BOOTPROTO", "dhcp")
    if cfg.mode == "static" and (proto or "").lower() not in ("static", "none"):
        f.set("BOOTPROTO", "static")
    if cfg.mode == "static" and cfg.address is not None:
        s = _primary(f) or ""
        f.set("IPADDR" + s, str(cfg.address.ip))
        has_mask, has_prefix = f.get("NETMASK" + s) is not None, f.get("PREFIX" + s) is not None
        if has_mask:
            f.set("NETMASK" + s, str(cfg.address.netmask))
        if has_prefix or not has_mask:
            f.set("PREFIX" + s, str(cfg.address.network.prefixlen))
        gw_key = "GATEWAY" + s if f.get("GATEWAY" + s) is not None else "GATEWAY"
        if cfg.gateway is not None:
            f.set(gw_key, str(cfg.gateway))
        else:
            f.unset("GATEWAY" + s)
            f.unset("GATEWAY")
    if cfg.mode == "static" or cfg.dns:
        keys = _dns_keys(f)
        servers = [str(a) for a in cfg.dns] + [v for k in keys if (v := f.get(k)) is not None and _ipv6(v)]
        for n, server in enumerate(servers, 1):
            f.set(f"DNS{n}", server)
        for key in keys:
            if int(key[3:]) > len(servers):
                f.unset(key)


def restart_command(device: str) -> str:
    """RHEL/CentOS 6's SysV network service, as the tutorial runs it. It restarts every ONBOOT
    interface, not only `device` (accepted so all dialects share one signature): `ifdown; ifup` of
    one device would be narrower but loses the session half-way on the interface that carries it."""
    return "/etc/init.d/network restart"
