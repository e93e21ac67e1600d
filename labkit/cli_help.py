"""`labkit --help` in a user's words, not Python's.

Typer (0.20 and later) prints each parameter's Python annotation as its placeholder (`<list[Path]>`,
`<str>`, `<bool>` beside a flag that takes no value) and a required argument in braces
(`{playbook}`). Here an argument is shown as `PLAYBOOK` or `FILES...` (brackets when optional),
an option as the metavar labkit gives it (`FILE`, `N`, `SECONDS`) or else its name in capitals
(`--adapter ADAPTER`, as click does), and a flag with nothing at all.

Typer builds its parameter and command objects itself and has no hook to choose their classes
but the group's, so the group (`HumaneGroup`) re-classes its commands and their parameters once,
as Typer builds it: the subclasses below only override how a parameter is displayed, never how it
is parsed.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption


class _Argument(TyperArgument):
    @property
    def display_name_raw(self) -> str:
        return self.metavar or (self.name or "").upper()

    def _usage_display_name(self) -> str:  # Typer >= 0.20: the name on the usage line
        name = self.display_name_raw + ("..." if self.nargs != 1 else "")
        return name if self.required else f"[{name}]"

    def make_metavar(self, *args: Any, **kwargs: Any) -> str:  # older Typer: the same, through click
        return self._usage_display_name()

    def display_type_rich(self, ctx: Any) -> str | None:
        return None  # the name says what to give


class _Option(TyperOption):
    def display_type_rich(self, ctx: Any) -> str | None:
        if self.is_flag:
            return None  # a flag takes no value
        return self.metavar or (self.name or "value").upper()  # --adapter ADAPTER, as click names it


class _Command(TyperCommand):
    def get_help_option(self, ctx: Any) -> Any:
        return _humane_param(super().get_help_option(ctx))


class HumaneGroup(TyperGroup):
    """The app's group class (`typer.Typer(cls=HumaneGroup)`): built by Typer with its commands,
    it re-classes them and their parameters for display."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        humanize(self)

    def get_help_option(self, ctx: Any) -> Any:
        return _humane_param(super().get_help_option(ctx))


def _humane_param(param: Any) -> Any:
    if type(param) is TyperArgument:
        param.__class__ = _Argument
    elif type(param) is TyperOption:
        param.__class__ = _Option
    return param


def humanize(command: Any) -> Any:
    """Re-class `command` (a Typer group or command), its parameters and its subcommands for the
    display described above; returns it."""
    if type(command) is TyperGroup:
        command.__class__ = HumaneGroup
    elif type(command) is TyperCommand:
        command.__class__ = _Command
    for param in getattr(command, "params", []):
        _humane_param(param)
    for sub in getattr(command, "commands", {}).values():
        humanize(sub)
    return command
