"""The account's calls-per-second limit: calls over it wait in Twilio's queue, never refused.

Each created call reserves the next dialling slot, 1/cps after the previous one, and stays
`queued` until then. The limit is counted in real seconds whatever the clock's speed: it is the
rate the dispatcher paces against, so a run whose calls show no `queue_time` kept to it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class CpsLimiter:
    """Hands out dialling slots (real monotonic times) no closer than 1/cps apart."""

    def __init__(self, cps: float | None, *, monotonic: Callable[[], float] = time.monotonic):
        if cps is not None and (not math.isfinite(cps) or cps <= 0):
            raise ValueError(f"cps must be a positive number or None, not {cps}")
        self._interval = 0.0 if cps is None else 1.0 / cps
        self._monotonic = monotonic
        self._next = -math.inf
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """The real time at which the next call may be dialled."""
        with self._lock:
            slot = max(self._monotonic(), self._next)
            self._next = slot + self._interval
            return slot
