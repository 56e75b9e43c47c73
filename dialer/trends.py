"""The dashboard's charts: today hour by hour, the best hour to call, outcomes per campaign.

Each series is one grouped query. Hours are counted in the company's time zone: the database
groups attempts by the UTC hour they started in (the same expression on both engines' terms),
and each UTC hour is then read on the local clock. That is exact for every zone whose offset
from UTC is a whole number of hours, Japan's included.

Categories of a call, in the order the charts stack them: human (reached a person, as
`kpis.human_answered`, even while the call goes on), machine, busy, no-answer, failed, and live
(not ended and not answered by a person yet). Calls released without being placed (canceled)
are not calls and are left out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.kpis import human_answered
from dialer.models import Attempt, UTCDateTime
from dialer.outcome_codes import Outcome
from dialer.read_only import read_only
from dialer.wallclock import require_aware

__all__ = [
    "CATEGORIES",
    "HourlyContact",
    "PeriodCounts",
    "Trends",
    "contact_rate_by_hour",
    "outcomes_by_campaign",
    "period_counts",
    "today_by_hour",
    "trends",
]

CATEGORIES: Final = ("human", "machine", "busy", "no-answer", "failed", "live")
TREND_DAYS: Final = 30


@dataclass(frozen=True)
class HourlyContact:
    """Calls dialled and reached in one hour of the day, over the whole period."""

    hour: int
    dialled: int
    human: int

    @property
    def contact_rate(self) -> float | None:
        return self.human / self.dialled if self.dialled else None


@dataclass(frozen=True)
class Trends:
    """All three charts at `now`, in `timezone`."""

    now: datetime
    timezone: ZoneInfo
    days: int
    #: 24 hours of today → category → calls.
    today: tuple[dict[str, int], ...]
    contact: tuple[HourlyContact, ...]
    #: campaign → category → calls over the period.
    by_campaign: dict[str, dict[str, int]]


def trends(session: Session, zone: ZoneInfo, *, now: datetime, days: int = TREND_DAYS) -> Trends:
    """Every chart's data in two queries (today; the period, read once for both of its
    charts); read only (the transaction it opens is closed again)."""
    require_aware(now)
    with read_only(session):
        period = period_counts(session, now=now, days=days)
        return Trends(
            now=now,
            timezone=zone,
            days=days,
            today=today_by_hour(session, zone, now=now),
            contact=_contact(period, zone),
            by_campaign=_by_campaign(period),
        )


#: (campaign, start of the UTC hour, category) → calls.
PeriodCounts = dict[tuple[str, datetime, str], int]


def period_counts(session: Session, *, now: datetime, days: int = TREND_DAYS) -> PeriodCounts:
    """Calls of the last `days` days by campaign, UTC hour and category, in one query."""
    bucket, category = _utc_hour(session), _category()
    query = (
        sa.select(Attempt.campaign_id, bucket, category, sa.func.count())
        .where(Attempt.started_at >= now - timedelta(days=days), _placed())
        .group_by(Attempt.campaign_id, bucket, category)
    )
    return {
        (campaign_id, utc_hour, name): count
        for campaign_id, utc_hour, name, count in session.execute(query)
    }


def today_by_hour(session: Session, zone: ZoneInfo, *, now: datetime) -> tuple[dict[str, int], ...]:
    """Today's calls per local hour and category."""
    hours: list[Counter[str]] = [Counter() for _ in range(24)]
    start = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    bucket, category = _utc_hour(session), _category()
    query = (
        sa.select(bucket, category, sa.func.count())
        .where(Attempt.started_at >= start, _placed())
        .group_by(bucket, category)
    )
    for utc_hour, name, count in session.execute(query):
        hours[_local_hour(utc_hour, zone)][name] += count
    return tuple({name: hour[name] for name in CATEGORIES} for hour in hours)


def contact_rate_by_hour(
    session: Session, zone: ZoneInfo, *, now: datetime, days: int = TREND_DAYS
) -> tuple[HourlyContact, ...]:
    """For each hour of the day, calls dialled and reached over the last `days` days."""
    return _contact(period_counts(session, now=now, days=days), zone)


def outcomes_by_campaign(
    session: Session, *, now: datetime, days: int = TREND_DAYS
) -> dict[str, dict[str, int]]:
    """Calls per campaign and category over the last `days` days."""
    return _by_campaign(period_counts(session, now=now, days=days))


def _contact(period: PeriodCounts, zone: ZoneInfo) -> tuple[HourlyContact, ...]:
    dialled: Counter[int] = Counter()
    human: Counter[int] = Counter()
    for (_campaign_id, utc_hour, name), count in period.items():
        hour = _local_hour(utc_hour, zone)
        dialled[hour] += count
        if name == "human":
            human[hour] += count
    return tuple(HourlyContact(hour, dialled[hour], human[hour]) for hour in range(24))


def _by_campaign(period: PeriodCounts) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for (campaign_id, _utc_hour, name), count in period.items():
        found.setdefault(campaign_id, dict.fromkeys(CATEGORIES, 0))[name] += count
    return dict(sorted(found.items()))


def _placed() -> sa.ColumnElement[bool]:
    return sa.or_(Attempt.outcome.is_(None), Attempt.outcome != Outcome.CANCELED.value)


def _category() -> sa.Label[str]:
    """The call's category, labelled so that GROUP BY names it rather than repeating it."""
    return sa.case(
        (human_answered(), "human"),
        (Attempt.outcome == Outcome.MACHINE.value, "machine"),
        (Attempt.outcome == Outcome.BUSY.value, "busy"),
        (Attempt.outcome == Outcome.NO_ANSWER.value, "no-answer"),
        (Attempt.outcome.is_(None), "live"),
        else_="failed",
    ).label("category")


def _utc_hour(session: Session) -> sa.Label[datetime]:
    """The start of the UTC hour an attempt started in, labelled like `_category`."""
    if session.get_bind().dialect.name == "postgresql":
        truncated = sa.func.date_trunc("hour", sa.func.timezone("UTC", Attempt.started_at))
        hour = sa.func.timezone("UTC", truncated, type_=UTCDateTime())
    else:
        hour = sa.func.strftime("%Y-%m-%d %H:00:00", Attempt.started_at, type_=UTCDateTime())
    return hour.label("utc_hour")


def _local_hour(utc_hour: datetime, zone: ZoneInfo) -> int:
    return utc_hour.astimezone(UTC).astimezone(zone).hour
