"""The Workstation package's own import graph: no cycle, and nothing from above the backends layer.

Read from the source (every import, the ones inside functions included), so a lazy import cannot
hide a cycle: hostfiles and vmrest produce facts.VnetFacts, hostnet merges them, and none of the
three imports another's module back.
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import labkit.backends.workstation as package

PACKAGE = Path(package.__file__).parent
NAME = "labkit.backends.workstation"
# what the package may use of labkit: the model, errors, protocols, clock and OS helpers at the
# bottom, and the backends' shared SSH/local transports, command runner and address lookup beside it
# (and the SSH-then-console fallback with the inventory's SSH settings, for the vmrun console)
ALLOWED = {"labkit.errors", "labkit.model", "labkit.protocols", "labkit.clock", "labkit.osutil",
           "labkit.backends.addresses", "labkit.backends.consoles", "labkit.backends.transports.ssh", "labkit.backends.transports.local",
           "labkit.backends.transports.commands", "labkit.backends.transports.bastions",
           "labkit.backends.transports.fallback", "labkit.backends.transports.sshinventory"}


def imports() -> dict[str, set[str]]:
    """module -> the labkit modules it imports (anywhere in its body)."""
    out: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.glob("*.py")):
        module = NAME if path.stem == "__init__" else f"{NAME}.{path.stem}"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("labkit"):
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name.startswith("labkit"))
        out[module] = found
    return out


def test_the_package_has_no_import_cycle():
    graph = {m: {d for d in deps if d.startswith(NAME + ".")} for m, deps in imports().items()}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_the_facts_types_depend_on_no_reader():
    assert imports()[f"{NAME}.facts"] == set()
    for reader in ("hostfiles", "vmrest"):
        assert f"{NAME}.hostnet" not in imports()[f"{NAME}.{reader}"]


def test_nothing_from_above_the_backends_layer():
    outside = {m: sorted(d for d in deps if not d.startswith(NAME) and d not in ALLOWED)
               for m, deps in imports().items()}
    assert {m: d for m, d in outside.items() if d} == {}


def test_each_hypervisor_knows_only_its_own_way():
    deps = imports()
    assert f"{NAME}.vmrest" not in deps[f"{NAME}.vmx_hypervisor"]
    assert not {f"{NAME}.vmx", f"{NAME}.vmxedit"} & deps[f"{NAME}.vmrest_hypervisor"]
