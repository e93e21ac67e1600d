"""labkit: drive VMware network labs and check them against a model of VMware networking.

The public Python API is what this package exports (`__all__`, documented in docs/api.md); every
other module is internal and may change. The names are imported on first use, so `import labkit`
stays light (`labkit check` and a pytest run that does not use labkit import no backend).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# name -> the module that defines it
_EXPORTS = {
    "load_inventory": "labkit.api",
    "load_playbook": "labkit.api",
    "open_lab": "labkit.api",
    "describe": "labkit.api",
    "predict_matrix": "labkit.api",
    "explain": "labkit.api",
    "assert_matrix": "labkit.api",
    "LabSession": "labkit.api",
    "LabModel": "labkit.api",
    "LabBusy": "labkit.lablock",
    "RunResult": "labkit.results",
    "StepResult": "labkit.results",
    "MatrixResult": "labkit.results",
    "Cell": "labkit.results",
    "Observation": "labkit.results",
    "Inventory": "labkit.model",
    "Playbook": "labkit.model",
    "Step": "labkit.model",
    "LabkitError": "labkit.errors",
    "InputError": "labkit.errors",
    "InputErrors": "labkit.errors",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from labkit.api import (LabModel, LabSession, assert_matrix, describe, explain, load_inventory, load_playbook,
                            open_lab, predict_matrix)
    from labkit.errors import InputError, InputErrors, LabkitError
    from labkit.lablock import LabBusy
    from labkit.model import Inventory, Playbook, Step
    from labkit.results import Cell, MatrixResult, Observation, RunResult, StepResult


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'labkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once imported, found directly
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
