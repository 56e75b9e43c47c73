"""Where "now" comes from.

Every part of the dialer that needs the current instant takes a `Clock` instead of reading the
system time itself: production passes `system_clock`; tests pass a fixed or stepping clock, and
`dialer demo` a simulated one that runs a weekday morning faster than real time. Nothing reads
a clock from the environment, so the production clock cannot be overridden from outside.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current instant, timezone-aware UTC."""
    return datetime.now(UTC)
