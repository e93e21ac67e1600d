"""One contract, every backend: the same tests run against each backend that can run here.

Each backend is declared once below (BACKENDS) with the capabilities it has. A test says what it
needs with `@pytest.mark.needs(...)`; `pytest_generate_tests` parametrizes it over exactly the
backends that declare all of it, so a test for a capability a backend lacks is never collected for
that backend (not a skip: there is nothing to skip). Tests that take `subject` and need nothing run
everywhere; the declaration itself is tested too (`console`, `batch`, `host_adapters`, `links` and
`snapshots` are not None exactly when declared), so a declaration cannot drift from the backend.

The backends, and the real parts behind them here:
- sim: the simulated lab of inventory/seed-lab.yml, in memory (simulated SSH and console); runs anywhere.
- netns: inventory/seed-netns.yml built as lab `contract-netns` (root, the lab's Debian packages).
- vsphere: vcsim (.build/vcsim, `make vcsim`) whose VMware Tools guest operations run in the guests
  of a netns lab of its own (tests/contract/vsphere_lab.py).
- workstation: the fake vmrest held to VMware's swagger (its published swagger definition), its VMs' Tools answers and
  SSH leading to the guests of a netns lab of its own, and the test vmrun (console, snapshots) on the
  same VMs and guests (tests/contract/workstation_lab.py).
A backend's lab is opened once per session (when its first test runs) and closed when pytest moves
on to the next backend; tests restore what they change. A missing real part skips that backend's
tests with the reason via tests.conftest.require, and fails them under CI=true: nothing real may
silently drop out of CI.

A known contract failure of one backend is listed in its `xfail` (strict: it fails the run as soon
as it passes, so the entry is removed with the fix).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from tests.contract.local_labs import open_netns, open_sim
from tests.contract.subject import CAPABILITIES, BackendSpec, Subject
from tests.contract.vsphere_lab import open_vsphere
from tests.contract.workstation_lab import open_workstation

EVERYWHERE = frozenset({"adapters", "power", "guest_nics", "files", "commands", "matrix"})

BACKENDS = (
    BackendSpec("sim", EVERYWHERE | {"console", "host_adapters", "links", "snapshots"}, frozenset({"ssh"}), open_sim),
    BackendSpec("netns", EVERYWHERE | {"console", "host_adapters", "links"}, frozenset({"ssh"}), open_netns),
    BackendSpec("vsphere", EVERYWHERE | {"console", "batch", "links", "snapshots"}, frozenset({"vmware-tools"}),
                open_vsphere),
    # vmrest: no links; labkit beside vmrest is on the host, so it switches the host's adapters and
    # uses vmrun there (the test vmrun, on the fake vmrest's VMs): its console and its snapshots
    BackendSpec("workstation", EVERYWHERE | {"console", "host_adapters", "snapshots"}, frozenset({"ssh"}),
                open_workstation),
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(*capabilities): run this contract test only on backends that "
                                       "declare every one of them")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "subject" not in metafunc.fixturenames:
        return
    needs = frozenset(cap for mark in metafunc.definition.iter_markers("needs") for cap in mark.args)
    unknown = needs - CAPABILITIES
    if unknown:
        raise ValueError(f"{metafunc.function.__name__} needs unknown capabilities {sorted(unknown)}")
    params = []
    for spec in BACKENDS:
        if not needs <= spec.caps:
            continue
        why = spec.xfail.get(metafunc.function.__name__)
        marks = [pytest.mark.xfail(strict=True, reason=f"{spec.name}: {why}")] if why else []
        params.append(pytest.param(spec, id=spec.name, marks=marks))
    if not params:
        raise ValueError(f"{metafunc.function.__name__}: no backend declares {sorted(needs)}")
    metafunc.parametrize("subject", params, indirect=True, scope="session")


@pytest.fixture(scope="session")
def subject(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Subject]:
    spec: BackendSpec = request.param
    with spec.open(tmp_path_factory.mktemp(f"contract-{spec.name}")) as opened:
        yield replace(opened, spec=spec)


@pytest.fixture(autouse=True)
def _fakes_keep_their_definition(request: pytest.FixtureRequest) -> Iterator[None]:
    """A fake server behind a backend (the vmrest one) must have seen only requests its definition allows."""
    yield
    if "subject" in request.fixturenames:
        subj: Subject = request.getfixturevalue("subject")
        broken = subj.violations()
        assert not broken, "requests or responses outside the definition:\n" + "\n".join(broken)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run each backend's contract tests together, in BACKENDS order, so its lab is opened once.

    pytest groups a session-scoped parameter by its index in each test's own list, and the lists
    differ (a test is parametrized only over the backends that declare what it needs): left alone,
    a lab would be opened again whenever the index lines up with another backend. Only this suite's
    items move, and only among the places they already hold.
    """
    order = {spec.name: k for k, spec in enumerate(BACKENDS)}
    slots = [k for k, item in enumerate(items) if _backend_of(item) is not None]
    ours = sorted((items[k] for k in slots), key=lambda item: order[_backend_of(item) or ""])
    for k, item in zip(slots, ours, strict=True):
        items[k] = item


def _backend_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    spec = callspec.params.get("subject") if callspec is not None else None
    return spec.name if isinstance(spec, BackendSpec) else None
