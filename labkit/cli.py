"""The `labkit` command: arguments in, one library call, a report out. Nothing else lives here.

Exit status: 0 all steps succeeded and every expected cell held; 1 a step failed or a cell did not
hold; 2 bad input or usage, or the lab is in use by another labkit command (nothing was touched).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from labkit.cli_help import HumaneGroup
from labkit.discover.cli import app as discover_app
from labkit.errors import InputError, InputErrors, LabkitError

if TYPE_CHECKING:
    from types import TracebackType

    from rich.console import Console
    from rich.progress import TaskID

    from labkit.model import Inventory, Playbook, Step
    from labkit.protocols import Lab
    from labkit.results import RunResult

app = typer.Typer(cls=HumaneGroup, add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Drive VMware network labs and check them against a model of VMware networking.")
lab_app = typer.Typer(no_args_is_help=True, help="Build, show and tear down a local lab (netns backend).")

InventoryOpt = Annotated[Path | None, typer.Option("-i", "--inventory", metavar="FILE", help="inventory YAML file")]
BackendOpt = Annotated[str | None, typer.Option("--backend", metavar="NAME", help="sim, netns, vsphere or workstation "
                                                "(default: the inventory's backend.type)")]
JsonOpt = Annotated[Path | None, typer.Option("--json", metavar="FILE", help="write the JSON report here")]
JunitOpt = Annotated[Path | None, typer.Option("--junit", metavar="FILE", help="write a JUnit XML report here")]
HtmlOpt = Annotated[Path | None, typer.Option("--html", metavar="FILE", help="write a self-contained HTML report here")]
MarkdownOpt = Annotated[Path | None, typer.Option("--markdown", metavar="FILE", help="write the matrices as Markdown "
                                                  "here (hand-outs, pull-request comments; - for stdout)")]
SourcesOpt = Annotated[list[str] | None, typer.Option("--sources", metavar="NAMES", help="rows: endpoints that ping, "
                                                      "comma-separated (default: the host and every VM)")]
TargetsOpt = Annotated[list[str] | None, typer.Option("--targets", metavar="NAMES", help="columns: endpoints pinged, "
                                                      "comma-separated (default: the host, its adapters, the NAT "
                                                      "devices, the router, the externals and every VM)")]
WaitOpt = Annotated[bool, typer.Option("--wait", help="when another labkit command is using the lab, wait for "
                                                      "it (default: stop at once, saying who)")]


def _fail_input(exc: InputError) -> NoReturn:
    errors = exc.errors if isinstance(exc, InputErrors) else [exc]
    for err in errors:
        typer.echo(f"error: {InputError.__str__(err)}", err=True)
    raise typer.Exit(2)


def _printable(text: object) -> str:
    """A message from a backend or a guest as one line of text (control characters escaped)."""
    from labkit.report.terminal import printable

    return printable(text)


def _console():
    from labkit.report.terminal import make_console

    return make_console()


class _ProgressBar:
    """A Rich progress bar per step (sources of a matrix, VMs of a step); silent when not a terminal."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
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
        from labkit.report.terminal import step_title

        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task(step_title(step.kind, step.name), total=units)

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
        typer.echo(f"error: {_printable(exc)}", err=True)
        raise typer.Exit(2) from None


@contextmanager
def _locked(inv: Inventory, backend: str | None, wait: bool) -> Iterator[None]:
    """Hold the lab's lock (labkit/lablock.py) for the block, or exit 2 naming its holder: every
    command that changes a lab (or probes it: a matrix taken mid-change says nothing) holds it."""
    from labkit.lablock import lab_lock

    with ExitStack() as held:
        try:
            held.enter_context(lab_lock(inv, backend, wait=wait, tell=lambda line: typer.echo(line, err=True)))
        except LabkitError as exc:  # busy (LabBusy: its holder named), or no lock to be had
            typer.echo(f"error: {_printable(exc)}", err=True)
            raise typer.Exit(2) from None
        yield


def _check_report_paths(*paths: Path | None) -> None:
    """Refuse unusable report paths before the run, not after it."""
    for path in paths:
        if path is not None and path.is_dir():
            _fail_input(InputError("is a directory; give a file name for the report", file=str(path)))


def _write_reports(run: RunResult, json_path: Path | None, junit_path: Path | None,
                   html_path: Path | None = None, markdown_path: Path | None = None) -> None:
    from labkit.report.as_html import write_html
    from labkit.report.as_json import write_json
    from labkit.report.as_junit import write_junit
    from labkit.report.as_markdown import run_markdown

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
    if markdown_path:
        _write_text(markdown_path, run_markdown(run))


@app.command()
def run(playbook: Annotated[Path, typer.Argument(metavar="PLAYBOOK", help="playbook YAML file")],
        inventory: InventoryOpt = None, backend: BackendOpt = None,
        json: JsonOpt = None, junit: JunitOpt = None, html: HtmlOpt = None, markdown: MarkdownOpt = None,
        workers: Annotated[int, typer.Option(min=1, max=256, metavar="N", help="VMs or sources handled at once")] = 8,
        check: Annotated[bool, typer.Option("--check", help="change nothing: print what each step would "
                                            "change (exit 0: nothing, 1: something or unknown)")] = False,
        diff: Annotated[bool, typer.Option("--diff", help="with --check (implied): also each guest config "
                                           "file's unified diff")] = False, wait: WaitOpt = False) -> None:
    """Run a playbook's steps and report every step and matrix (--check/--diff: only say what would change)."""
    from labkit.api import LabSession, load_playbook
    from labkit.report.terminal import render_run

    _check_report_paths(json, junit, html, markdown)
    if (check or diff) and (junit or html or markdown):
        _fail_input(InputError("--check writes no run report; give --json FILE for the plan",
                               field="--junit" if junit else "--html" if html else "--markdown"))
    try:
        pb, inv = load_playbook(playbook, inventory, backend=backend)
    except InputError as exc:
        _fail_input(exc)
    console = _console()
    with _locked(inv, backend, wait):
        lab = _open_or_exit(inv, backend, completed=True)
        if check or diff:
            _plan_and_exit(pb, lab, console, json, diff, workers)
        with LabSession(lab, workers=workers) as session, _ProgressBar(console) as progress:
            result = session.run(pb, progress=progress)
    render_run(result, console)
    _write_reports(result, json, junit, html, markdown)
    raise typer.Exit(0 if result.ok else 1)


def _plan_and_exit(pb: Playbook, lab: Lab, console: Console, json_path: Path | None, diff: bool,
                   workers: int) -> NoReturn:
    """`run --check`: the plan (labkit/plan.py), printed and written as --json; exit 0 when a run
    would change nothing, 1 when it would change something or something could not be read."""
    from labkit.plan import plan_playbook
    from labkit.report.as_plan import render_plan, write_plan_json

    try:
        plan = plan_playbook(pb, lab, workers=workers)
    finally:
        lab.close()
    render_plan(plan, console, diff=diff)
    if json_path:
        try:
            write_plan_json(plan, json_path)
        except OSError as exc:
            typer.echo(f"error: cannot write the plan: {exc}", err=True)
            raise typer.Exit(1) from None
    raise typer.Exit(plan.exit_status)


@app.command()
def check(files: Annotated[list[Path], typer.Argument(metavar="FILES", help="inventory and playbook files")]) -> None:
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


def _as_options(exc: InputError) -> InputErrors:
    """The API names a matrix's endpoint lists `sources` and `targets`; here they came from the options."""
    errors = exc.errors if isinstance(exc, InputErrors) else [exc]
    return InputErrors([InputError(e.message, file=e.file, line=e.line, field=f"--{e.field}")
                        if e.field in ("sources", "targets") else e for e in errors])


@app.command()
def predict(inventory: InventoryOpt = None, sources: SourcesOpt = None, targets: TargetsOpt = None,
            json: JsonOpt = None, markdown: MarkdownOpt = None) -> None:
    """The model's matrix for the lab as the inventory describes it, with reasons; nothing is probed.

    A Workstation inventory that leaves out a network's subnet reads it from the host's files or vmrest."""
    from labkit.api import describe
    from labkit.report.as_markdown import prediction_markdown
    from labkit.report.terminal import render_prediction
    from labkit.results import RunResult, StepResult

    _check_report_paths(json, markdown)
    inv = _inventory_or_exit(inventory)
    try:
        model = describe(inv)
        matrix = model.predict(_split(sources), _split(targets))
    except InputError as exc:
        _fail_input(_as_options(exc))
    render_prediction(inv.lab, matrix, _console(), model.conflicts)
    _write_reports(RunResult(inv.lab, "model", [StepResult("prediction", "predict", matrix=matrix)]), json, None)
    if markdown is not None:
        _write_text(markdown, prediction_markdown(inv.lab, matrix, model.conflicts))


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
def matrix(inventory: InventoryOpt = None, backend: BackendOpt = None, sources: SourcesOpt = None,
           targets: TargetsOpt = None,
           count: Annotated[int, typer.Option(min=1, max=100, metavar="N", help="echo requests per cell")] = 2,
           timeout: Annotated[float, typer.Option(min=0.1, max=60, metavar="SECONDS",
                                                  help="how long to wait for each reply")] = 1.0,
           json: JsonOpt = None, junit: JunitOpt = None, html: HtmlOpt = None, markdown: MarkdownOpt = None,
           wait: WaitOpt = False) -> None:
    """Ping every source against every target now, compared with the model."""
    from labkit.api import LabSession, matrix_step
    from labkit.backends import complete_inventory
    from labkit.report.terminal import render_run
    from labkit.results import RunResult

    _check_report_paths(json, junit, html, markdown)
    inv = _inventory_or_exit(inventory)
    try:
        inv = complete_inventory(inv)  # endpoints such as nat.gateway may name what the backend settles
        step = matrix_step(inv, _split(sources), _split(targets), count=count, timeout=timeout)
    except InputError as exc:
        _fail_input(_as_options(exc))
    with _locked(inv, backend, wait):
        lab = _open_or_exit(inv, backend, completed=True)
        with LabSession(lab) as session:
            done = session.run_step(step)
    result = RunResult(inv.lab, lab.backend, [done])
    render_run(result, _console())
    _write_reports(result, json, junit, html, markdown)
    raise typer.Exit(0 if result.ok else 1)


@app.command("set-mode")
def set_mode(vm: Annotated[str, typer.Argument(help="the VM, as the inventory names it")],
             mode: Annotated[str, typer.Argument(help="a network of the inventory: nat, bridged, hostonly...")],
             inventory: InventoryOpt = None, backend: BackendOpt = None,
             adapter: Annotated[str, typer.Option("--adapter", help="index, interface or label")] = "0",
             wait: WaitOpt = False) -> None:
    """Move one VM adapter to the network that MODE names in the inventory.

    A playbook's set_mode step for one VM: the change, then the adapter read back. The simulated
    lab (sim) keeps nothing between commands: there, put the change and the matrix in one playbook."""
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
    with _locked(inv, backend, wait):
        lab = _open_or_exit(inv, backend)
        try:
            step = run_step(Step(name=f"set-mode {vm}", kind="set_mode", spec=spec), lab)
        finally:
            lab.close()
    result = step.vms.get(vm)
    if result is None or not result.ok:
        why = result.error if result is not None and result.error else step.error or "failed"
        typer.echo(f"error: {vm}: {_printable(why)}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{vm} {_printable(result.detail)}")
    if lab.backend == "sim":
        typer.echo("note: the sim backend keeps nothing between commands: the next labkit command starts "
                   "again from the inventory. To see a change's effect, put it and a ping_matrix in one "
                   "playbook (labkit run).", err=True)


@app.command("diff")
def diff_reports(first: Annotated[Path, typer.Argument(metavar="FIRST", help="a JSON report (labkit run --json)")],
                 second: Annotated[Path, typer.Argument(metavar="SECOND", help="a later JSON report to compare")],
                 markdown: MarkdownOpt = None) -> None:
    """The cells that changed between two JSON reports; exit 1 when any did.

    Matrices are paired by step name (or alone in each report), cells by source and target. A cell
    changed when what was seen, what was expected or its address conflict differs."""
    from labkit.report.diff import diff_markdown, diff_runs, render_diff
    from labkit.report.read_json import read_report

    _check_report_paths(markdown)
    problems: list[InputError] = []
    runs = []
    for path in (first, second):
        try:
            runs.append(read_report(path))
        except InputError as exc:
            problems.append(exc)
    if problems:
        _fail_input(InputErrors(problems))
    result = diff_runs(runs[0], runs[1])
    if markdown is None or str(markdown) != "-":  # `--markdown -`: stdout is the Markdown alone
        render_diff(result, str(first), str(second), _console())
    if markdown is not None:
        _write_text(markdown, diff_markdown(result, str(first), str(second)))
    raise typer.Exit(1 if result.changed else 0)


def _write_text(path: Path, text: str) -> None:
    """`text` to stdout for `-`, else atomically to `path` (exit 1 when it cannot be written)."""
    from labkit.report.as_json import write_atomic

    if str(path) == "-":
        typer.echo(text, nl=False)
        return
    try:
        write_atomic(path, text)
    except OSError as exc:
        typer.echo(f"error: cannot write the report: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def report(path: Annotated[Path, typer.Argument(metavar="REPORT", help="a JSON report (labkit run --json)")],
           markdown: MarkdownOpt = None, junit: JunitOpt = None) -> None:
    """Show a JSON report as a run shows it, or write it again as Markdown or JUnit XML.

    Exit status as for the run that wrote it: 0 when every step and cell held, else 1."""
    from labkit.report.read_json import read_report
    from labkit.report.terminal import render_run

    _check_report_paths(markdown, junit)
    try:
        result = read_report(path)
    except InputError as exc:
        _fail_input(exc)
    if markdown is None or str(markdown) != "-":
        render_run(result, _console())
    _write_reports(result, None, junit, markdown_path=markdown)
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def explain(source: Annotated[str, typer.Argument(metavar="SOURCE", help="the endpoint that pings: a VM, host...")],
            target: Annotated[str, typer.Argument(metavar="TARGET", help="the endpoint pinged: a VM, host.nat, "
                                                  "nat.gateway, router, an external, an address...")],
            inventory: InventoryOpt = None) -> None:
    """The model's walk for one cell, hop by hop: routes, ARP, NAT, connection tracking, the reply.

    For the lab as the inventory describes it; the last line is the verdict `labkit predict` gives."""
    from rich.text import Text

    from labkit.api import describe
    from labkit.hops import walk

    inv = _inventory_or_exit(inventory)
    try:
        model = describe(inv)
        verdict = model.explain(source, target)
    except InputError as exc:
        errors = exc.errors if isinstance(exc, InputErrors) else [exc]
        names = {"sources": "SOURCE", "targets": "TARGET"}  # the API words them as a matrix's lists
        _fail_input(InputErrors([InputError(e.message, file=e.file, line=e.line,
                                            field=names.get(e.field or "", e.field)) for e in errors]))
    console = _console()
    for line in [*walk(model.topology, source, target).lines(), verdict]:
        console.print(Text(line), highlight=False, soft_wrap=True)


def _lab_call(action: str, inventory: Path | None, wait: bool | None = None) -> tuple:
    """Load the inventory and run netns lab `action` on it, holding the lab's lock unless `wait` is
    None (a look that changes nothing); errors become exit statuses 2 and 1."""
    from labkit.backends.netns import build as netlab

    inv = _inventory_or_exit(inventory)
    try:
        if wait is None:
            return inv, getattr(netlab, action)(inv)
        with _locked(inv, "netns", wait):
            return inv, getattr(netlab, action)(inv)
    except InputError as exc:
        _fail_input(exc)
    except LabkitError as exc:
        typer.echo(f"error: {_printable(exc)}", err=True)
        raise typer.Exit(1) from None


@lab_app.command("up")
def lab_up(inventory: InventoryOpt = None, wait: WaitOpt = False) -> None:
    """Build the lab in network namespaces and boot its VMs (root)."""
    inv, state = _lab_call("up", inventory, wait)
    for warning in state.get("warnings", []):
        typer.echo(f"warning: {warning}", err=True)
    typer.echo(f"lab {inv.lab} is up: {len(state['namespaces'])} namespaces, {len(state['vms'])} VMs "
               f"(state in {state['dir']})")


@lab_app.command("down")
def lab_down(inventory: InventoryOpt = None, wait: WaitOpt = False) -> None:
    """Stop every process of the lab and remove its namespaces (also after a crash)."""
    inv, done = _lab_call("down", inventory, wait)
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
app.add_typer(discover_app, name="discover")  # labkit/discover/cli.py: a starting inventory from what is there


def _print_version(value: bool) -> None:
    if value:
        from labkit import __version__

        typer.echo(f"labkit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _options(version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                                   help="print labkit's version and exit")] = False) -> None:
    """Drive VMware network labs and check them against a model of VMware networking."""


def main() -> None:
    try:
        app(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
