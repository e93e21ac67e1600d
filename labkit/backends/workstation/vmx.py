"""Parse and render VMware .vmx files without disturbing a byte that was not edited.

A .vmx is one `key = "value"` per line (keys case-insensitive), with `#` comments, blank lines
and usually `.encoding = "UTF-8"` first. Inside a quoted value VMware writes special characters
as `|XX` (hex): `|22` is a double quote, `|7C` a bar, `|23` a hash. Workstation rewrites the file
whenever it likes, but a user's hand edits (comments, odd spacing, CRLF from a Windows editor)
must survive labkit's edits: every line keeps its raw text and only the lines labkit changes are
re-rendered. Pure text in, text out; vmxedit.py does the file I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from labkit.errors import BackendError, InputError

CONNECTION_TYPES = ("bridged", "nat", "hostonly", "custom")
# A VMnet as a .vmx names it: "VMnet2" (Windows), "vmnet2", or "/dev/vmnet2" (older Linux hosts).
_VNET = re.compile(r"^(?:/dev/)?vmnet(\d{1,3})$", re.IGNORECASE)
_KEY = r"[A-Za-z0-9_.:\-]+"
_LINE = re.compile(
    rf"^(?P<lead>\ufeff?[ \t]*)(?P<key>{_KEY})(?P<eq>[ \t]*=[ \t]*)"
    r'(?:"(?P<quoted>[^"]*)"|(?P<bare>[^"#\s]*))(?P<tail>[ \t]*(?:#.*)?)$')
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")  # only CR, LF, CRLF end a line
_SKIP = re.compile(r"^\ufeff?[ \t]*(?:#.*)?$")  # blank or comment
_ESCAPE = re.compile(r"\|([0-9A-Fa-f]{2})")
_MUST_ESCAPE = set('"|#') | {chr(c) for c in range(0x20)} | {"\x7f"}


class VmxError(BackendError):
    """A .vmx file labkit cannot read safely: editing it could break the VM, so nothing is written."""


def unescape(raw: str) -> str:
    """A value as VMware means it: `|XX` byte escapes decoded (as UTF-8, like the file)."""
    if "|" not in raw:
        return raw
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(raw):
        out += raw[pos:m.start()].encode("utf-8", "surrogatepass")
        out.append(int(m.group(1), 16))
        pos = m.end()
    out += raw[pos:].encode("utf-8", "surrogatepass")
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        raise VmxError(f"value {raw!r} has |XX escapes that are not UTF-8") from None


def escape(value: str) -> str:
    """The quoted form VMware writes: quotes, bars, hashes and control characters as |XX."""
    return "".join(f"|{ord(c):02X}" if c in _MUST_ESCAPE else c for c in value)


@dataclass
class _Line:
    text: str  # without its line ending
    ending: str  # "\n", "\r\n", "\r" or "" (last line without one)
    key: str | None = None  # lower case; None for blank and comment lines
    value: str | None = None  # unescaped
    match: re.Match | None = None


class VmxFile:
    """A parsed .vmx: ordered lines, each either a setting or text kept verbatim."""

    def __init__(self, lines: list[_Line]) -> None:
        self._lines = lines

    @classmethod
    def parse(cls, text: str) -> VmxFile:
        lines = []
        for number, raw in enumerate(_LINES.findall(text), 1):
            body = raw.rstrip("\r\n")
            line = _Line(body, raw[len(body):])
            if not _SKIP.match(body):
                m = _LINE.match(body)
                if m is None:
                    raise VmxError(f"line {number}: not a 'key = \"value\"' line: {body[:60]!r}")
                raw_value = m.group("quoted") if m.group("quoted") is not None else m.group("bare")
                try:
                    line.value = unescape(raw_value)
                except VmxError as exc:
                    raise VmxError(f"line {number}: {exc}") from None
                line.key, line.match = m.group("key").lower(), m
            lines.append(line)
        return cls(lines)

    def render(self) -> str:
        return "".join(line.text + line.ending for line in self._lines)

    def keys(self) -> list[str]:
        """Every setting's key in file order, as spelled in the file."""
        return [line.match.group("key") for line in self._lines if line.match is not None]

    def get(self, key: str) -> str | None:
        """The value of `key` (any case); with duplicates, the last one, as VMware reads it."""
        found = None
        for line in self._lines:
            if line.key == key.lower():
                found = line.value
        return found

    def set(self, key: str, value: str) -> VmxFile:
        """Set `key` in place (every copy of it, so no stale duplicate survives); new keys go last."""
        _check_key(key)
        hits = [line for line in self._lines if line.key == key.lower()]
        for line in hits:
            if line.value == value:
                continue
            m = line.match
            assert m is not None  # a line with a key was matched when parsed
            line.text = f'{m.group("lead")}{m.group("key")}{m.group("eq")}"{escape(value)}"{m.group("tail")}'
            line.value = value
            line.match = _LINE.match(line.text)
        if not hits:
            ending = self._ending()
            if self._lines and not self._lines[-1].ending:
                self._lines[-1].ending = ending
            text = f'{key} = "{escape(value)}"'
            self._lines.append(_Line(text, ending, key.lower(), value, _LINE.match(text)))
        return self

    def remove(self, key: str) -> VmxFile:
        """Drop every line setting `key`; comments and other lines stay where they are."""
        self._lines = [line for line in self._lines if line.key != key.lower()]
        return self

    def _ending(self) -> str:
        """The file's own line ending (its first), so an appended line matches its neighbours."""
        return next((line.ending for line in self._lines if line.ending), "\n")


def _check_key(key: str) -> None:
    if not re.fullmatch(_KEY, key):
        raise InputError(f"{key!r} is not a .vmx key (letters, digits and _ . : - only)", field="key")


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("true", "yes", "1")


def _present(vmx: VmxFile, index: int) -> bool:
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= 9:
        raise InputError(f"adapter index {index!r} is not 0-9 (ethernet0 .. ethernet9)", field="index")
    return _truthy(vmx.get(f"ethernet{index}.present"))


def vnet_name(value: str | None) -> str | None:
    """'VMnet2', '/dev/vmnet2', 'vmnet2' -> 'vmnet2'; None for anything that is not a VMnet."""
    m = _VNET.match((value or "").strip())
    return f"vmnet{int(m.group(1))}" if m and int(m.group(1)) <= 255 else None


def adapter_settings(vmx: VmxFile, index: int) -> dict:
    """What ethernet<index> is connected to.

    {"present": bool, "connection_type": str | None, "vnet": str | None}: vnet is the VMnet a
    custom adapter is on, normalised to "vmnet2" ("VMnet2" and "/dev/vmnet2" read the same); it is
    None for the other types, because VMware uses ethernetN.vnet only for custom adapters (a stale
    one next to "nat" is ignored). A missing connectionType is None (VMware then bridges).
    """
    present = _present(vmx, index)
    ctype = vmx.get(f"ethernet{index}.connectionType")
    ctype = ctype.strip().lower() if ctype is not None else None
    vnet = vnet_name(vmx.get(f"ethernet{index}.vnet")) if ctype == "custom" else None
    return {"present": present, "connection_type": ctype, "vnet": vnet}


def set_adapter(vmx: VmxFile, index: int, connection_type: str, vnet: str | None = None) -> bool:
    """Connect ethernet<index> to `connection_type` (and `vnet` for custom); True if anything changed.

    The values are checked before anything is edited. For bridged, nat and hostonly an existing
    ethernetN.vnet line is left as it is: VMware reads vnet only for custom adapters (vmrest's
    NICDeviceParameter: "it should only be used while type is custom"), and Workstation's own files
    carry such lines next to other types, so removing it would be an edit VMware does not make.
    """
    if connection_type not in CONNECTION_TYPES:
        raise InputError(f"connection type {connection_type!r} is not one of {', '.join(CONNECTION_TYPES)}",
                         field="connection_type")
    if connection_type == "custom":
        if vnet is None:
            raise InputError("a custom adapter needs its VMnet (e.g. vmnet2)", field="vnet")
        if vnet_name(vnet) is None:
            raise InputError(f"{vnet!r} is not a VMnet name (vmnet0 .. vmnet255, VMnet2 or /dev/vmnet2)",
                             field="vnet")
    elif vnet is not None:
        raise InputError(f"a VMnet is given only with connection type custom, not {connection_type}",
                         field="vnet")
    if not _present(vmx, index):
        raise VmxError(f"there is no network adapter {index} (ethernet{index}.present is not TRUE)")
    now = adapter_settings(vmx, index)
    if now["connection_type"] == connection_type and now["vnet"] == vnet_name(vnet):
        return False
    vmx.set(f"ethernet{index}.connectionType", connection_type)
    if connection_type == "custom" and vnet is not None:  # checked above: custom has its VMnet
        vmx.set(f"ethernet{index}.vnet", vnet)
    return True


def start_connected(vmx: VmxFile, index: int) -> bool:
    """Whether ethernet<index> is connected when the VM powers on ("Connect at power on"; VMware's
    default, when the key is missing, is TRUE): a powered-off VM's cable."""
    if not _present(vmx, index):
        raise VmxError(f"there is no network adapter {index} (ethernet{index}.present is not TRUE)")
    value = vmx.get(f"ethernet{index}.startConnected")
    return True if value is None else _truthy(value)


def set_start_connected(vmx: VmxFile, index: int, connected: bool) -> bool:
    """Plug ethernet<index>'s cable in or out for the next power on; True if anything changed."""
    if start_connected(vmx, index) == connected:
        return False
    vmx.set(f"ethernet{index}.startConnected", "TRUE" if connected else "FALSE")
    return True
