"""Time as a lab sees it: the wall clock for real guests, a virtual one for the simulated lab.

Safe apply waits for revert timers and wait_for_ip polls; against real guests that is real time,
but an offline check of a playbook should not sit out a 60 s rollback. The simulated lab hands
out a VirtualClock whose sleep() moves time forward at once, and its guests' timers run on it.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    monotonic = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)


SYSTEM = SystemClock()


class VirtualClock:
    """Time that passes only when someone sleeps; shared by every thread of one simulated lab."""

    def __init__(self) -> None:
        self._now = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)


def clock_of(lab: object) -> Clock:
    return getattr(lab, "clock", None) or SYSTEM
