"""Faults injected into call creation, so the dispatcher's error paths can be exercised.

Each create draws one number from a generator seeded with the sandbox's seed, so a run with the
same seed and the same sequence of creates meets the same faults:

- throttle: 429 with Twilio's error 20429 and a `Retry-After` (seconds); no call is made.
- server error: 500 with error 20500; no call is made.
- timeout: the call *is* created, then the answer is held back past the client's timeout, which
  leaves the client not knowing whether its call exists (an ambiguous create).

Only creates are faulted: fetching, listing and updating always answer, because that is how the
dispatcher finds out what an ambiguous create did.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from enum import Enum


class Fault(Enum):
    THROTTLE = "throttle"
    SERVER_ERROR = "server-error"
    TIMEOUT = "timeout"


@dataclass(frozen=True)
class Faults:
    """How often creates fail, and how. Rates are probabilities between 0 and 1."""

    throttle_rate: float = 0.0
    server_error_rate: float = 0.0
    timeout_rate: float = 0.0
    retry_after_seconds: int = 1
    timeout_hold_seconds: float = 30.0

    def __post_init__(self) -> None:
        rates = (self.throttle_rate, self.server_error_rate, self.timeout_rate)
        if any(rate < 0 for rate in rates) or sum(rates) > 1:
            raise ValueError("fault rates must be non-negative and sum to at most 1")
        if self.retry_after_seconds < 0 or self.timeout_hold_seconds < 0:
            raise ValueError("fault durations must not be negative")


class FaultInjector:
    """Decides, create by create, which fault (if any) strikes."""

    def __init__(self, faults: Faults, seed: int) -> None:
        self.faults = faults
        self._rng = random.Random(f"{seed}:faults")
        self._lock = threading.Lock()

    def next_create(self) -> Fault | None:
        with self._lock:
            draw = self._rng.random()
        faults = self.faults
        if draw < faults.throttle_rate:
            return Fault.THROTTLE
        draw -= faults.throttle_rate
        if draw < faults.server_error_rate:
            return Fault.SERVER_ERROR
        draw -= faults.server_error_rate
        if draw < faults.timeout_rate:
            return Fault.TIMEOUT
        return None
