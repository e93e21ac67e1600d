"""The hostile-input corpus: 300+ inputs `labkit check` must refuse. This generator IS the corpus.

Every case is one file (or one special path: a FIFO, a directory, a socket, /dev/zero) that must be
refused with exit status 2, an `error: FILE:LINE:` line naming the case's line, no traceback, in
bounded time and memory. The test (test_hostile.py) writes them into a temporary directory; to look
at them, write them out yourself:

    .venv/bin/python tests/hostile/make_corpus.py /tmp/hostile      # then: labkit check /tmp/hostile/...

Categories (the case name's prefix): files (`files:` content a netns or real guest would run, at
its line), markup (Rich markup, OSC 8 links and HTML in names), yaml-merge, yaml-tag, yaml-directive, yaml-alias, yaml-deep,
yaml-key, yaml-dup, yaml-big, file (non-regular and oversized), bytes (encodings, control
characters, binaries), inject (shell metacharacters in every string that reaches a guest or a
shell: tests/broken already has $( ) ` ; ' " and newline for some fields, these are the others, for
every field), escape (control characters and terminal escapes in names), number (huge and special
numbers), type (wrong types), confusable (look-alike letters and digits), shape (a playbook that
is a scalar or a list), and misc.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BIG = 1536 * 1024  # labkit.yamlsrc.MAX_BYTES (a case below checks the two agree)
NODES = 120_000  # labkit.yamlcompose.MAX_NODES
INVENTORY = "base-inventory.yml"  # written next to the cases: the inventory of every playbook case

Builder = Callable[[Path], Path]


@dataclass(frozen=True)
class Case:
    name: str
    content: bytes | Builder  # the file's bytes, or a function that makes the path in a directory
    expect: str  # a regular expression stderr must match
    line: int | None = None  # the line an error must name (None: any line)
    heavy: bool = False  # large: its time and memory are also measured in a subprocess
    xfail: str | None = None  # a known gap, with what would close it
    names: str | None = None  # the file the error names, when not the case's own (a playbook's inventory)


def _line_of(text: str, marker: str) -> int:
    return text[:text.index(marker)].count("\n") + 1


def quote(value: str) -> str:
    """A YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(value)


def inventory(*, lab: str = "hostile", backend: str = "", host: str = "192.168.1.100", router: str = "192.168.1.1",
              externals: str = "", networks: str = "", vms: str = "", tail: str = "") -> str:
    """A valid inventory with extra lines at the end of its sections (each already indented)."""
    return f"""\
# the hostile corpus's base inventory: every inventory case is this with one thing wrong
lab: {lab}
backend:
  type: sim
{backend}host:
  lan_address: {host}
  os: linux
lan:
  subnet: 192.168.1.0/24
  router: {router}
externals:
  internet: {{address: 203.0.113.10}}
{externals}networks:
  bridged: {{type: bridged}}
  nat:
    type: nat
    subnet: 10.0.0.0/24
    host_adapter: {{address: 10.0.0.1}}
    gateway: 10.0.0.2
    dhcp: {{server: 10.0.0.254, start: 10.0.0.128, end: 10.0.0.253}}
  hostonly:
    type: hostonly
    subnet: 192.168.56.0/24
    host_adapter: {{address: 192.168.56.1}}
{networks}vms:
  - name: centos
    os: linux
    dialect: ifcfg
    ssh: {{address: 10.0.0.101, user: root}}
    adapters:
      - {{interface: eth0, label: Network adapter 1, mac: "00:0c:29:3b:4c:6d", network: nat,
         config: {{address: 10.0.0.101/24, gateway: 10.0.0.2, dns: [10.0.0.2]}}}}
  - name: win7
    os: windows
    dialect: netsh
    adapters:
      - {{interface: eth0, connection: Local Area Connection, network: bridged, config: {{dhcp: true}}}}
{vms}{tail}"""


BASE_STEPS = 6


def playbook(*, name: str = "hostile corpus", steps: str = "", head: str = "", tail: str = "") -> str:
    """A valid playbook (against base-inventory.yml) with extra steps at the end."""
    return f"""\
# the hostile corpus's base playbook: every playbook case is this with one thing wrong
{head}name: {name}
inventory: {INVENTORY}
steps:
  - name: put win7 on NAT
    set_mode: {{vms: [win7], adapter: eth0, mode: nat}}
  - name: static centos
    configure_guest: {{vms: [centos], interface: eth0, address: 10.0.0.101/24, gateway: 10.0.0.2}}
  - name: renew
    restart_network: {{vms: [win7], interface: eth0}}
  - name: wait
    wait_for_ip: {{vms: [win7], interface: eth0, timeout: 30}}
  - name: adapter off
    set_host_adapter: {{network: nat, enabled: false}}
  - name: matrix
    ping_matrix:
      sources: [host, win7]
      targets: [host.nat, nat.gateway, router, internet, centos.eth0]
      expect:
        model: true
        cells:
          - {{from: win7, to: internet, result: reachable}}
{steps}{tail}"""


def _with(text: str, value: str, marker: str = "@@") -> tuple[bytes, int]:
    """`text` with `value` (raw, may hold any character) where `marker` is, and that line."""
    return text.replace(marker, value, 1).encode("utf-8", "surrogatepass"), _line_of(text, marker)


def _text_case(name: str, text: str, expect: str, marker: str | None = None, line: int | None = None,
               heavy: bool = False, names: str | None = None) -> Case:
    """A case from text; its line is the line of `marker` in it, when given."""
    if marker is not None:
        line = _line_of(text, marker)
    return Case(name, text.encode("utf-8"), expect, line, heavy=heavy, names=names)


# ---- YAML features labkit refuses -------------------------------------------------------------

def yaml_cases() -> list[Case]:
    tag = "YAML tag"
    out = [
        _text_case("yaml-merge-vm.yml", inventory(vms="  - &base {name: x1, adapters: [{interface: eth0, network: nat}]}\n"
                                                  "  - <<: *base\n    name: x2\n"), "merge keys", marker="<<: *base"),
        _text_case("yaml-merge-flow.yml", inventory(vms="  - {<<: {os: linux}, name: x1, adapters: []}\n"),
                   "merge keys", marker="<<"),
        _text_case("yaml-merge-list.yml", inventory(tail="defaults: &d {a: 1}\nmore: &m {b: 2}\nx:\n  <<: [*d, *m]\n"),
                   "merge keys", marker="<<: ["),
        _text_case("yaml-merge-top.yml", "base: &b {lab: x}\n<<: *b\n", "merge keys", marker="<<"),
        _text_case("yaml-merge-network.yml", inventory(networks="  nat2:\n    <<: {type: nat}\n    subnet: 10.1.0.0/24\n"),
                   "merge keys", marker="<<"),
        _text_case("yaml-merge-step.yml", playbook(steps="  - name: m\n    <<: {set_mode: {vms: [win7], mode: nat}}\n"),
                   "merge keys", marker="<<"),
        _text_case("yaml-merge-bomb.yml", "a: &a {x: 1}\nb: &b {<<: [*a, *a, *a]}\n", "merge keys", marker="<<"),
        _text_case("yaml-merge-ssh.yml", inventory(vms="  - name: x1\n    ssh:\n      <<: {user: root}\n"
                                                   "    adapters: [{interface: eth0, network: nat}]\n"),
                   "merge keys", marker="<<"),
    ]
    tags = {
        "python-object": "!!python/object:os.system x", "python-apply": "!!python/object/apply:os.system [reboot]",
        "python-name": "!!python/name:os.system", "python-module": "!!python/module:os", "omap": "!!omap [a: 1]",
        "set": "!!set {a, b}", "pairs": "!!pairs [a: 1]", "int-zz": "!!int zz", "int": "!!int 5", "bool-maybe":
        "!!bool maybe", "float": "!!float 1", "str": "!!str 5", "null": "!!null ''", "binary": "!!binary aGk=",
        "timestamp": "!!timestamp 2001-12-14", "local": "!x 1", "local-map": "!x {a: 1}", "local-seq": "!x [1]",
        "non-specific": "! 5", "verbatim": "!<tag:example.com,2000:x> 1", "verbatim-local": "!<!x> 1",
        "map": "!!map {a: 1}", "seq": "!!seq [1]", "merge": "!!merge <<", "value": "!!value =",
        "yaml": "!!yaml '!'", "ruby": "!ruby/object:Gem::Installer {}", "java": "!!javax.script.ScriptEngineManager [1]",
    }
    for tname, value in tags.items():
        out.append(_text_case(f"yaml-tag-{tname}.yml", inventory(tail=f"extra: {value}\n"), tag, marker="extra:"))
    out += [
        _text_case("yaml-tag-on-lab.yml", inventory(lab="!!str hostile"), tag, marker="lab:"),
        _text_case("yaml-tag-on-port.yml", inventory(backend="  port: !!int 443\n"), tag, marker="port:"),
        _text_case("yaml-tag-on-key.yml", inventory(tail="!!str extra: 1\n"), tag, marker="!!str extra"),
        _text_case("yaml-tag-on-vms.yml", inventory(vms="  - !!map {name: x1, adapters: []}\n"), tag, marker="!!map"),
        _text_case("yaml-tag-on-root.yml", "--- !!map\nlab: x\n", tag, line=1),
        _text_case("yaml-tag-on-step.yml", playbook(steps="  - !step {set_mode: {vms: [win7], mode: nat}}\n"), tag,
                   marker="!step"),
        _text_case("yaml-tag-on-dns.yml", inventory(vms="  - {name: x1, adapters: [{interface: eth0, network: nat, "
                                                    "config: {dhcp: true, dns: [!ip 10.0.0.2]}}]}\n"),
                   tag, marker="!ip"),
        _text_case("yaml-tag-handle.yml", "%TAG !e! tag:example.com,2000:\n---\nlab: !e!x 1\n", "%TAG directive", line=1),
        _text_case("yaml-directive-yaml11.yml", "%YAML 1.1\n---\n" + inventory(), "%YAML directive", line=1),
        _text_case("yaml-directive-yaml12.yml", "%YAML 1.2\n---\n" + inventory(), "%YAML directive", line=1),
        _text_case("yaml-directive-yaml20.yml", "%YAML 2.0\n---\nlab: x\n", "error: ", line=None),
        _text_case("yaml-directive-reserved.yml", "%FOO bar\n---\nlab: x\n", "error: "),
        _text_case("yaml-directive-twice.yml", "%YAML 1.2\n%YAML 1.2\n---\nlab: x\n", "error: "),
    ]
    return out


def alias_cases() -> list[Case]:
    bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefghi", "bcdefghij", strict=False))
    mapbomb = "a: &a {k1: x, k2: x, k3: x, k4: x, k5: x, k6: x, k7: x, k8: x}\n" + "".join(
        f"{c}: &{c} {{{', '.join(f'k{i}: *{p}' for i in range(8))}}}\n" for p, c in zip("abcdefgh", "bcdefghi", strict=False))
    budget = "a: &a [" + ", ".join(["x"] * 99) + "]\n" + "".join(f"k{i}: *a\n" for i in range(120))
    wide = "a: &a [" + ", ".join(["x"] * 5000) + "]\nb: [*a, *a, *a]\n"
    deep_anchor = "a: &a " + "[" * 40 + "]" * 40 + "\nb: " + "[" * 30 + "*a" + "]" * 30 + "\n"
    budget_line = _line_of(budget, "k100:")
    return [
        _text_case("yaml-alias-bomb-7.yml", bomb[:bomb.index("h:")], "aliases repeat more than", marker="e:"),
        _text_case("yaml-alias-bomb-10.yml", bomb, "aliases repeat more than", marker="e:"),
        _text_case("yaml-alias-bomb-mapping.yml", mapbomb, "aliases repeat more than", marker="d:"),
        _text_case("yaml-alias-bomb-in-inventory.yml", inventory(tail=bomb), "aliases repeat more than"),
        _text_case("yaml-alias-budget-many-small.yml", budget, "aliases repeat more than", line=budget_line),
        _text_case("yaml-alias-budget-wide.yml", wide, "aliases repeat more than", marker="b:"),
        _text_case("yaml-alias-deeper-than-limit.yml", deep_anchor, "deeper than 64", marker="b:"),
        _text_case("yaml-alias-undefined.yml", inventory(vms="  - *nosuch\n"), "names no anchor", marker="*nosuch"),
        _text_case("yaml-alias-before-anchor.yml", "a: *b\nb: &b 1\n", "names no anchor", line=1),
        _text_case("yaml-alias-recursive-seq.yml", "a: &a [1, *a]\n", "inside the value it names", line=1),
        _text_case("yaml-alias-recursive-map.yml", "a: &a\n  b:\n    c: *a\n", "inside the value it names", line=3),
        _text_case("yaml-alias-recursive-deep.yml", "a: &a [[[[[*a]]]]]\n", "inside the value it names", line=1),
        _text_case("yaml-alias-key-mapping.yml", "a: &a {x: 1}\n*a : 2\n", "keys must be strings", line=2),
        _text_case("yaml-alias-key-list.yml", "a: &a [1]\n? *a\n: 2\n", "keys must be strings", line=2),
        _text_case("yaml-alias-bomb-keys.yml", bomb.replace("[", "{").replace("]", "}").replace("lol", "k: v"),
                   "duplicate key|aliases repeat more than"),
    ]


def deep_cases() -> list[Case]:
    block_map = "".join("  " * i + f"k{i}:\n" for i in range(70)) + "  " * 70 + "x\n"
    block_seq = "".join("  " * i + "-\n" for i in range(70)) + "  " * 70 + "x\n"
    out = [
        _text_case("yaml-deep-flow-65.yml", "a: " + "[" * 65 + "]" * 65 + "\n", "deeper than 64", line=1),
        _text_case("yaml-deep-flow-1000.yml", "[" * 1000 + "]" * 1000 + "\n", "deeper than 64", line=1),
        _text_case("yaml-deep-flow-100000.yml", "[" * 100_000 + "]" * 100_000 + "\n", "deeper than 64", line=1),
        _text_case("yaml-deep-flow-unclosed.yml", "[" * 200_000 + "\n", "deeper than 64", line=1),
        _text_case("yaml-deep-flow-maps.yml", "a: " + "{a: " * 100 + "1" + "}" * 100 + "\n", "deeper than 64", line=1),
        _text_case("yaml-deep-mixed.yml", "a: " + "[{a: " * 40 + "1" + "}]" * 40 + "\n", "deeper than 64", line=1),
        _text_case("yaml-deep-block-map.yml", block_map, "deeper than 64", line=65),
        _text_case("yaml-deep-block-seq.yml", block_seq, "deeper than 64", line=65),
        _text_case("yaml-deep-compact-seq.yml", "- " * 100 + "x\n", "deeper than 64", line=1),
        _text_case("yaml-deep-in-vm.yml", inventory(vms="  - name: x1\n    files: " + "[" * 80 + "]" * 80 + "\n"),
                   "deeper than 64", marker="files:"),
        _text_case("yaml-deep-in-step.yml", playbook(steps="  - set_mode: " + "{a: " * 80 + "1" + "}" * 80 + "\n"),
                   "deeper than 64", marker="set_mode: {a"),
    ]
    return out


def key_cases() -> list[Case]:
    return [
        _text_case("yaml-key-int.yml", inventory(tail="1: x\n"), "keys must be strings, not 1", marker="1: x"),
        _text_case("yaml-key-null.yml", inventory(tail="~: x\n"), "keys must be strings, not None", marker="~: x"),
        _text_case("yaml-key-bool.yml", inventory(tail="true: x\n"), "keys must be strings, not True", marker="true:"),
        _text_case("yaml-key-float.yml", inventory(tail="1.5: x\n"), "keys must be strings, not 1.5", marker="1.5:"),
        _text_case("yaml-key-empty.yml", inventory(tail=": x\n"), "keys must be strings, not None", marker=": x"),
        _text_case("yaml-key-complex-list.yml", inventory(tail="? [a, b]\n: x\n"), "keys must be strings, not a list",
                   marker="? ["),
        _text_case("yaml-key-complex-map.yml", inventory(tail="? {a: b}\n: x\n"), "keys must be strings, not a mapping",
                   marker="? {"),
        _text_case("yaml-key-flow-list.yml", "{[a]: 1}\n", "keys must be strings, not a list", line=1),
        _text_case("yaml-key-network-int.yml", inventory(networks="  5: {type: hostonly, subnet: 10.5.0.0/24}\n"),
                   "keys must be strings, not 5", marker="  5:"),
        _text_case("yaml-key-vm-files-int.yml", inventory(vms="  - {name: x1, files: {1: x}, adapters: "
                                                         "[{interface: eth0, network: nat}]}\n"),
                   "keys must be strings", marker="x1"),
        _text_case("yaml-key-hex.yml", inventory(externals="  0x10: {address: 203.0.113.11}\n"),
                   "keys must be strings, not 16", marker="0x10"),
        _text_case("yaml-dup-top.yml", inventory(tail="lab: again\n"), "duplicate key \"lab\"", marker="lab: again"),
        _text_case("yaml-dup-mapping-value.yml", inventory(tail="lan: {subnet: 10.0.0.0/8}\n"), "duplicate key \"lan\"",
                   marker="lan: {"),
        _text_case("yaml-dup-in-flow.yml", inventory(externals="  ext2: {address: 203.0.113.11, address: 203.0.113.12}\n"),
                   "duplicate key \"address\"", marker="ext2"),
        _text_case("yaml-dup-network.yml", inventory(networks="  nat: {type: nat}\n"), "duplicate key \"nat\"",
                   marker="  nat: {"),
        _text_case("yaml-dup-step-key.yml", playbook(steps="  - name: a\n    name: b\n    set_mode: {vms: [win7], mode: nat}\n"),
                   "duplicate key \"name\"", marker="name: b"),
        _text_case("yaml-dup-100000.yml", "a: 1\n" * 100_000, "duplicate key \"a\"", line=2),
        _text_case("yaml-two-documents-tiny.yml", "a: 1\n---\nb: 2\n", "single document", line=2),
        _text_case("yaml-many-documents.yml", "---\na: 1\n" * 50_000, "single document", line=3),
        _text_case("yaml-document-end-then-more.yml", "a: 1\n...\n---\nb: 2\n", "single document", line=3),
    ]


def big_cases() -> list[Case]:
    """Large files under the size cap: refused, in bounded time, by the node cap or by validation."""
    values = NODES + 10
    return [
        _text_case("yaml-big-flow-list.yml", "[" + "0," * values + "0]\n", "more than 120,000 keys and values", line=1,
                   heavy=True),
        _text_case("yaml-big-block-list.yml", "".join("- 0\n" for _ in range(values)),
                   "more than 120,000 keys and values", line=NODES, heavy=True),
        _text_case("yaml-big-mapping.yml", "".join(f"k{i}: 1\n" for i in range(values // 2 + 10)),
                   "more than 120,000 keys and values", heavy=True),
        _text_case("yaml-big-empty-maps.yml", "".join("- {}\n" for _ in range(values)),
                   "more than 120,000 keys and values", heavy=True),
        _text_case("yaml-big-vms-of-zeros.yml", "lab: x\nvms: [" + "0," * 100_000 + "0]\n", "problems in all",
                   heavy=True),
        _text_case("yaml-big-unknown-keys.yml", inventory(tail="".join(f"k{i}: 1\n" for i in range(50_000))),
                   "problems in all", heavy=True),
        _text_case("yaml-big-files.yml", inventory(vms="  - name: x1\n    adapters: [{interface: eth0, network: nat}]\n"
                                                   "    files:\n" + "".join(f"      x{i}: y\n" for i in range(50_000))),
                   "problems in all", heavy=True),
        _text_case("yaml-big-scalar.yml", "lab: " + "x" * (BIG - 100) + "\n", "lab: ", line=1, heavy=True),
        _text_case("yaml-big-words.yml", "lab: " + "x " * ((BIG - 100) // 2) + "\n", "lab: ", line=1, heavy=True),
        _text_case("yaml-big-folded.yml", "lab: x\n" + " x\n" * ((BIG - 100) // 3), "lab: ", line=1, heavy=True),
        _text_case("yaml-big-quoted-escapes.yml", "lab: \"" + "\\x41" * ((BIG - 100) // 4) + "\"\n", "lab: ", line=1,
                   heavy=True),
        _text_case("yaml-big-comments.yml", ("#" + "x" * 98 + "\n") * ((BIG - 100) // 100) + "lab: x\n",
                   "missing required key", heavy=True),
        _text_case("yaml-big-blank-lines.yml", "\n" * (BIG - 100) + "lab: x\n", "missing required key", heavy=True),
        _text_case("yaml-big-key.yml", "x" * (BIG - 100) + ": 1\n", "YAML syntax", line=1, heavy=True),
        _text_case("yaml-big-number.yml", "lab: " + "9" * 5000 + "\n", "a number of 5,000 characters", line=1),
        _text_case("yaml-big-unclosed-quote.yml", "lab: \"" + "x" * (BIG - 100) + "\n", "quote opened here", line=1,
                   heavy=True),
        _text_case("yaml-big-unclosed-bracket.yml", "lab: [" + "x, " * ((BIG - 100) // 3) + "\n",
                   "never closed|more than 120,000", line=1, heavy=True),
    ]


# ---- files that are not small regular files ---------------------------------------------------

def _fifo(d: Path) -> Path:
    path = d / "file-fifo.yml"
    os.mkfifo(path)
    return path


def _directory(d: Path) -> Path:
    path = d / "file-directory.yml"
    path.mkdir()
    return path


def _socket(d: Path) -> Path:
    path = d / "file-socket.yml"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))  # bound and left: the file stays a socket
    sock.close()
    return path


def _symlink_to(target: str, name: str) -> Builder:
    def build(d: Path) -> Path:
        path = d / name
        path.symlink_to(target)
        return path
    return build


def _symlink_fifo(d: Path) -> Path:
    target = d / "fifo-target"
    os.mkfifo(target)
    path = d / "file-symlink-to-fifo.yml"
    path.symlink_to(target)
    return path


def _sparse(size: int, name: str) -> Builder:
    def build(d: Path) -> Path:
        path = d / name
        with open(path, "wb") as f:
            f.write(b"lab: x\n")
            f.truncate(size)
        return path
    return build


def file_cases() -> list[Case]:
    not_file = "not a file: labkit reads inventories and playbooks from regular files only"
    too_big = "more than labkit reads"
    return [
        Case("file-fifo.yml", _fifo, "a FIFO \\(named pipe\\), " + not_file, 1),
        Case("file-directory.yml", _directory, "a directory, " + not_file, 1),
        Case("file-socket.yml", _socket, "a socket, " + not_file, 1),
        Case("file-dev-zero.yml", _symlink_to("/dev/zero", "file-dev-zero.yml"), "a character device", 1),
        Case("file-dev-null.yml", _symlink_to("/dev/null", "file-dev-null.yml"), "a character device", 1),
        Case("file-dev-urandom.yml", _symlink_to("/dev/urandom", "file-dev-urandom.yml"), "a character device", 1),
        Case("file-proc-self-mem.yml", _symlink_to("/proc/self/mem", "file-proc-self-mem.yml"), "error: ", None),
        Case("file-symlink-to-fifo.yml", _symlink_fifo, "a FIFO", 1),
        Case("file-symlink-to-dir.yml", _symlink_to("/", "file-symlink-to-dir.yml"), "a directory", 1),
        Case("file-sparse-5mib.yml", _sparse(5 * 1024 * 1024, "file-sparse-5mib.yml"), too_big, 1),
        Case("file-sparse-16gib.yml", _sparse(1 << 34, "file-sparse-16gib.yml"), too_big, 1),
        Case("file-one-byte-too-big.yml", _sparse(BIG + 1, "file-one-byte-too-big.yml"), too_big, 1),
        Case("file-50mib-comments.yml", lambda d: _write(d / "file-50mib-comments.yml",
                                                         b"# x\n" * (50 * 1024 * 1024 // 4)), too_big, 1),
        Case("file-20mib-scalar.yml", lambda d: _write(d / "file-20mib-scalar.yml",
                                                       b"lab: " + b"x" * (20 * 1024 * 1024)), too_big, 1),
        Case("file-loop.yml", lambda d: _loop(d), "cannot read|error: ", None),
    ]


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _loop(d: Path) -> Path:
    path = d / "file-loop.yml"
    path.symlink_to(path.name)
    return path


# ---- bytes that are not UTF-8 YAML text -------------------------------------------------------

def bytes_cases() -> list[Case]:
    text = inventory(lab="hos@@tile")
    utf16 = inventory().encode("utf-16-le")
    out = [
        Case("bytes-utf16le-bom.yml", b"\xff\xfe" + utf16, "UTF-16 \\(little-endian\\)", 1),
        Case("bytes-utf16be-bom.yml", b"\xfe\xff" + inventory().encode("utf-16-be"), "UTF-16 \\(big-endian\\)", 1),
        Case("bytes-utf32le-bom.yml", b"\xff\xfe\x00\x00" + inventory().encode("utf-32-le"), "UTF-32", 1),
        Case("bytes-utf32be-bom.yml", b"\x00\x00\xfe\xff" + inventory().encode("utf-32-be"), "UTF-32", 1),
        Case("bytes-utf16le-no-bom.yml", utf16, "looks like UTF-16 text without a byte-order mark", 1),
        Case("bytes-utf16be-no-bom.yml", inventory().encode("utf-16-be"), "without a byte-order mark", 1),
        Case("bytes-utf32le-no-bom.yml", inventory().encode("utf-32-le"), "looks like UTF-32 text without", 1),
        Case("bytes-elf.yml", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00>\x00", "U\\+007F \\(DEL\\) at column 1 "
             "\\(this looks like a binary file", 1),
        Case("bytes-gzip.yml", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", "U\\+001F", 1),
        Case("bytes-png.yml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text \\(byte 0x89 at byte offset 0", 1),
        Case("bytes-zip.yml", b"PK\x03\x04\x14\x00\x00\x00", "U\\+0003", 1),
        Case("bytes-pdf.yml", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "not UTF-8|directive|error: ", None),
        Case("bytes-windows-exe.yml", b"MZ\x90\x00\x03\x00\x00\x00", "not UTF-8 text \\(byte 0x90", 1),
        Case("bytes-latin1-value.yml", inventory(lab="caf\xe9").encode("latin-1"), "not UTF-8 text \\(byte 0xe9", 2),
        Case("bytes-latin1-comment.yml", ("# caf\xe9\n" + inventory()).encode("latin-1"), "byte 0xe9 at byte offset 5, "
             "column 6", 1),
        Case("bytes-cp1252-quotes.yml", b"lab: \x93hostile\x94\n", "byte 0x93", 1),
        Case("bytes-lone-continuation.yml", b"lab: x\x80y\n", "byte 0x80 at byte offset 6, column 7", 1),
        Case("bytes-overlong-slash.yml", b"lab: x\xc0\xafy\n", "byte 0xc0", 1),
        Case("bytes-overlong-nul.yml", b"lab: x\xc0\x80y\n", "byte 0xc0", 1),
        Case("bytes-surrogate.yml", b"lab: x\xed\xa0\x80y\n", "byte 0xed", 1),
        Case("bytes-truncated-at-end.yml", b"lab: x\xe2\x82", "byte 0xe2", 1),
        Case("bytes-ff.yml", b"lab: \xff\n", "byte 0xff", 1),
        Case("bytes-above-unicode.yml", b"lab: \xf4\x90\x80\x80\n", "byte 0xf4", 1),
        Case("bytes-invalid-on-line-40.yml", inventory().encode() + b"x: \xfe\n", "byte 0xfe",
             inventory().count("\n") + 1),
        Case("bytes-bom-mid-file.yml", inventory(lab="hos\ufefftile").encode(), "U\\+FEFF", 2),
        Case("bytes-noncharacter-fffe.yml", inventory(lab="x\ufffe").encode(), "U\\+FFFE", 2),
        Case("bytes-noncharacter-ffff.yml", inventory(lab="x\uffff").encode(), "U\\+FFFF", 2),
        Case("bytes-nul-in-value.yml", _with(text, "\x00")[0], "U\\+0000 \\(NUL\\) at column 9", 2),
        Case("bytes-nul-at-start.yml", b"\x00" + inventory().encode(), "U\\+0000", 1),
        Case("bytes-nul-at-end.yml", inventory().encode() + b"\x00", "U\\+0000", inventory().count("\n") + 1),
        Case("bytes-nul-in-comment.yml", b"# \x00\n" + inventory().encode(), "U\\+0000 \\(NUL\\) at column 3", 1),
        Case("bytes-crlf-nul.yml", inventory().replace("\n", "\r\n").encode() + b"x: \x00\r\n", "U\\+0000",
             inventory().count("\n") + 1),
        Case("bytes-cr-only-bel.yml", b"lab: x\rhost: y\r\x07\r", "U\\+0007 \\(BEL\\)", 3),
    ]
    controls = {0x01: "SOH", 0x07: "BEL", 0x08: "BS", 0x0B: "VT", 0x0C: "FF", 0x1B: "ESC", 0x1F: "US",
                0x7F: "DEL", 0x80: None, 0x85: None, 0x9B: None, 0x9F: None, 0x2028: "LINE SEPARATOR",
                0x2029: "PARAGRAPH SEPARATOR", 0x202E: "RIGHT-TO-LEFT OVERRIDE", 0x202A: "LEFT-TO-RIGHT EMBEDDING",
                0x2066: "LEFT-TO-RIGHT ISOLATE", 0x2069: "POP DIRECTIONAL ISOLATE", 0x200B: "ZERO WIDTH SPACE",
                0x200F: "RIGHT-TO-LEFT MARK", 0x061C: "ARABIC LETTER MARK"}
    for code, cname in controls.items():
        data, line = _with(text, chr(code))
        expect = f"U\\+{code:04X}" + (f" \\({cname}\\)" if cname else " \\([^)]+\\)") + " at column 9"
        out.append(Case(f"bytes-control-{code:04x}-in-name.yml", data, expect, line))
    for code in (0x1B, 0x07, 0x202E, 0x85):
        data, line = _with(inventory(tail="# @@\n"), chr(code))
        out.append(Case(f"bytes-control-{code:04x}-in-comment.yml", data, f"U\\+{code:04X}", line))
    return out


# ---- shell metacharacters in every string that reaches a guest or a shell ---------------------

VM = "  - {{name: x1, {rest}adapters: [{{interface: eth0, network: nat{ad}}}]}}\n"
# (case id, where: inventory section or "step", the snippet with @@ for the value, a prefix for the
# payload so that only the payload is wrong (an address, a path), the field's path in errors)
FIELDS: list[tuple[str, str, str, str, str]] = [
    ("lab", "lab", "@@", "", r"lab"),
    ("vm-name", "vms", "  - {name: @@, adapters: [{interface: eth0, network: nat}]}\n", "x", r"vms\[2\]\.name"),
    ("vm-interface", "vms", VM.format(rest="", ad="").replace("eth0", "@@"), "eth", r"vms\[2\]\.adapters\[0\]\.interface"),
    ("vm-connection", "vms", VM.format(rest="os: windows, ", ad=", connection: @@"), "LAN",
     r"vms\[2\]\.adapters\[0\]\.connection"),
    ("vm-label", "vms", VM.format(rest="", ad=", label: @@"), "Network adapter 1", r"vms\[2\]\.adapters\[0\]\.label"),
    ("vm-mac", "vms", VM.format(rest="", ad=", mac: @@"), "00:0c:29:00:00:01", r"vms\[2\]\.adapters\[0\]\.mac"),
    ("vm-network", "vms", VM.format(rest="", ad="").replace("network: nat", "network: @@"), "nat",
     r"vms\[2\]\.adapters\[0\]\.network"),
    ("vm-ssh-user", "vms", VM.format(rest="ssh: {user: @@}, ", ad=""), "root", r"vms\[2\]\.ssh\.user"),
    ("vm-ssh-address", "vms", VM.format(rest="ssh: {address: @@}, ", ad=""), "10.0.0.5", r"vms\[2\]\.ssh\.address"),
    ("vm-ssh-password-env", "vms", VM.format(rest="ssh: {password_env: @@}, ", ad=""), "PW",
     r"vms\[2\]\.ssh\.password_env"),
    ("vm-guest-login-user", "vms", VM.format(rest="guest_login: {user: @@, password_env: PW}, ", ad=""), "admin",
     r"vms\[2\]\.guest_login\.user"),
    ("vm-guest-login-env", "vms", VM.format(rest="guest_login: {user: admin, password_env: @@}, ", ad=""), "PW",
     r"vms\[2\]\.guest_login\.password_env"),
    ("vm-files-path", "vms", VM.format(rest="files: {@@: x}, ", ad=""), "/etc/x", r"vms\[2\]\.files"),
    ("vm-config-address", "vms", VM.format(rest="", ad=", config: {address: @@}"), "10.0.0.50/24",
     r"vms\[2\]\.adapters\[0\]\.config"),
    ("vm-config-gateway", "vms", VM.format(rest="", ad=", config: {address: 10.0.0.50/24, gateway: @@}"), "10.0.0.2",
     r"vms\[2\]\.adapters\[0\]\.config"),
    ("vm-config-dns", "vms", VM.format(rest="", ad=", config: {dhcp: true, dns: [@@]}"), "10.0.0.2",
     r"vms\[2\]\.adapters\[0\]\.config\.dns\[0\]"),
    ("vm-dialect", "vms", VM.format(rest="dialect: @@, ", ad=""), "ifcfg", r"vms\[2\]\.dialect"),
    ("vm-os", "vms", VM.format(rest="os: @@, ", ad=""), "linux", r"vms\[2\]\.os"),
    ("vm-uuid", "vms", VM.format(rest="uuid: @@, ", ad=""), "4210a4f5-2fa4-7f21-b6f2-9a0b5e6c7d81",
     r"vms\[2\]\.uuid"),
    ("network-name", "networks", "  @@: {type: hostonly, subnet: 192.168.57.0/24}\n", "lab", r"networks\["),
    ("network-moid", "networks", "  net2: {type: hostonly, subnet: 192.168.57.0/24, moid: @@}\n", "network-12",
     r"networks\.net2\.moid"),
    ("network-subnet", "networks", "  net2: {type: hostonly, subnet: @@}\n", "192.168.57.0/24",
     r"networks\.net2\.subnet"),
    ("network-gateway", "networks", "  net2: {type: nat, subnet: 10.9.0.0/24, gateway: @@}\n", "10.9.0.2",
     r"networks\.net2\.gateway"),
    ("network-host-adapter", "networks", "  net2: {type: hostonly, subnet: 10.9.0.0/24, host_adapter: {address: @@}}\n",
     "10.9.0.1", r"networks\.net2\.host_adapter\.address"),
    ("network-dhcp-start", "networks", "  net2: {type: hostonly, subnet: 10.9.0.0/24, dhcp: {start: @@, end: 10.9.0.9}}\n",
     "10.9.0.5", r"networks\.net2\.dhcp\.start"),
    ("external-name", "externals", "  @@: {address: 203.0.113.20}\n", "ext", r"externals\["),
    ("external-address", "externals", "  ext2: {address: @@}\n", "203.0.113.20", r"externals\.ext2\.address"),
    ("host-lan-address", "host", "@@", "192.168.1.100", r"host\.lan_address"),
    ("lan-router", "router", "@@", "192.168.1.1", r"lan\.router"),
    ("backend-host", "backend", "  host: @@\n", "vcenter", r"backend\.host"),
    ("backend-user", "backend", "  user: @@\n", "admin", r"backend\.user"),
    ("backend-password-env", "backend", "  password_env: @@\n", "PW", r"backend\.password_env"),
    ("step-vms", "step", "  - set_mode: {vms: [@@], mode: nat}\n", "win7", r"steps\[6\]\.set_mode\.vms\[0\]"),
    ("step-mode", "step", "  - set_mode: {vms: [win7], mode: @@}\n", "nat", r"steps\[6\]\.set_mode\.mode"),
    ("step-adapter", "step", "  - set_mode: {vms: [win7], adapter: @@, mode: nat}\n", "eth0",
     r"steps\[6\]\.set_mode\.adapter"),
    ("step-configure-interface", "step", "  - configure_guest: {vms: [win7], interface: @@, dhcp: true}\n", "eth0",
     r"steps\[6\]\.configure_guest\.interface"),
    ("step-configure-address", "step", "  - configure_guest: {vms: [centos], address: @@}\n", "10.0.0.60/24",
     r"steps\[6\]\.configure_guest\.address"),
    ("step-configure-dns", "step", "  - configure_guest: {vms: [win7], dhcp: true, dns: [@@]}\n", "10.0.0.2",
     r"steps\[6\]\.configure_guest\.dns\[0\]"),
    ("step-restart-interface", "step", "  - restart_network: {vms: [win7], interface: @@}\n", "eth0",
     r"steps\[6\]\.restart_network\.interface"),
    ("step-wait-vms", "step", "  - wait_for_ip: {vms: [@@]}\n", "win7", r"steps\[6\]\.wait_for_ip\.vms\[0\]"),
    ("step-host-adapter-network", "step", "  - set_host_adapter: {network: @@, enabled: true}\n", "nat",
     r"steps\[6\]\.set_host_adapter\.network"),
    ("step-matrix-source", "step", "  - ping_matrix: {sources: [@@], targets: [router]}\n", "win7",
     r"steps\[6\]\.ping_matrix\.sources\[0\]"),
    ("step-matrix-target", "step", "  - ping_matrix: {sources: [win7], targets: [@@]}\n", "router",
     r"steps\[6\]\.ping_matrix\.targets\[0\]"),
    ("step-cell-from", "step", "  - ping_matrix: {sources: [win7], targets: [router], expect: {cells: "
     "[{from: @@, to: router, result: reachable}]}}\n", "win7", r"steps\[6\]\.ping_matrix\.expect"),
]
# Not in tests/broken's payloads ($( ) ` ; ' " newline): pipes, &&, redirection, cmd.exe's
# %VAR% and ^, option injection (a leading dash), globs and backslashes.
PAYLOADS = {"pipe": "{p}|reboot", "and": "{p}&&reboot", "redirect": "{p}>/tmp/pwned", "cmd-var": "{p}%COMSPEC%",
            "option": "-oProxyCommand=reboot {p}", "caret": "{p}^&calc", "glob": "{p}*"}


def _in_file(where: str, snippet: str) -> str:
    """The base inventory with `snippet` at the end of section `where` (or as its lab, host address or
    router), or the base playbook with `snippet` as a seventh step."""
    return playbook(steps=snippet) if where == "step" else inventory(**{where: snippet})


def inject_cases() -> list[Case]:
    out = []
    for fid, where, snippet, prefix, field in FIELDS:
        names = list(PAYLOADS) if fid in ("vm-name", "vm-interface", "step-vms", "vm-ssh-user", "lab") \
            else ["pipe", "redirect", "cmd-var", "option", "and"]
        for pname in names:
            value = PAYLOADS[pname].format(p=prefix)
            text = _in_file(where, snippet)
            data, line = _with(text, quote(value))
            out.append(Case(f"inject-{pname}-{fid}.yml", data, r"error: \S+:\d+: " + field, line))
    return out


# ---- control characters and terminal escapes that reach a name (written as escapes) ------------

def escape_cases() -> list[Case]:
    sequences = {"csi-red": "\x1b[31mred", "clear": "\x1b[2J", "osc-title": "\x1b]0;pwned\x07", "bell": "x\x07",
                 "backspace": "ok\x08\x08no", "cr": "fine\rforged", "c1-csi": "\x9b31m", "rlo": "x\u202egpj.exe",
                 "nul": "x\x00y", "del": "x\x7f"}
    out = []
    for sname, seq in sequences.items():
        for fid, where, snippet, field in (
                ("vm-name", "vms", "  - {name: @@, adapters: [{interface: eth0, network: nat}]}\n", r"vms\[2\]\.name"),
                ("network-name", "networks", "  @@: {type: hostonly, subnet: 192.168.57.0/24}\n", r"networks\["),
                ("lab", "lab", "@@", r"lab"),
                ("ssh-user", "vms", VM.format(rest="ssh: {user: @@}, ", ad=""), r"vms\[2\]\.ssh\.user")):
            data, line = _with(_in_file(where, snippet), quote(seq))
            out.append(Case(f"escape-{sname}-{fid}.yml", data, r"error: \S+:\d+: " + field, line))
        if sname not in ("csi-red", "rlo"):
            continue
        data, line = _with(playbook(name="@@"), quote(seq))
        out.append(Case(f"escape-{sname}-playbook-name.yml", data, r"error: \S+:\d+: name", line))
        data, line = _with(playbook(steps="  - name: @@\n    set_mode: {vms: [win7], mode: nat}\n"), quote(seq))
        out.append(Case(f"escape-{sname}-step-name.yml", data, r"error: \S+:\d+: steps\[6\]", line))
    return out


# ---- numbers, types, look-alikes, shapes ------------------------------------------------------

def number_cases() -> list[Case]:
    port = ("backend", "  port: @@\n", r"backend\.port")
    count = ("step", "  - ping_matrix: {sources: [win7], targets: [router], count: @@}\n", r"ping_matrix\.count")
    timeout = ("step", "  - wait_for_ip: {vms: [win7], timeout: @@}\n", r"wait_for_ip\.timeout")
    ssh_timeout = ("vms", VM.format(rest="ssh: {connect_timeout: @@}, ", ad=""), r"ssh\.connect_timeout")
    rollback = ("vms", VM.format(rest="rollback_after: @@, ", ad=""), r"vms\[2\]\.rollback_after")
    workers = ("backend", "  workers: @@\n", r"backend\.workers")
    values = {"huge": "99999999999999999999999999", "exp": "1e999", "neg-exp": "-1e999", "inf": ".inf",
              "neg-inf": "-.inf", "nan": ".nan", "negative": "-1", "zero": "0", "hex-huge": "0x" + "f" * 40,
              "float-for-int": "443.0", "underscore": "9_999_999", "octal": "0o7777777777",
              "neg-zero": "-0.0", "tiny": "1e-999", "binary": "0b" + "1" * 60}
    out = []
    for vname, value in values.items():
        for fname, (where, snippet, field) in (("port", port), ("count", count), ("timeout", timeout),
                                               ("ssh-timeout", ssh_timeout), ("rollback", rollback),
                                               ("workers", workers)):
            if (fname, vname) in _VALID_NUMBERS:
                continue
            data, line = _with(_in_file(where, snippet), value)
            out.append(Case(f"number-{vname}-{fname}.yml", data, r"error: \S+:\d+: \S*" + field, line))
    out.append(_text_case("number-65-digits.yml", inventory(backend="  port: " + "1" * 65 + "\n"),
                          "a number of 65 characters", marker="port:"))
    out.append(_text_case("number-64-digits.yml", inventory(backend="  port: " + "1" * 64 + "\n"),
                          r"backend\.port", marker="port:"))
    return out


# (field, value) pairs a number case would try that the field rightly accepts: a timeout of 443.0 s
_VALID_NUMBERS = {("timeout", "float-for-int"), ("rollback", "float-for-int")}


def type_cases() -> list[Case]:
    t = [
        ("top-list", "- lab: x\n", r"this file is a list"),
        ("top-scalar", "hostile\n", r"this file is a single string"),
        ("top-number", "42\n", r"this file is a single number"),
        ("top-bool", "true\n", r"this file is true or false"),
        ("top-null", "~\n", r"the file is empty"),
        ("top-empty-doc", "---\n...\n", r"the file is empty"),
        ("top-only-comments", "# nothing\n# here\n", r"the file is empty"),
        ("top-empty", "", r"the file is empty"),
    ]
    out = [_text_case(f"type-{n}.yml", text, expect, line=None) for n, text, expect in t]
    fields = [
        ("vms-mapping", inventory(tail="vms2: x\n").replace("vms:\n", "vms: {a: 1}\nold_vms:\n"), r"vms"),
        ("vms-string", inventory().replace("vms:\n", "vms: lots\nold_vms:\n"), r"vms"),
        ("networks-list", inventory().replace("networks:\n", "networks: [nat]\nold_networks:\n"), r"networks"),
        ("adapters-string", inventory(vms="  - {name: x1, adapters: eth0}\n"), r"vms\[2\]\.adapters"),
        ("adapters-empty", inventory(vms="  - {name: x1, adapters: []}\n"), r"vms\[2\]\.adapters"),
        ("adapters-eleven", inventory(vms="  - {name: x1, adapters: [" + ", ".join(
            f"{{interface: eth{i}, network: nat}}" for i in range(11)) + "]}\n"), r"vms\[2\]\.adapters"),
        ("ssh-string", inventory(vms=VM.format(rest="ssh: root@10.0.0.5, ", ad="")), r"vms\[2\]\.ssh"),
        ("ssh-list", inventory(vms=VM.format(rest="ssh: [root], ", ad="")), r"vms\[2\]\.ssh"),
        ("name-list", inventory(vms="  - {name: [x1], adapters: [{interface: eth0, network: nat}]}\n"), r"vms\[2\]\.name"),
        ("name-mapping", inventory(vms="  - {name: {x: 1}, adapters: [{interface: eth0, network: nat}]}\n"),
         r"vms\[2\]\.name"),
        ("name-bool", inventory(vms="  - {name: true, adapters: [{interface: eth0, network: nat}]}\n"), r"vms\[2\]\.name"),
        ("name-null", inventory(vms="  - {name: null, adapters: [{interface: eth0, network: nat}]}\n"),
         r"vms\[2\]\.name"),
        ("name-float", inventory(vms="  - {name: 1.5, adapters: [{interface: eth0, network: nat}]}\n"),
         r"vms\[2\]\.name"),
        ("mac-number", inventory(vms=VM.format(rest="", ad=", mac: 1234567890")), r"mac"),
        ("dns-string", inventory(vms=VM.format(rest="", ad=", config: {dhcp: true, dns: 10.0.0.2}")), r"dns"),
        ("dns-nine", inventory(vms=VM.format(rest="", ad=", config: {dhcp: true, dns: [" + ", ".join(
            ["10.0.0.2"] * 9) + "]}")), r"dns"),
        ("dhcp-string", inventory(vms=VM.format(rest="", ad=", config: {dhcp: maybe}")), r"dhcp"),
        ("port-string", inventory(backend="  port: \"443\"\n"), r"backend\.port"),
        ("port-list", inventory(backend="  port: [443]\n"), r"backend\.port"),
        ("files-list", inventory(vms=VM.format(rest="files: [/etc/x], ", ad="")), r"files"),
        ("files-content-number", inventory(vms=VM.format(rest="files: {/etc/x: 5}, ", ad="")), r"files"),
        ("backend-string", inventory().replace("backend:\n  type: sim\n", "backend: sim\n"), r"backend"),
        ("host-null", inventory().replace("host:\n  lan_address: 192.168.1.100\n  os: linux\n", "host:\n"), r"host"),
        ("externals-list", inventory().replace("externals:\n  internet: {address: 203.0.113.10}\n",
                                               "externals: [internet]\n"), r"externals"),
    ]
    for n, text, field in fields:
        out.append(Case(f"type-{n}.yml", text.encode(), r"error: \S+:\d+: \S*" + field, None))
    steps = [
        ("steps-mapping", playbook().replace("steps:\n", "steps: {a: 1}\nold_steps:\n"), r"steps"),
        ("steps-string", playbook().replace("steps:\n", "steps: all\nold_steps:\n"), r"steps"),
        ("step-list", playbook(steps="  - [set_mode, win7]\n"), r"steps\[6\]"),
        ("step-string", playbook(steps="  - set_mode\n"), r"steps\[6\]"),
        ("step-null", playbook(steps="  -\n"), r"steps\[6\]"),
        ("sources-string", playbook(steps="  - ping_matrix: {sources: win7, targets: [router]}\n"), r"sources"),
        ("sources-empty", playbook(steps="  - ping_matrix: {sources: [], targets: [router]}\n"), r"sources"),
        ("cells-mapping", playbook(steps="  - ping_matrix: {sources: [win7], targets: [router], expect: {cells: "
                                         "{from: win7}}}\n"), r"cells"),
        ("expect-number", playbook(steps="  - ping_matrix: {sources: [win7], targets: [router], expect: 5}\n"),
         r"expect"),
        ("enabled-string", playbook(steps="  - set_host_adapter: {network: nat, enabled: maybe}\n"), r"enabled"),
        ("step-vms-string", playbook(steps="  - set_mode: {vms: win7, mode: nat}\n"), r"vms"),
        ("step-vms-empty", playbook(steps="  - set_mode: {vms: [], mode: nat}\n"), r"vms"),
        ("inventory-list", playbook().replace(f"inventory: {INVENTORY}", "inventory: [a, b]"), r"inventory"),
        ("inventory-number", playbook().replace(f"inventory: {INVENTORY}", "inventory: 5"), r"inventory"),
        ("playbook-name-list", playbook(name="[a]"), r"name"),
        ("playbook-name-empty", playbook(name="''"), r"name"),
    ]
    for n, text, field in steps:
        out.append(Case(f"type-{n}.yml", text.encode(), r"error: \S+:\d+: \S*" + field, None))
    return out


def confusable_cases() -> list[Case]:
    cyr_a, cyr_o, cyr_e, greek_o = "\u0430", "\u043e", "\u0435", "\u03bf"
    full = str.maketrans("0123456789.", "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff0e")
    arabic = str.maketrans("0123456789", "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669")
    cases = [
        ("vm-network-cyrillic", "vms", VM.format(rest="", ad="").replace("network: nat", "network: @@"), "n" + cyr_a + "t",
         r"network"),
        ("vm-name-cyrillic", "vms", "  - {name: @@, adapters: [{interface: eth0, network: nat}]}\n", "c" + cyr_e + "ntos",
         r"vms\[2\]\.name"),
        ("lab-greek", "lab", "@@", "h" + greek_o + "stile", r"lab"),
        ("network-name-cyrillic", "networks", "  @@: {type: hostonly, subnet: 192.168.57.0/24}\n", "h" + cyr_o + "stonly",
         r"networks\["),
        ("interface-cyrillic", "vms", VM.format(rest="", ad="").replace("eth0", "@@"), cyr_e + "th0", r"interface"),
        ("dns-fullwidth", "vms", VM.format(rest="", ad=", config: {dhcp: true, dns: [@@]}"), "10.0.0.2".translate(full),
         r"dns"),
        ("address-fullwidth", "vms", VM.format(rest="", ad=", config: {address: @@}"), "10.0.0.50".translate(full) + "/24",
         r"config"),
        ("gateway-arabic-digits", "networks", "  net2: {type: nat, subnet: 10.9.0.0/24, gateway: @@}\n",
         "10.9.0.2".translate(arabic), r"gateway"),
        ("mac-fullwidth-colon", "vms", VM.format(rest="", ad=", mac: @@"), "00\uff1a0c:29:00:00:01", r"mac"),
        ("user-kelvin", "vms", VM.format(rest="ssh: {user: @@}, ", ad=""), "\u212aelvin", r"ssh\.user"),
        ("user-nbsp", "vms", VM.format(rest="ssh: {user: @@}, ", ad=""), "ro\u00a0ot", r"ssh\.user"),
        ("name-superscript", "vms", "  - {name: @@, adapters: [{interface: eth0, network: nat}]}\n", "vm\u00b2",
         r"vms\[2\]\.name"),
        ("name-dotless-i", "vms", "  - {name: @@, adapters: [{interface: eth0, network: nat}]}\n", "w\u0131n7",
         r"vms\[2\]\.name"),
        ("name-ligature", "vms", "  - {name: @@, adapters: [{interface: eth0, network: nat}]}\n", "\ufb01le",
         r"vms\[2\]\.name"),
        ("external-cyrillic", "externals", "  @@: {address: 203.0.113.20}\n", "int" + cyr_e + "rnet", r"externals\["),
        ("env-cyrillic", "vms", VM.format(rest="ssh: {password_env: @@}, ", ad=""), "P" + "\u0410" + "SS",
         r"password_env"),
        ("step-vm-cyrillic", "step", "  - set_mode: {vms: [@@], mode: nat}\n", "w" + "\u0456" + "n7", r"vms\[0\]"),
        ("step-mode-cyrillic", "step", "  - set_mode: {vms: [win7], mode: @@}\n", "n" + cyr_a + "t", r"mode"),
        ("step-source-cyrillic", "step", "  - ping_matrix: {sources: [@@], targets: [router]}\n", "h" + cyr_o + "st",
         r"sources\[0\]"),
        ("step-target-fullwidth", "step", "  - ping_matrix: {sources: [win7], targets: [@@]}\n",
         "10.0.0.2".translate(full), r"targets\[0\]"),
    ]
    out = []
    for n, where, snippet, value, field in cases:
        data, line = _with(_in_file(where, snippet), quote(value))
        out.append(Case(f"confusable-{n}.yml", data, r"error: \S+:\d+: \S*" + field, line))
        data, line = _with(_in_file(where, snippet), value)  # the same, unquoted
        out.append(Case(f"confusable-{n}-plain.yml", data, r"error: \S+:\d+: \S*" + field, line))
    out.append(_text_case("confusable-key-cyrillic-lab.yml", inventory().replace("lab: hostile", "l" + cyr_a + "b: hostile"),
                          "unknown key", marker="l" + cyr_a + "b"))
    return out


def shape_cases() -> list[Case]:
    """Playbooks that are not mappings are told what a playbook is (not what an inventory is)."""
    a_playbook = "a playbook is a mapping with name, inventory and steps"
    return [
        _text_case("playbook-scalar.yml", "# a playbook\njust a string\n", a_playbook, line=2),
        _text_case("playbook-number.yml", "5\n", a_playbook, line=1),
        _text_case("playbook-list-of-steps.yml", "- set_mode: {vms: [win7], mode: nat}\n", a_playbook, line=1),
        _text_case("shape-list-of-steps.yml", "\n- name: x\n  set_mode: {vms: [win7], mode: nat}\n", a_playbook, line=2),
        _text_case("playbook-list.yml", "- a\n- b\n", a_playbook, line=1),
        _text_case("playbook-bool.yml", "false\n", a_playbook, line=1),
        _text_case("shape-scalar-unnamed.yml", "hello\n", "an inventory is a mapping .* and a playbook a mapping",
                   line=1),
        _text_case("shape-list-unnamed.yml", "\n\n- a\n", "this file is a list", line=3),
    ]


def misc_cases() -> list[Case]:
    tls = inventory().replace("  type: sim\n", "  type: workstation\n  tls: false\n  ca_file: /etc/ssl/ca.pem\n")
    insecure = inventory().replace("  type: sim\n", "  type: workstation\n  tls: false\n  insecure: true\n")
    return [
        _text_case("misc-tls-false-with-ca-file.yml", tls, r"backend\.tls: ca_file and insecure apply to https only",
                   marker="tls: false"),
        _text_case("misc-tls-false-with-insecure.yml", insecure, r"backend\.tls: ca_file and insecure",
                   marker="tls: false"),
        _text_case("misc-tab-indent.yml", inventory(vms="  - name: x1\n\tadapters: []\n"), "tab", marker="\tadapters"),
        _text_case("misc-playbook-inventory-is-fifo.yml", playbook().replace(INVENTORY, "fifo-inventory.yml"),
                   "a FIFO|no such file", marker="inventory:"),
        _text_case("misc-playbook-inventory-hostile.yml", playbook().replace(INVENTORY, "bomb-inventory.yml"),
                   "aliases repeat more than", line=None, names="bomb-inventory.yml"),
        _text_case("misc-playbook-inventory-dev-zero.yml", playbook().replace(INVENTORY, "/dev/zero"),
                   "a character device|no such file", marker="inventory:"),
    ]


# ---- `files:` a netns or real guest would run, and names that are terminal markup ---------------

IFCFG = "/etc/sysconfig/network-scripts/ifcfg-eth0"
# Lines an ifcfg file may not hold where a shell sources it (the netns lab's guests, a real RHEL)
SOURCED = {"command": "touch /tmp/labkit-proof", "subst": "IPADDR=$(touch /tmp/labkit-proof)",
           "subst-quoted": 'NAME="$(touch /tmp/labkit-proof)"', "backquote": "GATEWAY=`touch /tmp/labkit-proof`",
           "backquote-word": "UUID=`id`", "semicolon": "ONBOOT=yes; touch /tmp/labkit-proof",
           "and": "ONBOOT=yes && reboot", "pipe": "ONBOOT=yes | sh", "function": "f() { touch /tmp/labkit-proof; }",
           "expansion": "UUID=${UUID}", "arithmetic": "PREFIX=$((24))", "dot": ". /etc/labkit-proof",
           "source": "source /etc/labkit-proof", "exec": "exec reboot", "export": "export IPADDR=10.0.0.9",
           "two-assignments": "IPADDR=10.0.0.9 GATEWAY=10.0.0.2", "env-prefix": "X=1 reboot",
           "redirect": "IPADDR=10.0.0.9 >/etc/passwd", "open-quote": "NAME='unclosed",
           "background": "ONBOOT=yes & reboot", "tilde-command": "~/labkit-proof", "subshell": "(reboot)",
           "dollar-word": "DEVICE=$1"}
# ifupdown statements that run a command or pull in another file
HOOKS = {"post-up": "    post-up touch /tmp/labkit-proof", "pre-up": "    pre-up reboot", "up": "    up reboot",
         "down": "    down reboot", "pre-down": "    pre-down reboot", "post-down": "    post-down reboot",
         "source": "source /etc/labkit-proof", "source-directory": "source-directory /etc/labkit.d"}
_BACKENDS = {"netns": "", "vsphere": "  host: vcenter.example.com\n  user: admin\n  password_env: VC_PW\n",
             "workstation": ""}


def _on(backend: str, text: str) -> str:
    """The base inventory's text on another backend (its own keys added)."""
    return text.replace("  type: sim\n", f"  type: {backend}\n{_BACKENDS[backend]}")


def files_cases() -> list[Case]:
    """A VM's `files:` content that its guest would run (labkit.dialects.plainconfig): refused for
    netns and real backends, at the inventory line that holds the offending line of the file."""
    out = []
    for backend in _BACKENDS:
        for pname, line in SOURCED.items():
            vms = (f"  - name: x1\n    dialect: ifcfg\n    adapters: [{{interface: eth0, network: nat}}]\n    files:\n"
                   f"      {IFCFG}: |\n        DEVICE=eth0\n        {line}\n        ONBOOT=yes\n")
            if backend != "netns" and pname not in ("command", "subst", "backquote", "function", "semicolon"):
                continue
            text = _on(backend, inventory(vms=vms))
            out.append(_text_case(f"files-ifcfg-{pname}-{backend}.yml", text, r"vms\[2\]\.files\[.*line 2 of the file",
                                  line=_line_of(text, "        " + line)))
        for hname, line in HOOKS.items():
            if backend != "netns" and hname not in ("post-up", "source"):
                continue
            indent = "        "
            content = f"{indent}auto eth0\n{indent}iface eth0 inet dhcp\n{indent}{line}\n"
            vms = (f"  - name: x1\n    dialect: ifupdown\n    adapters: [{{interface: eth0, network: nat}}]\n"
                   f"    files:\n      /etc/network/interfaces: |\n{content}")
            text = _on(backend, inventory(vms=vms))
            out.append(_text_case(f"files-ifupdown-{hname}-{backend}.yml", text,
                                  rf"vms\[2\]\.files\[.*line 3 of the file: '{hname}'", line=_line_of(text, indent + line)))
    # in a flow or quoted value, the error names the value's own line
    text = _on("netns", inventory(vms=f'  - {{name: x1, adapters: [{{interface: eth0, network: nat}}], files: '
                                      f'{{{IFCFG}: "DEVICE=eth0\\ntouch /tmp/labkit-proof\\n"}}}}\n'))
    out.append(_text_case("files-ifcfg-quoted-value-netns.yml", text, r"line 2 of the file", marker="name: x1"))
    return out


# A Rich markup tag, an OSC 8 hyperlink and other escapes written as text: names labkit takes as
# identifiers refuse them (the terminal, JUnit and HTML reports show them as text wherever they
# may appear: tests/report/test_hostile_text.py)
MARKUP = {"link": "[link=http://x]a[/link]", "bold": "[bold red]x[/]", "emoji": ":smile:", "osc8": "\x1b]8;;http://x\x07a",
          "title": "\x1b]0;owned\x07", "html": "<script>alert(1)</script>", "xml-end": "x]]>", "amp": "x&amp;y"}


def markup_cases() -> list[Case]:
    out = []
    for mname, value in MARKUP.items():
        for fid, where, snippet, field in (
                ("vm-name", "vms", "  - {name: @@, adapters: [{interface: eth0, network: nat}]}\n", r"vms\[2\]\.name"),
                ("network-name", "networks", "  @@: {type: hostonly, subnet: 192.168.57.0/24}\n", r"networks\["),
                ("external-name", "externals", "  @@: {address: 203.0.113.20}\n", r"externals\["),
                ("interface", "vms", VM.format(rest="", ad="").replace("eth0", "@@"), r"vms\[2\]\.adapters\[0\]\.interface"),
                ("label", "vms", VM.format(rest="", ad=", label: @@"), r"vms\[2\]\.adapters\[0\]\.label"),
                ("step-vms", "step", "  - set_mode: {vms: [@@], mode: nat}\n", r"steps\[6\]\.set_mode\.vms\[0\]")):
            data, line = _with(_in_file(where, snippet), quote(value))
            out.append(Case(f"markup-{mname}-{fid}.yml", data, r"error: \S+:\d+: " + field, line))
        if "\x1b" in value:  # vSphere names may hold brackets, but no control character
            data, line = _with(inventory(vms=VM.format(rest="backend_name: @@, ", ad="")), quote(value))
            out.append(Case(f"markup-{mname}-backend-name.yml", data, r"error: \S+:\d+: vms\[2\]\.backend_name", line))
    return out


def cases() -> list[Case]:
    out = (yaml_cases() + alias_cases() + deep_cases() + key_cases() + big_cases() + file_cases() + bytes_cases()
           + inject_cases() + escape_cases() + number_cases() + type_cases() + confusable_cases() + shape_cases()
           + misc_cases() + files_cases() + markup_cases())
    names = [c.name for c in out]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, duplicates
    return out


def write_support(directory: Path) -> None:
    """What cases refer to: the base inventory and playbook, and a FIFO named as an inventory."""
    (directory / INVENTORY).write_text(inventory(), encoding="utf-8")
    (directory / "base-playbook.yml").write_text(playbook(), encoding="utf-8")
    bomb = alias_cases()[0].content
    assert isinstance(bomb, bytes)
    (directory / "bomb-inventory.yml").write_text(inventory(tail=bomb.decode()), encoding="utf-8")
    if not (directory / "fifo-inventory.yml").exists():
        os.mkfifo(directory / "fifo-inventory.yml")


def materialize(case: Case, directory: Path) -> Path:
    """Write one case into `directory` (once); the path to give `labkit check`."""
    path = directory / case.name
    if path.exists() or path.is_symlink():
        return path
    if isinstance(case.content, bytes):
        path.write_bytes(case.content)
        return path
    return case.content(directory)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    directory = Path(argv[1])
    directory.mkdir(parents=True, exist_ok=True)
    write_support(directory)
    every = cases()
    for case in every:
        materialize(case, directory)
    print(f"{len(every)} cases in {directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
