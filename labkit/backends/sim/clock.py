"""Virtual time for the simulated lab: it passes only when someone sleeps.

Shared by every thread of one simulated lab: labkit's waits (safe apply, wait_for_ip) move it
forward at once, and the simulated guests' detached jobs (revert timers) wake up on it.
"""

from __future__ import annotations

import threading


class VirtualClock:
    def __init__(self) -> None:
        self._now = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)
