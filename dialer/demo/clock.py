"""The demo's simulated time, rebuilt identically in each of its processes.

`time.monotonic` is system-wide on Linux, so a `SimClock` with the same speed, origin and
start reads the same instant in every process. The demo's clock also stops at `until`: once
the demo is over, the dashboard's "today" stays the afternoon that was simulated instead of
running on into the night at `speed` times real time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dialer.clock import Clock
from dialer.sandbox.clock import SimClock


@dataclass(frozen=True)
class DemoClock:
    """What a process needs to read the demo's time; picklable, for the child processes."""

    speed: float
    origin: datetime
    start: float
    until: datetime

    @classmethod
    def of(cls, clock: SimClock, until: datetime) -> DemoClock:
        return cls(speed=clock.speed, origin=clock.origin, start=clock.start, until=until)

    def clock(self) -> Clock:
        """A `Clock` reading simulated time, held at `until` once it gets there."""
        simulated = SimClock(self.speed, self.origin, start=self.start)

        def now() -> datetime:
            return min(simulated.now(), self.until)

        return now
