"""Durations as campaign managers write them: `30s`, `30m`, `2h`, `1d`, or combined (`1h30m`).

One spelling everywhere (campaigns.yaml, CLI output, the dashboard) so that a value read back
from any screen can be pasted into the configuration unchanged.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNIT_SECONDS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PATTERN = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_EXAMPLES = "30s, 30m, 2h, 1d or 1h30m"


def parse_duration(text: str) -> timedelta:
    """Read `text` as a duration; units go from largest to smallest, each at most once.

    Raises `ValueError` with a message meant for the person who wrote the value.
    """
    compact = text.strip().replace(" ", "")
    match = _PATTERN.fullmatch(compact)
    if not compact or match is None:
        raise ValueError(f"{text!r} is not a duration; write a number and a unit: {_EXAMPLES}")
    amounts = [int(group) if group else 0 for group in match.groups()]
    seconds = sum(
        amount * unit for amount, unit in zip(amounts, _UNIT_SECONDS.values(), strict=True)
    )
    return timedelta(seconds=seconds)


def format_duration(delta: timedelta) -> str:
    """Write `delta` the way `parse_duration` reads it (whole seconds; `0s` for zero)."""
    total = int(delta.total_seconds())
    sign, total = ("-", -total) if total < 0 else ("", total)
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        amount, total = divmod(total, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return sign + ("".join(parts) or "0s")
