r"""NetworkManager keyfiles (`/etc/NetworkManager/system-connections/NAME.nmconnection`): parse, edit, render.

Pure: text in, text out. One file is one connection profile (nm-settings-keyfile(5)); NetworkManager reads
it with GLib's GKeyFile, so this module reads it the way GKeyFile does and refuses, with GuestConfigError
`name:line: [group] key: reason`, what GKeyFile would refuse or what labkit cannot pin down.

Syntax (GKeyFile, checked against GLib 2.74): lines split on LF, a CR before the LF dropped. After leading
blanks and tabs a line is empty or a `#` comment, a `[group]` header (the name non-empty, no `[`, `]` or
control character; blanks/tabs may follow the `]`), or `key=value`: the key is what precedes the first `=`
with trailing whitespace removed (no `[`/`]` except one trailing `[locale]`, no leading or trailing blank),
the value what follows it with leading whitespace removed (trailing whitespace is part of the value). Any
other line, or a key before the first group, makes GKeyFile refuse the whole file, so `parse` refuses it.
A group appearing twice is one group (GKeyFile merges them); a key appearing twice means its last value.

Values (`unescape` / `escape`): `\s` space, `\t`, `\n`, `\r`, `\\`; in a list `\;` is a `;` inside an item
and a bare `;` ends an item (the trailing one is optional: `dns=8.8.8.8;8.8.4.4;`). Any other escape, or a
backslash ending the value, is an error to GKeyFile, so reading it raises here. Writing escapes exactly as
g_key_file_set_string(_list) does: leading blanks/tabs as `\s`/`\t`, newline, CR and backslash always, and
`;` in list items. Values labkit writes are addresses, `auto`/`manual`, `true`/`false`, validated
interface names and UUIDs, so escaping never changes them; it is there so nothing else can slip through.

What labkit owns, and only that (every other key, group, comment, blank line and the order stay byte-identical;
an unedited file renders byte-identical; a value already meaning the wanted thing is not rewritten, so
applying a file's own configuration changes nothing):
- `[connection] interface-name` binds the profile to the interface: read_config and apply_config refuse a
  file whose interface-name is another interface, or that has none (a profile bound by MAC address, or to
  any device, is not something labkit can tie to an interface name). It is never written by apply_config.
- `[connection] autoconnect` is cfg.onboot; absent means true (NM's default), so true is only written over an
  existing `false`. Only `true`/`false`/`1`/`0` are read: the spellings every GLib and NM version agree on.
- `[ipv4] method`: `auto` is dhcp, `manual` is static; `disabled`, `link-local` and `shared` are refused by
  read_config (labkit cannot represent them). No `[ipv4]` group means `auto` (NM adds it when it normalizes an
  ethernet profile); a `[ipv4]` group without `method` is refused rather than guessed at.
- addresses: `addressN` (also the older spellings `address`, `addresses`, `addressesN`), each `A/P` or
  `A/P,GW`. The primary address is the one with the lowest N; keys whose order is ambiguous (an unnumbered key
  next to others, two keys for one N) are refused. A missing prefix is refused: NM would default to /24, labkit
  does not guess. A gateway on a non-primary address, or a `gateway=` key disagreeing with the primary
  address's gateway, is refused as ambiguous.
- `[ipv4] gateway` and `[ipv4] dns` (IPv4 addresses only; `1.2.3.4#server-name` is refused).

apply_config:
- dhcp: `method=auto`; every address key and `gateway` removed (under `auto` NM would still add them as static
  addresses next to the lease); `dns` is set to cfg.dns only when cfg.dns is given, else left as it is.
  read_config reports `dns` in both modes: NM uses them under `auto` as well.
- static: `method=manual`; the primary address key is rewritten (`address1` created when there is none; other
  addresses are left alone, as the ifcfg dialect leaves IPADDRn). A file that wrote the gateway the older way,
  `address1=A/P,GW`, keeps that form (and loses a `gateway=` key); otherwise `address1=A/P` plus `gateway=G`,
  removed when cfg.gateway is None. `dns` is set to exactly cfg.dns (removed when empty).
- `[ipv4]` is created at the end when absent (not for dhcp without DNS servers: no `[ipv4]` already means
  auto). New keys go where NM would write them: a group whose keys are in sorted order (NM sorts `[ipv4]`:
  address1, dns, gateway, method) gets them in sorted position; `[connection]` (NM writes id, uuid, type
  first) and any unsorted group get them after their last key.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface

from labkit.errors import GuestConfigError
from labkit.netconfig import InterfaceConfig

DEFAULT_NAME = "/etc/NetworkManager/system-connections/*.nmconnection"
_INTERFACE = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")
_ASCII_SPACE = " \t\n\r\f\v"  # g_ascii_isspace
_KEY = re.compile(r"[^\[\]=]+(?:\[[^\[\]=]+\])?")
_ADDRESS_KEY = re.compile(r"address(?:es)?([0-9]*)")
_PREFIX = re.compile(r"[0-9]{1,2}")
_UNESCAPE = {"s": " ", "t": "\t", "n": "\n", "r": "\r", "\\": "\\"}
_ESCAPE = {"\n": "\\n", "\r": "\\r", "\\": "\\\\"}
_TRUE, _FALSE = ("true", "1"), ("false", "0")


# ---------------------------------------------------------------- GKeyFile escaping

def _unescape(raw: str, as_list: bool) -> list[str]:
    items: list[str] = []
    out: list[str] = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\":
            if i + 1 == len(raw):
                raise GuestConfigError("escape character at end of the value")
            e = raw[i + 1]
            if e in _UNESCAPE:
                out.append(_UNESCAPE[e])
            elif as_list and e == ";":
                out.append(";")
            else:
                raise GuestConfigError(f"invalid escape sequence \\{e}")
            i += 2
            continue
        if as_list and c == ";":
            items.append("".join(out))
            out = []
        else:
            out.append(c)
        i += 1
    if out or not as_list:  # the last item needs no `;` after it; an empty one after the last `;` is no item
        items.append("".join(out))
    return items


def unescape(raw: str) -> str:
    """The string g_key_file_get_string reads from a raw value; GuestConfigError where GKeyFile errs."""
    return _unescape(raw, False)[0]


def unescape_list(raw: str) -> list[str]:
    """The items g_key_file_get_string_list reads from a raw value; GuestConfigError where GKeyFile errs."""
    return _unescape(raw, True)


def escape(value: str, *, in_list: bool = False) -> str:
    """The raw text g_key_file_set_string (or, in_list, one item of g_key_file_set_string_list) writes."""
    out: list[str] = []
    leading = True
    for c in value:
        if leading and c in " \t":
            out.append("\\s" if c == " " else "\\t")
            continue
        leading = False
        if c in _ESCAPE:
            out.append(_ESCAPE[c])
        elif in_list and c == ";":
            out.append("\\;")
        else:
            out.append(c)
    return "".join(out)


def escape_list(values: list[str]) -> str:
    """A list as g_key_file_set_string_list writes it: every item followed by `;`."""
    return "".join(escape(v, in_list=True) + ";" for v in values)


# ---------------------------------------------------------------- lines

@dataclass(slots=True, eq=False)
class _Line:
    text: str  # without the LF; a CR of a CRLF stays here and is outside [start:end]
    group: str | None = None  # the group a header opens, or the group a key belongs to
    header: bool = False
    key: str | None = None
    start: int = 0  # text[start:end] is the raw value of a key line
    end: int = 0


class Keyfile:
    """A keyfile as its lines; only the value part of edited lines ever changes."""

    def __init__(self, lines: list[_Line], name: str) -> None:
        self._lines = lines
        self.name = name
        self._cr = any(line.text.endswith("\r") for line in lines)

    @classmethod
    def parse(cls, text: str, name: str = DEFAULT_NAME) -> Keyfile:
        pieces = text.split("\n")
        lines: list[_Line] = []
        group: str | None = None
        for number, piece in enumerate(pieces, 1):
            body = piece[:-1] if piece.endswith("\r") and number < len(pieces) else piece
            stripped = body.lstrip(" \t")
            where = f"{name}:{number}"
            if stripped == "" or stripped.startswith("#"):
                lines.append(_Line(piece, group))
            elif stripped.startswith("[") and (m := re.fullmatch(r"\[([^\]]*)\][ \t]*", stripped)):
                group = m.group(1)
                if group == "" or "[" in group or any(ord(c) < 0x20 or ord(c) == 0x7F for c in group):
                    raise GuestConfigError(f"{where}: invalid group name {group!r}")
                lines.append(_Line(piece, group, header=True))
            elif "=" in stripped:
                eq = stripped.index("=")
                key = stripped[:eq].rstrip(_ASCII_SPACE)
                if not key:
                    raise GuestConfigError(f"{where}: {stripped!r} is not a key-value pair, group or comment")
                if not _KEY.fullmatch(key) or key[0] == " ":
                    raise GuestConfigError(f"{where}: invalid key name {key!r}")
                if group is None:
                    raise GuestConfigError(f"{where}: {key}: the file does not start with a [group]")
                at = len(body) - len(stripped) + eq + 1
                while at < len(body) and body[at] in _ASCII_SPACE:
                    at += 1
                lines.append(_Line(piece, group, key=key, start=at, end=len(body)))
            else:
                raise GuestConfigError(f"{where}: {body!r} is not a key-value pair, group or comment")
        return cls(lines, name)

    def render(self) -> str:
        return "\n".join(line.text for line in self._lines)

    # -- lookups

    def _last(self, group: str, key: str) -> int | None:
        return next((n for n in range(len(self._lines) - 1, -1, -1)
                     if self._lines[n].key == key and self._lines[n].group == group), None)

    def has_group(self, group: str) -> bool:
        return any(line.header and line.group == group for line in self._lines)

    def keys(self, group: str) -> list[str]:
        return list(dict.fromkeys(line.key for line in self._lines if line.key and line.group == group))

    def where(self, group: str, key: str) -> str:
        """`name:line: [group] key` of the assignment that counts, for error messages."""
        n = self._last(group, key)
        return f"{self.name}: [{group}] {key}" if n is None else f"{self.name}:{n + 1}: [{group}] {key}"

    def raw(self, group: str, key: str) -> str | None:
        n = self._last(group, key)
        return None if n is None else self._lines[n].text[self._lines[n].start:self._lines[n].end]

    def get(self, group: str, key: str) -> str | None:
        raw = self.raw(group, key)
        try:
            return None if raw is None else unescape(raw)
        except GuestConfigError as e:
            raise GuestConfigError(f"{self.where(group, key)}: {e}") from None

    def get_list(self, group: str, key: str) -> list[str] | None:
        raw = self.raw(group, key)
        try:
            return None if raw is None else unescape_list(raw)
        except GuestConfigError as e:
            raise GuestConfigError(f"{self.where(group, key)}: {e}") from None

    # -- edits

    def set_raw(self, group: str, key: str, raw: str) -> None:
        """Set key to an already escaped value: in place if present, else where NM would write it."""
        if not _KEY.fullmatch(key) or key != key.strip(_ASCII_SPACE) or "\n" in raw or "\r" in raw:
            raise GuestConfigError(f"{self.name}: [{group}] {key!r}: not a key or value GKeyFile can hold")
        n = self._last(group, key)
        if n is not None:
            line = self._lines[n]
            line.text = line.text[:line.start] + raw + line.text[line.end:]
            line.end = line.start + len(raw)
            return
        text = f"{key}={raw}"
        self._insert(self._key_position(group, key), _Line(text, group, key=key, start=len(key) + 1,
                                                           end=len(text)))

    def set(self, group: str, key: str, value: str) -> None:
        if self.raw(group, key) is None or self._value_or_none(group, key) != value:
            self.set_raw(group, key, escape(value))

    def set_list(self, group: str, key: str, values: list[str]) -> None:
        try:
            same = self.get_list(group, key) == values
        except GuestConfigError:
            same = False
        if not same:
            self.set_raw(group, key, escape_list(values))

    def unset(self, group: str, key: str) -> None:
        self._lines = [line for line in self._lines if not (line.key == key and line.group == group)]

    def _value_or_none(self, group: str, key: str) -> str | None:
        try:
            return self.get(group, key)
        except GuestConfigError:
            return None

    def _insert(self, at: int, line: _Line) -> None:
        if self._cr:
            line.text += "\r"
        if at == len(self._lines) and self._lines and self._lines[-1].text != "":
            self._lines.append(line)
            self._lines.append(_Line("", line.group))  # the file gains a final newline
        else:
            self._lines.insert(at, line)

    def _key_position(self, group: str, key: str) -> int:
        if not self.has_group(group):
            self.add_group(group)
        head = max(n for n, line in enumerate(self._lines) if line.header and line.group == group)
        end = next((n for n in range(head + 1, len(self._lines)) if self._lines[n].header), len(self._lines))
        keyed = [n for n in range(head + 1, end) if self._lines[n].key is not None]
        names = [self._lines[n].key or "" for n in keyed]
        if group != "connection" and names == sorted(names):  # NM puts id, uuid, type first there
            later = [n for n in keyed if (self._lines[n].key or "") > key]
            if later:
                return later[0]
        return (keyed[-1] if keyed else head) + 1

    def add_group(self, group: str) -> None:
        """Append `[group]` at the end, after a blank line as NM separates groups."""
        at = len(self._lines) - (bool(self._lines) and self._lines[-1].text == "")
        new = []
        if at > 0 and self._lines[at - 1].text.strip() != "":
            new.append(_Line("\r" if self._cr else "", self._lines[at - 1].group))
        new.append(_Line(f"[{group}]" + ("\r" if self._cr else ""), group, header=True))
        if at == len(self._lines):
            new.append(_Line("", group))
        self._lines[at:at] = new


def parse(text: str, name: str = DEFAULT_NAME) -> Keyfile:
    """The file as GKeyFile reads it; GuestConfigError `name:line: ...` where GKeyFile would refuse it."""
    return Keyfile.parse(text, name)


def render(doc: Keyfile) -> str:
    return doc.render()


# ---------------------------------------------------------------- the mapping

def _check_interface(interface: str) -> str:
    if not isinstance(interface, str) or not _INTERFACE.fullmatch(interface):
        raise GuestConfigError(f"{interface!r} is not an interface name labkit accepts "
                               "([A-Za-z0-9_.:@-], 1 to 15 characters)")
    return interface


def _check_bound(doc: Keyfile, interface: str) -> None:
    """The profile must be bound to exactly this interface by `[connection] interface-name`."""
    _check_interface(interface)
    if not doc.has_group("connection"):
        raise GuestConfigError(f"{doc.name}: no [connection] group: not a NetworkManager connection profile")
    bound = doc.get("connection", "interface-name")
    if bound is None:
        raise GuestConfigError(f"{doc.name}: [connection] has no interface-name: the profile is not bound to "
                               f"an interface name, so labkit cannot tell whether it configures {interface}")
    if bound != interface:
        raise GuestConfigError(f"{doc.where('connection', 'interface-name')}: the profile is for {bound!r}, "
                               f"not {interface}")


def _autoconnect(doc: Keyfile) -> bool | None:
    raw = doc.get("connection", "autoconnect")
    if raw is None:
        return True
    return True if raw in _TRUE else False if raw in _FALSE else None


def _address_keys(doc: Keyfile) -> list[str]:
    """The [ipv4] address keys, primary first; GuestConfigError when NM's order is not certain."""
    found = [(m.group(1), k) for k in doc.keys("ipv4") if (m := _ADDRESS_KEY.fullmatch(k))]
    numbers = [n for n, _ in found]
    if len(found) > 1 and ("" in numbers or len({int(n) for n in numbers}) < len(numbers)):
        raise GuestConfigError(f"{doc.where('ipv4', found[1][1])}: address keys {', '.join(k for _, k in found)} "
                               "leave the order of the addresses ambiguous")
    return [k for _, k in sorted(found, key=lambda f: int(f[0] or 0))]


def _ipv4(doc: Keyfile, key: str, text: str | None = None) -> IPv4Address:
    value = doc.get("ipv4", key) if text is None else text
    try:
        return IPv4Address(value)
    except ValueError:
        raise GuestConfigError(f"{doc.where('ipv4', key)}: {value!r} is not an IPv4 address") from None


def _address(doc: Keyfile, key: str) -> tuple[IPv4Interface, IPv4Address | None, bool]:
    """An address key's address, its gateway, and whether the value has the `,GW` part at all."""
    value = doc.get("ipv4", key) or ""
    addr, comma, gw = value.partition(",")
    ip, slash, prefix = addr.partition("/")
    if not slash:
        raise GuestConfigError(f"{doc.where('ipv4', key)}: {value!r} has no /prefix "
                               "(NM would assume /24; labkit does not guess)")
    if not _PREFIX.fullmatch(prefix) or int(prefix) > 32:
        raise GuestConfigError(f"{doc.where('ipv4', key)}: {prefix!r} is not a prefix length (0-32)")
    if "," in gw:
        raise GuestConfigError(f"{doc.where('ipv4', key)}: {value!r} is not A/P or A/P,GW")
    gateway = _ipv4(doc, key, gw) if comma else None
    return IPv4Interface((_ipv4(doc, key, ip), int(prefix))), gateway, bool(comma)


def _dns(doc: Keyfile) -> tuple[IPv4Address, ...]:
    return tuple(_ipv4(doc, "dns", item) for item in doc.get_list("ipv4", "dns") or [])


def read_config(doc: Keyfile, interface: str) -> InterfaceConfig:
    """What the profile configures for interface, validated; GuestConfigError names the line and key."""
    _check_bound(doc, interface)
    onboot = _autoconnect(doc)
    if onboot is None:
        raise GuestConfigError(f"{doc.where('connection', 'autoconnect')}: "
                               f"{doc.get('connection', 'autoconnect')!r} is neither true nor false")
    if not doc.has_group("ipv4"):
        return InterfaceConfig("dhcp", onboot=onboot)
    method = doc.get("ipv4", "method")
    dns = _dns(doc)
    keys = _address_keys(doc)
    if method == "auto":
        extra = keys + (["gateway"] if doc.raw("ipv4", "gateway") is not None else [])
        if extra:
            raise GuestConfigError(f"{doc.where('ipv4', extra[0])}: method=auto with static "
                                   f"{', '.join(extra)}: DHCP plus static addresses, which labkit cannot represent")
        return InterfaceConfig("dhcp", dns=dns, onboot=onboot)
    if method is None:
        raise GuestConfigError(f"{doc.name}: [ipv4] has no method (labkit does not guess one)")
    if method != "manual":
        raise GuestConfigError(f"{doc.where('ipv4', 'method')}: method={method} is not supported "
                               "(labkit represents auto and manual)")
    if not keys:
        raise GuestConfigError(f"{doc.where('ipv4', 'method')}: method=manual and no address1")
    address, gateway, _ = _address(doc, keys[0])
    for key in keys[1:]:
        if _address(doc, key)[1] is not None:
            raise GuestConfigError(f"{doc.where('ipv4', key)}: a gateway on a secondary address is ambiguous")
    gw_key = keys[0]
    if doc.raw("ipv4", "gateway") is not None:
        separate = _ipv4(doc, "gateway")
        if gateway is not None and separate != gateway:
            raise GuestConfigError(f"{doc.where('ipv4', 'gateway')}: {separate} disagrees with the gateway "
                                   f"{gateway} of {keys[0]}")
        gateway, gw_key = separate, "gateway"
    try:
        return InterfaceConfig("static", address, gateway, dns, onboot)
    except ValueError as e:
        raise GuestConfigError(f"{doc.where('ipv4', gw_key)}: {e}") from None


def apply_config(doc: Keyfile, interface: str, cfg: InterfaceConfig) -> None:
    """Edit doc in place to configure cfg for interface; the module docstring says which keys move."""
    _check_bound(doc, interface)
    if _autoconnect(doc) != cfg.onboot:
        doc.set("connection", "autoconnect", "true" if cfg.onboot else "false")
    keys = _address_keys(doc) if doc.has_group("ipv4") else []
    if cfg.mode == "dhcp":
        if doc.has_group("ipv4") or cfg.dns:  # no [ipv4] already means auto
            doc.set("ipv4", "method", "auto")
        for key in keys + ["gateway"]:
            doc.unset("ipv4", key)
        if cfg.dns:
            doc.set_list("ipv4", "dns", [str(a) for a in cfg.dns])
        return
    assert cfg.address is not None  # InterfaceConfig guarantees it for static
    doc.set("ipv4", "method", "manual")
    primary = keys[0] if keys else "address1"
    old_form = bool(keys) and "," in (doc.get("ipv4", primary) or "")
    value = f"{cfg.address.ip}/{cfg.address.network.prefixlen}"
    if old_form:
        doc.set("ipv4", primary, value + (f",{cfg.gateway}" if cfg.gateway is not None else ""))
        doc.unset("ipv4", "gateway")
    else:
        doc.set("ipv4", primary, value)
        if cfg.gateway is not None:
            doc.set("ipv4", "gateway", str(cfg.gateway))
        else:
            doc.unset("ipv4", "gateway")
    if cfg.dns:
        doc.set_list("ipv4", "dns", [str(a) for a in cfg.dns])
    else:
        doc.unset("ipv4", "dns")


def new_connection(interface: str, cfg: InterfaceConfig, uuid: uuid_module.UUID | str) -> str:
    """A fresh profile for interface, laid out as NetworkManager writes one (id = interface name).

    The caller must install it owned by root with mode 0600: NM ignores a keyfile that any other user can
    read or write (it may hold secrets), and this pure function writes no file."""
    _check_interface(interface)
    try:
        canonical = str(uuid_module.UUID(str(uuid)))
    except ValueError:
        raise GuestConfigError(f"{uuid!r} is not a UUID") from None
    doc = parse(f"[connection]\nid={interface}\nuuid={canonical}\ntype=ethernet\ninterface-name={interface}\n"
                "\n[ethernet]\n\n[ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n", path_for(interface))
    apply_config(doc, interface, cfg)
    return doc.render()


def path_for(interface: str) -> str:
    """Where labkit's profile for interface lives (named after the interface, as the profile id is)."""
    return f"/etc/NetworkManager/system-connections/{_check_interface(interface)}.nmconnection"


def restart_command(interface: str) -> str:
    """Reload the profiles from disk, then activate one on the device.

    `up ifname IF` rather than `up id NAME`: the profile's id is free text (spaces, quotes, non-ASCII, and
    not unique: two profiles may share "Wired connection 1"), which would have to be shell-quoted and could
    pick the wrong profile, whereas the interface name is validated to a shell-safe character set and is what
    the edited profile is bound to (`interface-name`). With `ifname` and no id, nmcli asks NM for the best
    available profile for that device; if several profiles are bound to the same interface NM may choose
    another one (the one with the highest autoconnect-priority, then the most recently used). The activation
    is done by the NetworkManager daemon, so it completes even if the SSH session over that link drops."""
    return f"nmcli connection reload && nmcli connection up ifname {_check_interface(interface)}"
