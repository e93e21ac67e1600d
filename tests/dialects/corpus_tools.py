"""The real tools the corpus test checks labkit's output with, each called for many texts at once.

`bash -n` and sourcing in a scratch shell (ifcfg), `ifquery -i` (ifupdown), GLib's GKeyFile through the
system python3's PyGObject, one process for every keyfile (nmkeyfile), and netplan's generator with
`--root-dir` (what `netplan generate` runs; each call writes only under its own temporary root). A check
records whether the tool accepts the text, its message, and what it read that contradicts the edit.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from labkit.dialects.ifcfg import IfcfgFile
from labkit.errors import GuestConfigError

WORKERS = 4  # real-tool subprocesses at once (the machine has 2 cores; the tools mostly wait on exec)


@dataclass
class ToolCheck:
    text: str
    what: str  # original, static, dhcp
    interface: str
    accepted: bool | None = None
    message: str = ""
    problems: list[str] = field(default_factory=list)


def check_bash(checks: list[ToolCheck]) -> None:
    """`bash -n`, then sourced by a scratch bash (no PATH, empty environment, a temp directory):
    every value labkit reads must be the value bash reads."""
    bash = shutil.which("bash")
    if bash is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        def one(n_check: tuple[int, ToolCheck]) -> None:
            n, check = n_check
            path = Path(tmp, f"ifcfg-{n}")
            path.write_bytes(check.text.encode("utf-8", "surrogateescape"))
            syntax = subprocess.run([bash, "-n", str(path)], capture_output=True, check=False)
            if syntax.returncode:
                check.accepted, check.message = False, syntax.stderr.decode(errors="replace").strip()
                return
            run = subprocess.run([bash, "--noprofile", "--norc", "-c", 'set -a; . "$1" >/dev/null 2>&1; '
                                  "exec /usr/bin/env -0", "bash", str(path)],
                                 capture_output=True, env={"PATH": "/nonexistent"}, cwd=tmp, check=False)
            shell = dict(item.split(b"=", 1) for item in run.stdout.split(b"\0") if b"=" in item)
            check.accepted = True
            try:
                f = IfcfgFile.parse(check.text, "x")
            except GuestConfigError as e:  # labkit refuses the file: the test lists why
                check.message = f"sourced; labkit refuses it: {e}"
                return
            for key in f.keys():
                want = (f.get(key) or "").encode("utf-8", "surrogateescape")
                got = shell.get(key.encode())
                if got is not None and got != want:
                    check.problems.append(f"bash reads {key}={got!r}, labkit {want!r}")
            if check.what == "static":
                proto = shell.get(b"BOOTPROTO", b"none")
                if shell.get(b"IPADDR") != b"192.0.2.10" or proto not in (b"none", b"static"):
                    check.problems.append(f"bash does not see the static address: {shell.get(b'IPADDR')!r}")
            elif check.what == "dhcp" and shell.get(b"BOOTPROTO") != b"dhcp":
                check.problems.append(f"bash reads BOOTPROTO={shell.get(b'BOOTPROTO')!r} after a DHCP edit")

        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(one, enumerate(checks)))


def check_ifquery(checks: list[ToolCheck]) -> None:
    ifquery = shutil.which("ifquery") or shutil.which("ifquery", path="/usr/sbin:/sbin")
    if ifquery is None:
        return
    with tempfile.TemporaryDirectory() as tmp:
        def one(n_check: tuple[int, ToolCheck]) -> None:
            n, check = n_check
            path = Path(tmp, f"interfaces-{n}")
            path.write_bytes(check.text.encode("utf-8", "surrogateescape"))
            listed = subprocess.run([ifquery, "-i", str(path), "--list"], capture_output=True, text=True,
                                    errors="replace", check=False)
            check.accepted = listed.returncode == 0
            check.message = listed.stderr.strip()
            if not check.accepted or check.what == "original":
                return
            shown = subprocess.run([ifquery, "-i", str(path), check.interface], capture_output=True, text=True,
                                   errors="replace", check=False)
            lines = set(shown.stdout.splitlines())
            if check.what == "static":
                wanted = {"address: 192.0.2.10", "gateway: 192.0.2.1"}
                if not (wanted <= lines and lines & {"netmask: 255.255.255.0", "netmask: 24"}):
                    check.problems.append(f"ifquery {check.interface} shows {sorted(lines)}")
                if not any(line.startswith("dns-nameservers: 192.0.2.53") for line in lines):
                    check.problems.append(f"ifquery {check.interface} shows no dns-nameservers 192.0.2.53")
            elif any(re.fullmatch(r"(?:address|gateway): [0-9]+(?:\.[0-9]+){3}(/[0-9]+)?", line) for line in lines):
                check.problems.append(f"ifquery {check.interface} still shows an IPv4 address: {sorted(lines)}")

        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(one, enumerate(checks)))


_GLIB = r"""  # run by the system python3, which has PyGObject
import json, sys
import gi
gi.require_version("GLib", "2.0")
from gi.repository import GLib
out = []
for text in json.load(sys.stdin):
    k = GLib.KeyFile()
    try:
        k.load_from_data(text, len(text.encode()), GLib.KeyFileFlags.NONE)
    except GLib.Error as e:
        out.append({"error": e.message}); continue
    groups = {}
    for g in k.get_groups()[0]:
        groups[g] = {key: k.get_string(g, key) for key in k.get_keys(g)[0]}
    out.append({"groups": groups})
print(json.dumps(out))
"""


def check_glib(checks: list[ToolCheck]) -> None:
    """GLib's own GKeyFile, in one system-python3 process for every text."""
    python = shutil.which("python3", path="/usr/bin")
    if python is None:
        return
    texts = [c.text for c in checks]
    run = subprocess.run([python, "-c", _GLIB], input=json.dumps(texts), capture_output=True, text=True,
                         check=False)
    if run.returncode:
        return  # no PyGObject: the test says so
    for check, result in zip(checks, json.loads(run.stdout), strict=True):
        check.accepted = "error" not in result
        check.message = result.get("error", "")
        if not check.accepted or check.what == "original":
            continue
        ipv4 = result["groups"].get("ipv4", {})
        method = ipv4.get("method", "auto")
        if check.what == "static" and (method != "manual" or not any(
                re.fullmatch(r"address(?:es)?[0-9]*", k) and v.startswith("192.0.2.10") for k, v in ipv4.items())):
            check.problems.append(f"GLib reads [ipv4] {ipv4}")
        if check.what == "dhcp" and method != "auto":
            check.problems.append(f"GLib reads [ipv4] method={method}")


def check_netplan(checks: list[ToolCheck]) -> None:
    generate = netplan_generate()
    if generate is None:
        return

    def one(check: ToolCheck) -> None:
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(f"{root}/etc/netplan")
            path = f"{root}/etc/netplan/90-corpus.yaml"
            with open(path, "w", encoding="utf-8", errors="surrogateescape", newline="") as f:
                f.write(check.text)
            os.chmod(path, 0o600)
            run = subprocess.run([generate, "--root-dir", root], capture_output=True, text=True, errors="replace",
                                 check=False)
            check.accepted = run.returncode == 0
            check.message = "\n".join(line for line in run.stderr.splitlines() if "WARNING" not in line).strip()
            if run.returncode < 0:
                check.message = f"netplan generate died of signal {-run.returncode}\n{check.message}"
            if check.accepted and check.what == "static":
                out = "".join(p.read_text(errors="replace") for p in Path(root, "run").rglob("*") if p.is_file())
                if "192.0.2.10/24" not in out:
                    check.problems.append("netplan generate wrote no 192.0.2.10/24 for the static edit")

    with ThreadPoolExecutor(WORKERS) as pool:
        list(pool.map(one, checks))


def netplan_generate() -> str | None:
    """netplan's generator (what `netplan generate` runs), called directly: it takes --root-dir too."""
    return next((g for g in ("/usr/libexec/netplan/generate", "/lib/netplan/generate") if os.access(g, os.X_OK)),
                None)


def tool_reason(message: str) -> str:
    """The words of a tool's message, without the temporary file's path: what the test lists and finds."""
    lines = [line for line in message.splitlines() if line.strip()]
    first = next((line for line in lines if re.search(r"^ERROR|Error in network definition|Invalid YAML|signal", line)),
                 lines[0] if lines else "")
    return re.sub(r"^(?:[\w-]+: )?\S*/\S+?:[0-9]+(?::[0-9]+)?: ", "", first)[:100]


@functools.cache
def glib_present() -> bool:
    python = shutil.which("python3", path="/usr/bin")
    return python is not None and subprocess.run(
        [python, "-c", "import gi; gi.require_version('GLib', '2.0'); from gi.repository import GLib"],
        capture_output=True, check=False).returncode == 0
