"""A progress bar for long imports, drawn on a terminal and silent anywhere else.

Redirected output (a log file, cron mail) gets no bar at all rather than thousands of carriage
returns. The total is the importer's estimate from the line count, so the bar never claims more
than 100 %.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Final, TextIO

_WIDTH: Final = 30
#: Redraw at most this often (seconds): chunks can finish faster than a terminal wants output.
_INTERVAL: Final = 0.1


class ProgressBar:
    """`orders [##########--------------------]  33%  400,000 rows  52,310 rows/s`.

    Pass it as `import_file(progress=...)`; use it as a context manager (or call `close`) so
    that the line is ended when the import is.
    """

    def __init__(
        self,
        label: str,
        stream: TextIO | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label = label
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = self._stream.isatty()
        self._clock = clock
        self._started = clock()
        self._drawn_at: float | None = None

    def __call__(self, done: int, total: int) -> None:
        if not self._enabled:
            return
        now = self._clock()
        if self._drawn_at is not None and now - self._drawn_at < _INTERVAL and done < total:
            return
        self._drawn_at = now
        self._stream.write(f"\r{render(self._label, done, total, now - self._started)}")
        self._stream.flush()

    def close(self) -> None:
        if self._drawn_at is not None:
            self._stream.write("\n")
            self._stream.flush()
            self._drawn_at = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def render(label: str, done: int, total: int, seconds: float) -> str:
    """One frame of the bar."""
    fraction = min(done / total, 1.0) if total > 0 else 1.0
    filled = round(fraction * _WIDTH)
    rate = f"{done / seconds:,.0f} rows/s" if seconds > 0 else ""
    bar = "#" * filled + "-" * (_WIDTH - filled)
    return f"{label} [{bar}] {fraction:4.0%}  {done:,} rows  {rate}"
