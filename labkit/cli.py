"""The `labkit` command: arguments in, one library call, a report out. Nothing else lives here.

Exit status: 0 all steps succeeded and every expected cell held; 1 a step failed or a cell did not
hold; 2 bad input or usage (nothing was touched).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from labkit.errors import InputError, InputErrors, LabkitError

if TYPE_CHECKING:
    from types import TracebackType

    from rich.console import Console
    from rich.progress import TaskID

    from labkit.model import Inventory, PingMatrix, Step
    from labkit.protocols import Lab
    from labkit.results import RunResult

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Drive VMware network labs and check them against a model of VMware networking.")
lab_app = typer.Typer(no_args_is_help=True, help="Build, show and tear down a local lab (netns backend).")

InventoryOpt = Annotated[Path | None, typer.Option("-i", "--inventory", help="inventory YAML file")]
BackendOpt = Annotated[str | None, typer.Option("--backend", help="sim (default), netns, vsphere, workstation")]
JsonOpt = Annotated[Path | None, typer.Option("--json", help="write the JSON report here")]
JunitOpt = Annotated[Path | None, typer.Option("--junit", help="write a JUnit XML report here")]
HtmlOpt = Annotated[Path | None, typer.Option("--html", help="write a self-contained HTML report here")]


def _fail_input(exc: InputError) -> NoReturn:
    errors = exc.errors if isinstance(exc, InputErrors) else [exc]
    for err in errors:
        typer.echo(f"error: {InputError.__str__(err)}", err=True)
    raise typer.Exit(2)


def _console():
    from labkit.report.terminal import make_console

    return make_console()


class _ProgressBar:
    """A Rich progress bar per step (sources of a matrix, VMs of a step); silent when not a terminal."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console, transient=True,
                            disable=not console.is_terminal)
        self.task: TaskID | None = None

    def __enter__(self) -> _ProgressBar:
        self.bar.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.bar.__exit__(kind, exc, tb)

    def step(self, step: Step, units: int) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(f"{step.kind} {step.name}", total=units)

    def advance(self, what: str) -> None:
        if self.task is not None:
            self.bar.advance(self.task)


def _open_or_exit(inv: Inventory, backend: str | None, completed: bool = False) -> Lab:
    """Open the lab, or exit 2 with one line: a lab that is not there (a netns lab not up, an
    unknown backend) is a usage problem, reported before anything is touched."""
    from labkit.backends import open_lab

    try:
        return open_lab(inv, backend, completed=completed)
    except InputError as exc:
        _fail_input(exc)
    except LabkitError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _check_report_paths(*paths: Path | None) -> None:
    """Refuse unusable report paths before the run, not after it."""
    for path in paths:
        if path is not None and path.is_dir():
            _fail_input(InputError("is a directory; give a file name for the report", file=str(path)))


def _write_reports(run: RunResult, json_path: Path | None, junit_path: Path | None,
                   html_path: Path | None = None) -> None:
    from labkit.report.as_html import write_html
    from labkit.report.as_json import write_json
    from labkit.report.as_junit import write_junit

    try:
        if json_path:
            write_json(run, json_path)
        if junit_path:
            write_junit(run, junit_path)
        if html_path:
            write_html(run, html_path)
    except OSError as exc:
        typer.echo(f"error: cannot write the report: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def run(playbook: Annotated[Path, typer.Argument(help="playbook YAML file")],
        inventory: InventoryOpt = None, backend: BackendOpt = None,
        json: JsonOpt = None, junit: JunitOpt = None, html: HtmlOpt = None,
        workers: Annotated[int, typer.Option(min=1, max=256, help="VMs or sources handled at once")] = 8) -> None:
    """Run a playbook's steps and report every step and matrix."""
    from labkit.backends import capabilities, complete_inventory, open_lab
    from labkit.report.terminal import render_run
    from labkit.playbook import load_checked
    from labkit.runner import run_playbook

    _check_report_paths(json, junit, html)
    try:
        pb, inv = load_checked(playbook, inventory, complete=complete_inventory,
                               capabilities=lambda inv: capabilities(inv, backend), backend=backend)
    except InputError as exc:
        _fail_input(exc)
    lab = _open_or_exit(inv, backend, completed=True)
    console = _console()
    try:
        with _ProgressBar(console) as progress:
            result = run_playbook(pb, lab, progress=progress, workers=workers)
    finally:
        lab.close()
    render_run(result, console)
    _write_reports(result, json, junit, html)
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def check(files: Annotated[list[Path], typer.Argument(help="inventory and playbook files")]) -> None:
    """Validate inventories and playbooks (a playbook together with its inventory); touch nothing.

    Only the named files (and a playbook's inventory) are read. Facts a backend settles when a lab
    is opened (a Workstation host's VMnets) are listed as notes: they are not errors here."""
    from labkit.backends import capabilities
    from labkit.inventory import load_inventory, offline_notes
    from labkit.playbook import load_checked
    from labkit.yamlsrc import load, shared_reads

    bad = False
    noted: set[str] = set()  # an inventory checked alone and through a playbook is noted once
    with shared_reads():  # each file is parsed once, however many playbooks name it
        for path in files:
            try:
                src = load(path)
                if _is_playbook(src.data, path):
                    _, inv = load_checked(path, capabilities=capabilities)  # a step the backend cannot do: refused
                elif not isinstance(src.data, dict) and "inventor" not in "/".join(Path(path).parts[-2:]).lower():
                    raise src.error(f"this file is {_shape(src.data)}, but an inventory is a mapping (lab, host, lan, "
                                    "networks, vms...) and a playbook a mapping with name, inventory and steps")
                else:
                    inv = load_inventory(path)
                typer.echo(f"ok: {path}")
                for note in offline_notes(inv):
                    if note not in noted:
                        noted.add(note)
                        typer.echo(f"note: {note}")
            except InputError as exc:
                bad = True
                errors = exc.errors if isinstance(exc, InputErrors) else [exc]
                for err in errors[:MAX_ERRORS_SHOWN]:
                    typer.echo(f"error: {InputError.__str__(err)}", err=True)
                if len(errors) > MAX_ERRORS_SHOWN:
                    more = errors[MAX_ERRORS_SHOWN]
                    rest = InputError(f"{len(errors) - MAX_ERRORS_SHOWN:,} more problems not shown (fix these first)",
                                      file=more.file, line=more.line)
                    typer.echo(f"error: {rest}", err=True)
    raise typer.Exit(2 if bad else 0)


MAX_ERRORS_SHOWN = 200  # per file: a list of 100,000 wrong values is not read line by line


def _shape(data: object) -> str:
    if isinstance(data, list):
        return "a list"
    return "true or false" if isinstance(data, bool) else \
        "a single number" if isinstance(data, (int, float)) else "a single string"


def _is_playbook(data: object, path: Path | None = None) -> bool:
    """A playbook has steps, or at least no `lab:` and a playbook's keys. A file that is no mapping
    at all is a playbook when it is a list of steps or its name says so (playbooks/x.yml,
    x.playbook.yml): then it is told what a playbook looks like, not what an inventory does."""
    from labkit.model import STEP_KINDS

    if isinstance(data, dict):
        return "steps" in data or ("lab" not in data and bool({"name", "inventory"} & set(data)))
    if isinstance(data, list) and any(isinstance(item, dict) and set(item) & set(STEP_KINDS) for item in data[:100]):
        return True
    return path is not None and any("playbook" in part.lower() for part in Path(path).parts[-2:])


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [v for item in values for v in item.split(",") if v]


def _matrix_spec(inv: Inventory, sources: list[str] | None, targets: list[str] | None,
                 count: int = 2, timeout: float = 1.0) -> PingMatrix:
    """A ping_matrix spec from --sources/--targets (default: endpoints.default_endpoints); every
    bad name, and every source nothing can be run on (a NAT device, a DHCP server, an address), is
    reported at once, under the option that gave it."""
    from labkit.endpoints import EndpointError, EndpointParser, default_endpoints
    from labkit.model import PingMatrix
    from labkit.playbook import source_problem

    dsrc, dtgt = default_endpoints(inv)
    sources, targets = _split(sources) or dsrc, _split(targets) or dtgt
    endpoints = EndpointParser(inv)
    errors: list[InputError] = []
    for option, refs in (("--sources", sources), ("--targets", targets)):
        for ref in refs:
            try:
                name = endpoints.parse(ref)
            except EndpointError as exc:
                errors.append(InputError(exc.message, field=option))
                continue
            why = source_problem(name, inv) if option == "--sources" else None
            if why:
                errors.append(InputError(why, field=option))
    if errors:
        raise InputErrors(errors)
    return PingMatrix(sources=sources, targets=targets, count=count, timeout=timeout, expect="model")


@app.command()
def predict(inventory: InventoryOpt = None,
            sources: Annotated[list[str] | None, typer.Option("--sources")] = None,
            targets: Annotated[list[str] | None, typer.Option("--targets")] = None,
            json: JsonOpt = None) -> None:
    """The model's matrix for the lab as the inventory describes it (nothing is changed; a Workstation
    inventory that leaves out a network's subnet reads it from the host's files or vmrest)."""
    from labkit.described import described_state
    from labkit.matrix.engine import predicted_matrix
    from labkit.report.terminal import render_run
    from labkit.results import RunResult, StepResult
    from labkit.predict import conflicts
    from labkit.topology import Topology

    from labkit.backends import complete_inventory

    inv = _inventory_or_exit(inventory)
    try:
        inv = complete_inventory(inv)
        spec = _matrix_spec(inv, sources, targets)
    except InputError as exc:
        _fail_input(exc)
    topo = Topology(described_state(inv))
    matrix = predicted_matrix(topo, "prediction", spec.sources, spec.targets)
    cells = matrix.cells
    step = StepResult("prediction", "predict", matrix=matrix)
    result = RunResult(inv.lab, "model", [step])
    console = _console()
    render_run(result, console)
    for cell in cells:
        if cell.observed.verdict != "reachable":
            console.print(f"  {cell.source} -> {cell.target} ({cell.address or 'no address'}): {cell.observed.reason}",
                          markup=False, highlight=False)
    for c in conflicts(topo):
        console.print(f"address conflict: {c}", markup=False, highlight=False)
    _write_reports(result, json, None)


def _inventory_or_exit(path: Path | None) -> Inventory:
    from labkit.inventory import load_inventory

    if path is None:
        typer.echo("error: --inventory/-i is required", err=True)
        raise typer.Exit(2)
    try:
        return load_inventory(path)
    except InputError as exc:
        _fail_input(exc)


@app.command()
def matrix(inventory: InventoryOpt = None, backend: BackendOpt = None,
           sources: Annotated[list[str] | None, typer.Option("--sources")] = None,
           targets: Annotated[list[str] | None, typer.Option("--targets")] = None,
           count: Annotated[int, typer.Option(min=1, max=100)] = 2,
           timeout: Annotated[float, typer.Option(min=0.1, max=60)] = 1.0,
           json: JsonOpt = None, junit: JunitOpt = None, html: HtmlOpt = None) -> None:
    """Ping every source against every target now, compared with the model."""
    from labkit.backends import complete_inventory, open_lab
    from labkit.report.terminal import render_run
    from labkit.results import RunResult
    from labkit.model import Step
    from labkit.runner import run_step

    _check_report_paths(json, junit, html)
    inv = _inventory_or_exit(inventory)
    try:
        inv = complete_inventory(inv)  # endpoints such as nat.gateway may name what the backend settles
        spec = _matrix_spec(inv, sources, targets, count, timeout)
    except InputError as exc:
        _fail_input(exc)
    lab = _open_or_exit(inv, backend, completed=True)
    try:
        step = run_step(Step(name="matrix", kind="ping_matrix", spec=spec), lab)
    finally:
        lab.close()
    result = RunResult(inv.lab, lab.backend, [step])
    render_run(result, _console())
    _write_reports(result, json, junit, html)
    raise typer.Exit(0 if result.ok else 1)


@app.command("set-mode")
def set_mode(vm: Annotated[str, typer.Argument()], mode: Annotated[str, typer.Argument()],
             inventory: InventoryOpt = None, backend: BackendOpt = None,
             adapter: Annotated[str, typer.Option("--adapter", help="index, interface or label")] = "0") -> None:
    """Move one VM adapter to the network that MODE names in the inventory (a playbook's set_mode
    step for one VM: the change, then the adapter read back)."""
    from labkit.backends import open_lab
    from labkit.model import SetMode, Step
    from labkit.runner import run_step

    inv = _inventory_or_exit(inventory)
    if vm not in inv.vm_names:
        _fail_input(InputError(f"unknown VM {vm!r} (known: {', '.join(inv.vm_names)})", field="VM"))
    if mode not in inv.networks:
        _fail_input(InputError(f"unknown mode {mode!r} (known: {', '.join(inv.networks)})", field="MODE"))
    ref: str | int = int(adapter) if adapter.isdigit() else adapter
    ad = inv.vm(vm).adapter(ref)
    if ad is None:
        _fail_input(InputError(f"{vm} has no adapter {ref!r}", field="--adapter"))
    # By index: the adapter is found, and an interface name need not fit a playbook's adapter label.
    index = next(i for i, a in enumerate(inv.vm(vm).adapters) if a is ad)
    spec = SetMode(vms=[vm], adapter=index, mode=mode)
    lab = _open_or_exit(inv, backend)
    try:
        step = run_step(Step(name=f"set-mode {vm}", kind="set_mode", spec=spec), lab)
    finally:
        lab.close()
    result = step.vms.get(vm)
    if result is None or not result.ok:
        why = result.error if result is not None and result.error else step.error or "failed"
        typer.echo(f"error: {vm}: {why}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{vm} {result.detail}")


def _lab_call(action: str, inventory: Path | None) -> tuple:
    """Load the inventory and run netns lab `action` on it; errors become exit statuses 2 and 1."""
    from labkit.backends.netns import build as netlab

    inv = _inventory_or_exit(inventory)
    try:
        return inv, getattr(netlab, action)(inv)
    except InputError as exc:
        _fail_input(exc)
    except LabkitError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@lab_app.command("up")
def lab_up(inventory: InventoryOpt = None) -> None:
    """Build the lab in network namespaces and boot its VMs (root)."""
    inv, state = _lab_call("up", inventory)
    for warning in state.get("warnings", []):
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"lab {inv.lab} is up: {len(state['namespaces'])} namespaces, {len(state['vms'])} VMs "
               f"(state in {state['dir']})")


@lab_app.command("down")
def lab_down(inventory: InventoryOpt = None) -> None:
    """Stop every process of the lab and remove its namespaces (also after a crash)."""
    inv, done = _lab_call("down", inventory)
    typer.echo(f"lab {inv.lab} is down: {done['namespaces']} namespaces removed, {done['killed']} processes stopped")


@lab_app.command("status")
def lab_status(inventory: InventoryOpt = None) -> None:
    """Show each VM's power state and addresses."""
    _, st = _lab_call("status", inventory)
    typer.echo(f"lab {st['lab']} ({st['prefix']})")
    for name, vm in st["vms"].items():
        power = "on " if vm["powered_on"] else "off"
        typer.echo(f"  {name:16} {power} {', '.join(vm['addresses']) or '-'}")


app.add_typer(lab_app, name="lab")


def main() -> None:
    try:
        app(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
