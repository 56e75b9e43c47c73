"""The app's "now": the system clock, or the simulated one `dialer demo` runs the app with.

Handlers call `now()` instead of reading the system time so that a demo's webhooks, KPIs and
"today" agree with the worker's simulated morning. The clock is given to `create_app` in code,
never read from the environment or a request.
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app

from dialer.clock import Clock, system_clock

EXTENSION = "dialer.clock"


def init_app(app: Flask, clock: Clock | None) -> None:
    app.extensions[EXTENSION] = clock or system_clock


def now() -> datetime:
    """The current instant by the app's clock."""
    clock: Clock = current_app.extensions[EXTENSION]
    return clock()
