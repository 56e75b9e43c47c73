"""One campaign: who to call, when, how often, how fast, and what they hear.

These models check each value on its own; checks that need several values (overlapping
windows, the greeting a sales call needs, ...) are in `dialer.campaigns.rules`.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainValidator,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
)

from dialer.campaigns.clock import CallingHours, DaySpec, TimeRange, parse_days
from dialer.campaigns.ivr import Ivr
from dialer.campaigns.segment_parser import SegmentError, parse_segment
from dialer.campaigns.segments import Segment
from dialer.campaigns.validation import Section, issues_error
from dialer.campaigns.values import (
    PhoneNumber,
    PositiveDuration,
    RetryDelay,
    Slug,
    Text,
    TimeZoneName,
)

CampaignKind = Literal["solicitation", "service"]
"""solicitation: a sales call (特定商取引法 applies); service: about an existing contract."""

PacingMode = Literal["agentless", "ivr-then-agent"]


class Dates(Section):
    """The campaign's first and last calling day, both included (`rules` checks the order)."""

    first: date = Field(alias="from")
    last: date = Field(alias="to")


class Retry(Section):
    """When to try again after each kind of failed attempt; None means never."""

    max_attempts: StrictInt = Field(default=3, ge=1, le=10)
    busy: RetryDelay = timedelta(minutes=30)
    no_answer: RetryDelay = Field(default=timedelta(hours=3), alias="no-answer")
    machine: RetryDelay = timedelta(days=1)
    failed: RetryDelay = None
    vary_time_of_day: StrictBool = True


class Pacing(Section):
    """How fast this campaign dials; the company policy caps both limits."""

    mode: PacingMode = "ivr-then-agent"
    cps: StrictFloat = Field(default=1.0, gt=0)
    max_concurrent: StrictInt = Field(default=5, ge=1)
    max_queue_wait: PositiveDuration = timedelta(seconds=90)


class Script(Section):
    """Guidance shown to the operator who takes the call."""

    reasons: dict[str, Text] = Field(default_factory=dict)
    notes: Text | None = None


def _segment(value: Any) -> Segment:
    if isinstance(value, Segment):
        return value
    try:
        return parse_segment(value)
    except SegmentError as error:
        raise issues_error(error.issues, value) from None


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


def _some_day(windows: dict[str, Any]) -> dict[str, Any]:
    if not windows:
        raise ValueError('needs at least one day, e.g. mon-fri: ["10:00-12:00"]')
    return windows


Windows = Annotated[
    dict[DaySpec, Annotated[tuple[CallingHours, ...], BeforeValidator(_as_list)]],
    AfterValidator(_some_day),
]
"""Day spec as written → that day's windows; `Campaign.weekly_windows` resolves the days."""


class Campaign(Section):
    """A campaign as configured; `Config` resolves what it inherits from the company."""

    id: Slug
    name: Text
    purpose: StrictStr = ""
    kind: CampaignKind
    enabled: StrictBool = True
    priority: StrictInt = Field(default=50, ge=0, le=100)
    timezone: TimeZoneName | None = None
    caller_id: PhoneNumber | None = None
    require_opt_in: StrictBool = False
    dates: Dates | None = None
    segment: Annotated[Segment, PlainValidator(_segment)]
    windows: Windows
    retry: Retry = Field(default_factory=Retry)
    pacing: Pacing = Field(default_factory=Pacing)
    ivr: Ivr
    script: Script | None = None

    def weekly_windows(self) -> dict[int, tuple[TimeRange, ...]]:
        """Weekday (Monday = 0) → that day's windows in start order; absent days are closed."""
        days: dict[int, list[TimeRange]] = {}
        for spec, ranges in self.windows.items():
            for day in parse_days(spec):
                days.setdefault(day, []).extend(ranges)
        return {day: tuple(sorted(ranges)) for day, ranges in sorted(days.items())}
