"""Time as a lab sees it. Real labs use the wall clock; the simulated lab has a virtual one
(labkit.backends.sim.clock) so an offline check does not sit out a 60 s rollback. Safe apply and
wait_for_ip take the lab's clock, never `time` directly.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


SYSTEM = SystemClock()
