"""`labkit discover SOURCE -o FILE`: the sub-app labkit/cli.py mounts. Arguments in, one reader,
the inventory written, and what the user must still fill in printed, one field a line.

Exit status: 0 written; 1 the source could not be read (vmrest or vCenter unreachable, refused
credentials); 2 bad input or usage (a bad option, file or folder, an existing FILE without
--force): nothing is written then, and for an existing FILE nothing is asked of any source.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from labkit.errors import InputError, InputErrors, LabkitError

if TYPE_CHECKING:
    from labkit.model import Backend

app = typer.Typer(no_args_is_help=True, help="Write a starting inventory, with comments, from what is there: "
                  "vmrest, a folder of .vmx files, vSphere, or an Ansible inventory.")

OutputOpt = Annotated[Path, typer.Option("-o", "--output", metavar="FILE",
                                         help="the inventory to write (- for standard output)")]
ForceOpt = Annotated[bool, typer.Option("--force", help="replace FILE when it exists")]
LabOpt = Annotated[str | None, typer.Option("--lab", metavar="NAME", help="the lab's name (default: from FILE's name)")]
UserOpt = Annotated[str, typer.Option("--user", metavar="USER", help="the user to log in as")]
PasswordEnvOpt = Annotated[str, typer.Option("--password-env", metavar="VAR", help="the NAME of the environment "
                                             "variable holding the password (never the password itself)")]
CaFileOpt = Annotated[Path | None, typer.Option("--ca-file", metavar="FILE", help="verify the server's "
                                                "certificate with this CA")]
InsecureOpt = Annotated[bool, typer.Option("--insecure", help="https without certificate verification (logged as "
                                           "a warning)")]
NetworkingDirOpt = Annotated[Path | None, typer.Option("--networking-dir", metavar="DIR", help="the Workstation "
                                                       "host's networking files (default: /etc/vmware when there)")]


@app.command("vmrest")
def vmrest(output: OutputOpt, user: UserOpt, password_env: PasswordEnvOpt,
           host: Annotated[str, typer.Option("--host", metavar="HOST", help="where vmrest listens")] = "127.0.0.1",
           port: Annotated[int, typer.Option("--port", metavar="PORT", help="vmrest's port")] = 8697,
           ca_file: CaFileOpt = None, insecure: InsecureOpt = False, networking_dir: NetworkingDirOpt = None,
           lab: LabOpt = None, force: ForceOpt = False) -> None:
    """VMware Workstation through vmrest: its VMs, NICs, MACs and the host's VMnets."""
    from labkit.discover import vmrest as source

    settings = _backend("workstation", host=host, port=port, user=user, password_env=password_env,
                        ca_file=str(ca_file) if ca_file else None, insecure=insecure or None)
    _discover(output, force, lab, lambda: source.discover(settings, networking_dir))


@app.command("vmx")
def vmx(folder: Annotated[Path, typer.Argument(metavar="FOLDER", help="the folder holding the VMs (searched "
                                               "below for .vmx files)")],
        output: OutputOpt, networking_dir: NetworkingDirOpt = None, lab: LabOpt = None,
        force: ForceOpt = False) -> None:
    """VMware Workstation VMs from their .vmx files, for labs without vmrest."""
    from labkit.discover import vmx as source

    _discover(output, force, lab, lambda: source.discover(folder, networking_dir))


@app.command("vsphere")
def vsphere(output: OutputOpt, user: UserOpt, password_env: PasswordEnvOpt,
            host: Annotated[str, typer.Option("--host", metavar="HOST", help="vCenter or ESXi")],
            port: Annotated[int | None, typer.Option("--port", metavar="PORT", help="default 443")] = None,
            datacenter: Annotated[str | None, typer.Option("--datacenter", metavar="DC",
                                                           help="only this datacenter")] = None,
            folder: Annotated[str | None, typer.Option("--folder", metavar="PATH", help="only the VMs under this "
                                                       "inventory path (DC0/vm/Lab)")] = None,
            ca_file: CaFileOpt = None, insecure: InsecureOpt = False, lab: LabOpt = None,
            force: ForceOpt = False) -> None:
    """vSphere (vCenter or ESXi): the VMs of a datacenter or folder, their NICs and networks."""
    from labkit.discover import vsphere as source

    settings = _backend("vsphere", host=host, port=port, user=user, password_env=password_env,
                        ca_file=str(ca_file) if ca_file else None, insecure=insecure or None, datacenter=datacenter)
    _discover(output, force, lab, lambda: source.discover(settings, folder))


@app.command("ansible")
def ansible(file: Annotated[Path, typer.Argument(metavar="FILE", help="an Ansible inventory, INI or YAML")],
            output: OutputOpt, lab: LabOpt = None, force: ForceOpt = False) -> None:
    """An Ansible inventory: hosts become VMs with their SSH settings, groups are kept as comments."""
    from labkit.discover import ansible as source

    _discover(output, force, lab, lambda: source.discover(file))


def _backend(kind: str, **given: object) -> Backend:
    """The options as the inventory's backend section, held to its schema (named as options)."""
    from labkit.model import Backend
    from labkit.validation import validate
    from labkit.yamlsrc import Source

    data = {"type": kind, **{k: v for k, v in given.items() if v is not None}}
    try:
        return validate(Backend, data, Source("<command line>", data, {}))
    except InputError as exc:
        _fail(exc)


def _discover(output: Path, force: bool, lab: str | None, read: Callable) -> None:
    from labkit.discover.compose import fits, slug
    from labkit.discover.writer import draft, refuse_existing, write_inventory
    from labkit.model import Inventory

    to_stdout = str(output) == "-"
    try:
        refuse_existing(output, force)
        name = lab if lab is not None else (slug(output.stem) if not to_stdout else "") or "discovered"
        why = fits(Inventory, "lab", name)
        if why is not None:
            raise InputError(f"{name!r} is {why}", field="--lab")
        found = read()
        result = draft(found, name, "<stdout>" if to_stdout else str(output))
        if to_stdout:
            typer.echo(result.text, nl=False)
        else:
            write_inventory(output, result.text, force)
    except InputError as exc:
        _fail(exc)
    except LabkitError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except OSError as exc:
        typer.echo(f"error: cannot write {output}: {exc.strerror or exc}", err=True)
        raise typer.Exit(1) from None
    say = (lambda text: typer.echo(text, err=True)) if to_stdout else typer.echo
    shown = "the inventory" if to_stdout else str(output)
    say(f"wrote {shown}: {_count(result.vms, 'VM')}, {_count(result.networks, 'network')}, from {found.source}")
    for warning in result.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if result.fills:
        say(f"{_count(len(result.fills), 'value')} to fill in (labkit check refuses {shown} until each is replaced):")
        for fill in result.fills:
            say(f"  {'' if to_stdout else f'{output}:'}{fill.line}: {fill.field}: {fill.hint}")
    else:
        say("nothing to fill in")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


_OPTION = {"host": "--host", "port": "--port", "user": "--user", "password_env": "--password-env",
           "ca_file": "--ca-file", "insecure": "--insecure", "datacenter": "--datacenter"}


def _fail(exc: InputError) -> NoReturn:
    """Exit 2 with each problem on a line; a backend field the options set is named as the option."""
    for err in exc.errors if isinstance(exc, InputErrors) else [exc]:
        field = err.field.removeprefix("backend.") if err.field else None
        if field in _OPTION:
            err = InputError(err.message, field=_OPTION[field])
        typer.echo(f"error: {InputError.__str__(err)}", err=True)
    raise typer.Exit(2)
