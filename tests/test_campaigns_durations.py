"""Durations as campaign managers write them (`30s`, `30m`, `2h`, `1d`, `1h30m`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("7d", timedelta(days=7)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d 12h", timedelta(days=1, hours=12)),
        (" 90s ", timedelta(seconds=90)),
        ("0s", timedelta(0)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "30", "30 minutes", "1m1h", "30M", "-5m", "1.5h", "h", "2w"])
def test_parse_duration_rejects_with_examples(text: str) -> None:
    with pytest.raises(ValueError, match="write a number and a unit: 30s, 30m, 2h, 1d"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(minutes=10), "10m"),
        (timedelta(days=1, hours=2), "1d2h"),
        (timedelta(minutes=-5), "-5m"),
    ],
)
def test_format_duration(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


@given(st.integers(min_value=0, max_value=10**8))
def test_format_then_parse_gives_the_same_duration(seconds: int) -> None:
    delta = timedelta(seconds=seconds)
    assert parse_duration(format_duration(delta)) == delta
