"""vmrun's command line, answered for one simulated Windows VM: the Workstation console
(labkit.backends.workstation.vmrun_console) driven unchanged, with the simulated guest's cmd.exe
behind it instead of VMware Tools.

The test vmrun of the Workstation backend (tests/backends/workstation/fake_vmrun.py) puts Linux
network-namespace guests behind vmrun; a Windows guest there would need Windows. This one answers
the guest operations the console uses (createDirectoryInGuest, runProgramInGuest, the two file
copies, fileExists/directoryExistsInGuest, deleteDirectoryInGuest) in vmrun's words: a guest
program that ends non-zero is "Guest program exited with non-zero exit code: N" with exit status
N, a failure is "Error: ..." with 255. Its runProgramInGuest runs PROGRAM ARGUMENTS as the guest's
cmd.exe would be started by Tools, so the console's own wrapping (`cmd.exe /s /c "(COMMAND) <NUL
>OUT 2>ERR"`) is what the simulated cmd.exe parses.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from labkit.backends.sim.guest import SimGuest
from labkit.protocols import CommandResult

FAILED = 255


class SimVmrun:
    """A CommandRunner for labkit.backends.workstation.vmrun.Vmrun, one simulated guest behind it."""

    def __init__(self, guest: SimGuest) -> None:
        self.guest = guest
        self.calls: list[str] = []  # the verbs, in order

    def run(self, argv: Sequence[str], timeout: float | None = None) -> CommandResult:
        k = list(argv).index("-T") + 2
        while argv[k] in ("-gu", "-gp"):
            k += 2
        verb, params = argv[k], list(argv[k + 2:])
        self.calls.append(verb)
        g = self.guest
        with g.world.lock:
            if verb == "createDirectoryInGuest":
                g.dirs.add(params[0])
            elif verb == "deleteDirectoryInGuest":
                g.dirs.discard(params[0])
                for path in [p for p in g.files if p.startswith(params[0] + "\\")]:
                    del g.files[path]
            elif verb == "runProgramInGuest":
                status = g.execute(f"{params[0]} {params[1]}").exit_status
                if status:
                    return CommandResult(status, f"Guest program exited with non-zero exit code: {status}\n")
            elif verb == "copyFileFromGuestToHost":
                text = g.files.get(params[0])
                if text is None:
                    return CommandResult(FAILED, "Error: A file was not found\n")
                Path(params[1]).write_bytes(text.encode("cp850", "replace"))
            elif verb == "copyFileFromHostToGuest":
                g.files[params[1]] = Path(params[0]).read_bytes().decode("utf-8")
            elif verb in ("fileExistsInGuest", "directoryExistsInGuest"):
                found = params[0] in (g.files if verb == "fileExistsInGuest" else g.dirs)
                return CommandResult(0 if found else FAILED, "The file exists.\n" if found else
                                     "The file does not exist.\n")
            else:
                return CommandResult(FAILED, f"Error: {verb} is not simulated\n")
        return CommandResult(0)
