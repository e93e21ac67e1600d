"""Shared fixtures. Test data from ../shared is read in place; missing data skips, except in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LABKIT_SHARED", REPO.parent / "shared"))


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip when a real part is missing, but fail under CI=true: nothing real may silently drop out."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def shared_dir(sub: str) -> Path:
    path = SHARED / sub
    require(path.is_dir(), f"{path} is absent (shared test data is not part of a user's clone)")
    return path


def shared_files(sub: str, pattern: str = "*") -> list[Path]:
    """List shared data files at collection time; empty when absent (the test then skips/fails)."""
    path = SHARED / sub
    return sorted(p for p in path.glob(pattern) if p.is_file()) if path.is_dir() else []
