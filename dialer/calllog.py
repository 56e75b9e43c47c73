"""The call log: every attempt, newest first, filtered and paged, and its CSV export.

Pages are keyset pages over (started_at, id), served by `ix_attempts_started_at_id` (or by
`ix_attempts_campaign_id_started_at` / `ix_attempts_operator_id_started_at` when filtered by
campaign or operator): the first page and the thousandth cost the same, and a call arriving
while someone pages does not shift the rows. The cursor is opaque text for the URL. Dates are
local days in the zone the caller names (the company's); phone numbers are searched by their
last digits, names by any part of the name or its kana reading, or the exact customer id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.errors import DialerError
from dialer.models import Attempt, CallStatus, Customer
from dialer.models.reporting import PHONE_TAIL_DIGITS, phone_tail
from dialer.read_only import read_only

__all__ = [
    "LIVE_OUTCOME",
    "PAGE_SIZE",
    "InvalidFilterError",
    "LogFilter",
    "LogPage",
    "LogRow",
    "export_rows",
    "search",
]

PAGE_SIZE: Final = 50
#: The outcome filter's value for calls that have not ended.
LIVE_OUTCOME: Final = "live"
_DIGITS: Final = re.compile(r"[0-9]{2,15}")
_EXPORT_BATCH: Final = 1000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class InvalidFilterError(DialerError):
    """A filter value that cannot be searched for; `field` names it for the form."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class LogFilter:
    """What to search for; every field is optional. `operator_id` restricts the log to one
    operator's calls (an operator's own log)."""

    campaign_id: str | None = None
    outcome: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    phone_digits: str | None = None
    name: str | None = None
    operator_id: str | None = None

    def __post_init__(self) -> None:
        if self.phone_digits is not None and not _DIGITS.fullmatch(self.phone_digits):
            raise InvalidFilterError("phone", "the last digits of a number: 2 to 15 digits")
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise InvalidFilterError("date_to", "the end date is before the start date")


@dataclass(frozen=True)
class LogRow:
    """One attempt as the log shows it."""

    attempt_id: int
    started_at: datetime
    campaign_id: str
    customer_external_id: str
    customer_name: str
    phone: str
    status: CallStatus | None
    outcome: str | None
    answered_by: str | None
    duration_seconds: int | None
    queue_result: str | None
    queue_time_seconds: int | None
    disposition: str | None
    operator_id: str | None


@dataclass(frozen=True)
class LogPage:
    """A page of rows; `next_cursor` fetches the following (older) page, None on the last."""

    rows: tuple[LogRow, ...]
    next_cursor: str | None


def search(
    session: Session,
    log_filter: LogFilter,
    *,
    zone: ZoneInfo,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
) -> LogPage:
    """One page of the filtered log, after `cursor` (from the previous page) if given.

    Read only; the transaction it opens is closed again."""
    query = _query(log_filter, zone)
    if cursor:
        started_at, attempt_id = _decode(cursor)
        query = query.where(
            sa.or_(
                Attempt.started_at < started_at,
                sa.and_(Attempt.started_at == started_at, Attempt.id < attempt_id),
            )
        )
    with read_only(session):
        rows = [_row(found) for found in session.execute(query.limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    return LogPage(tuple(rows), _encode(rows[-1]) if more and rows else None)


def export_rows(session: Session, log_filter: LogFilter, *, zone: ZoneInfo) -> Iterator[LogRow]:
    """Every row of the filtered log, newest first (for the CSV).

    Read page by page, each in a short transaction of its own, so that a long export never
    holds a transaction open while the rows travel to the browser (on SQLite that would hold
    the write lock the worker needs)."""
    cursor: str | None = None
    while True:
        page = search(session, log_filter, zone=zone, cursor=cursor, limit=_EXPORT_BATCH)
        yield from page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _query(log_filter: LogFilter, zone: ZoneInfo) -> sa.Select[*tuple[Any, ...]]:
    query = (
        sa.select(
            Attempt.id.label("attempt_id"),
            Attempt.started_at,
            Attempt.campaign_id,
            Customer.external_id.label("customer_external_id"),
            Customer.name.label("customer_name"),
            Attempt.phone,
            Attempt.status,
            Attempt.outcome,
            Attempt.answered_by,
            Attempt.duration_seconds,
            Attempt.queue_result,
            Attempt.queue_time_seconds,
            Attempt.disposition,
            Attempt.operator_id,
        )
        .join(Customer, Customer.id == Attempt.customer_id)
        .order_by(Attempt.started_at.desc(), Attempt.id.desc())
    )
    for condition in _conditions(log_filter, zone):
        query = query.where(condition)
    return query


def _conditions(log_filter: LogFilter, zone: ZoneInfo) -> Iterator[sa.ColumnElement[bool]]:
    if log_filter.campaign_id:
        yield Attempt.campaign_id == log_filter.campaign_id
    if log_filter.operator_id:
        yield Attempt.operator_id == log_filter.operator_id
    if log_filter.outcome == LIVE_OUTCOME:
        yield Attempt.outcome.is_(None)
    elif log_filter.outcome:
        yield Attempt.outcome == log_filter.outcome
    if log_filter.date_from:
        yield Attempt.started_at >= _local_midnight(log_filter.date_from, zone)
    if log_filter.date_to:
        yield Attempt.started_at < _local_midnight(log_filter.date_to + timedelta(days=1), zone)
    if log_filter.phone_digits:
        digits = log_filter.phone_digits
        if len(digits) >= PHONE_TAIL_DIGITS:
            yield phone_tail(Attempt.phone) == digits[-PHONE_TAIL_DIGITS:]
        yield Attempt.phone.endswith(digits)
    if log_filter.name and log_filter.name.strip():
        text = log_filter.name.strip()
        yield sa.or_(
            Customer.name.contains(text, autoescape=True),
            Customer.name_kana.contains(text, autoescape=True),
            Customer.external_id == text,
        )


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _row(found: sa.Row[*tuple[Any, ...]]) -> LogRow:
    return LogRow(**found._asdict())


def _encode(row: LogRow) -> str:
    """`<microseconds since the epoch>.<attempt id>` of the page's last row."""
    micros = (row.started_at - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{row.attempt_id}"


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        micros_text, id_text = cursor.split(".")
        started_at = _EPOCH + timedelta(microseconds=int(micros_text))
        return started_at, int(id_text)
    except (ValueError, OverflowError):
        raise InvalidFilterError("cursor", "this page link is not valid any more") from None
