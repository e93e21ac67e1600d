"""One exception tree, so the CLI can map every failure to an exit status and a clear message.

Input errors (exit 2) always carry where the bad value is: file, line and field. Everything that
goes wrong while talking to a hypervisor or a guest is a LabkitError subclass carrying the VM or
node name, so one VM's failure is reported for that VM and never aborts the others.
"""

from __future__ import annotations


class LabkitError(Exception):
    """Base of every error labkit raises on purpose."""


class InputError(LabkitError):
    """A bad inventory, playbook or command-line value: nothing has been touched yet."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        return _printable(self._text())

    def _text(self) -> str:
        where = ""
        if self.file:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
            where += ": "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


def _printable(text: str) -> str:
    """Control characters from a user's file are shown escaped: one error is always one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class InputErrors(InputError):
    """Several input errors found in one pass; reported together so the user fixes them at once."""

    def __init__(self, errors: list[InputError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.message, file=first.file, line=first.line, field=first.field)

    def __str__(self) -> str:
        return "\n".join(InputError.__str__(e) for e in self.errors)


class BackendError(LabkitError):
    """The hypervisor refused or failed an operation."""


class TransportError(LabkitError):
    """A guest could not be reached or a command could not be run there."""


class UnreachableError(TransportError):
    """The channel could not be opened at all (refused, timed out, no route): another channel may do.

    Anything else (a host key mismatch, failed authentication) is never a reason to try another
    way in: it is reported as it is.
    """


class GuestConfigError(LabkitError):
    """A guest's network configuration file cannot be parsed or holds a value labkit will not write."""
