"""Simulated time: the sandbox's clock runs `speed` times faster than the real one.

Everything the sandbox reports (resource dates, callback timestamps, durations, queue times) is
simulated time, so a call that rang for 20 simulated seconds says so even when the whole call
took a fifth of a second at `speed=100`. Waits are given in simulated seconds and slept for
`seconds / speed` of real time. Simulated time starts at `origin` (by default the real time the
clock was made), so at speed 1 it is the wall clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SimClock:
    """Maps real (monotonic) time onto simulated, aware UTC time."""

    def __init__(
        self,
        speed: float = 1.0,
        origin: datetime | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        start: float | None = None,
    ) -> None:
        if not math.isfinite(speed) or speed <= 0:
            raise ValueError(f"speed must be a positive number, not {speed}")
        if origin is not None and (origin.tzinfo is None or origin.utcoffset() is None):
            raise ValueError("origin must be timezone-aware")
        self.speed = speed
        self._monotonic = monotonic
        self._origin = (origin or datetime.now(UTC)).astimezone(UTC)
        self._start = monotonic() if start is None else start

    @property
    def origin(self) -> datetime:
        """The simulated instant at `start`."""
        return self._origin

    @property
    def start(self) -> float:
        """The real monotonic reading at which simulated time was `origin`. `time.monotonic`
        is system-wide on Linux, so another process rebuilds the same clock from `speed`,
        `origin` and `start` (what `dialer demo` does for its web app and worker)."""
        return self._start

    def now(self) -> datetime:
        """The current simulated instant."""
        return self.at(self._monotonic())

    def at(self, real: float) -> datetime:
        """The simulated instant of a real `time.monotonic()` reading."""
        return self._origin + timedelta(seconds=(real - self._start) * self.speed)

    def real(self) -> float:
        """The real monotonic time, the base of every deadline."""
        return self._monotonic()

    def real_seconds(self, simulated: float) -> float:
        """How long `simulated` seconds take in real time."""
        return simulated / self.speed

    def simulated_seconds(self, real: float) -> float:
        """How many simulated seconds `real` seconds are."""
        return real * self.speed

    def deadline(self, simulated: float) -> float:
        """The real monotonic time `simulated` seconds from now."""
        return self._monotonic() + self.real_seconds(simulated)
