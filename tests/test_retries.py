"""The retry policy: per-outcome delays, `never`, max attempts, the calendar, and
`vary_time_of_day`, over the test campaign (Tokyo; Mon-Fri 10-12 and 13-19, Sat 10-17; the last
ten minutes of a window closed) and, for the properties, over random rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.calendar import Blackout, CallingRules, is_callable, next_callable
from dialer.campaigns import Retry, calling_rules
from dialer.day_parts import PartOfDay, next_callable_in_parts, part_of_day
from dialer.outcome_codes import ClosedReason, Outcome
from dialer.retries import (
    VARY_HORIZON,
    Close,
    Reschedule,
    next_attempt_time,
    next_step,
    retry_delay,
)
from tests.factories import CAMPAIGN_ID, JST, make_config

NEW_YORK = ZoneInfo("America/New_York")
# Monday 2 November 2026; Tuesday 3 November is 文化の日, a public holiday.
MONDAY = date(2026, 11, 2)
WEDNESDAY = date(2026, 11, 4)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=JST)


def retry_of(**fields: object) -> Retry:
    return make_config(retry=fields).campaign(CAMPAIGN_ID).retry


RULES = calling_rules(make_config(), CAMPAIGN_ID)


# --- delays and the calendar ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (Outcome.BUSY, timedelta(minutes=30)),
        (Outcome.NO_ANSWER, timedelta(hours=3)),
        (Outcome.MACHINE, timedelta(days=1)),
        (Outcome.FAILED, None),
    ],
    ids=["busy", "no-answer", "machine", "failed-never"],
)
def test_each_outcome_has_the_campaigns_delay(outcome: Outcome, expected: timedelta | None) -> None:
    assert retry_delay(retry_of(), outcome) == expected


def test_outcomes_without_a_delay_are_refused() -> None:
    with pytest.raises(ValueError, match="no retry delay"):
        retry_delay(retry_of(), Outcome.HUMAN)


def test_busy_retry_waits_the_delay_inside_the_window() -> None:
    now = at(MONDAY, 10, 5)
    result = next_attempt_time(retry_of(), Outcome.BUSY, 1, at(MONDAY, 10), RULES, now=now)
    assert result == at(MONDAY, 10, 35)


def test_no_answer_retry_after_lunch_opens_at_the_delay() -> None:
    now = at(MONDAY, 10, 5)
    result = next_attempt_time(retry_of(), Outcome.NO_ANSWER, 1, at(MONDAY, 10), RULES, now=now)
    assert result == at(MONDAY, 13, 5)


def test_retry_due_in_the_lunch_gap_lands_when_the_afternoon_window_opens() -> None:
    now = at(MONDAY, 11, 45)
    result = next_attempt_time(retry_of(), Outcome.BUSY, 1, at(MONDAY, 11, 40), RULES, now=now)
    assert result == at(MONDAY, 13)


def test_retry_due_after_hours_skips_the_holiday_to_the_next_open_morning() -> None:
    now = at(MONDAY, 18, 40)
    result = next_attempt_time(retry_of(), Outcome.BUSY, 1, at(MONDAY, 18, 39), RULES, now=now)
    assert result == at(WEDNESDAY, 10)


def test_retry_due_in_the_last_dial_margin_moves_to_the_next_open_day() -> None:
    now = at(MONDAY, 18, 25)  # + 30m = 18:55, inside the 10 minutes before 19:00
    result = next_attempt_time(retry_of(), Outcome.BUSY, 1, at(MONDAY, 18, 24), RULES, now=now)
    assert result == at(WEDNESDAY, 10)


def test_never_means_no_further_attempt() -> None:
    retry = retry_of(busy="never")
    now = at(MONDAY, 10, 5)
    assert next_attempt_time(retry, Outcome.BUSY, 1, at(MONDAY, 10), RULES, now=now) is None


def test_no_further_attempt_once_max_attempts_are_made() -> None:
    retry = retry_of(max_attempts=2)
    now = at(MONDAY, 10, 5)
    assert next_attempt_time(retry, Outcome.BUSY, 1, at(MONDAY, 10), RULES, now=now) is not None
    assert next_attempt_time(retry, Outcome.BUSY, 2, at(MONDAY, 10), RULES, now=now) is None


# --- vary_time_of_day -------------------------------------------------------------------------


def test_vary_time_of_day_moves_a_morning_retry_to_the_afternoon() -> None:
    retry = retry_of(vary_time_of_day=True)
    # machine: 1 day → the holiday, then Wednesday 10:00, a morning again: the afternoon instead
    result = next_attempt_time(
        retry, Outcome.MACHINE, 1, at(MONDAY, 10), RULES, now=at(MONDAY, 10, 5)
    )
    assert result == at(WEDNESDAY, 13)


def test_vary_time_of_day_keeps_a_retry_that_already_falls_in_another_part() -> None:
    retry = retry_of(vary_time_of_day=True)
    result = next_attempt_time(
        retry, Outcome.NO_ANSWER, 1, at(MONDAY, 10), RULES, now=at(MONDAY, 10, 5)
    )
    assert result == at(MONDAY, 13, 5)


def test_vary_time_of_day_moves_an_afternoon_retry_to_the_evening() -> None:
    retry = retry_of(vary_time_of_day=True)
    result = next_attempt_time(retry, Outcome.BUSY, 1, at(MONDAY, 14), RULES, now=at(MONDAY, 14, 5))
    assert result == at(MONDAY, 17)


def test_vary_time_of_day_falls_back_to_the_plain_time_when_no_other_part_opens() -> None:
    mornings_only = CallingRules(
        timezone=JST,
        windows={day: ((time(9), time(12)),) for day in range(5)},
        policy_hours=(time(9), time(20)),
        holidays="JP",
        blackouts=(),
        last_dial_margin=timedelta(0),
    )
    retry = retry_of(vary_time_of_day=True)
    result = next_attempt_time(
        retry, Outcome.BUSY, 1, at(MONDAY, 10), mornings_only, now=at(MONDAY, 10, 5)
    )
    assert result == at(MONDAY, 10, 35)


@pytest.mark.parametrize(
    ("clock", "part"),
    [
        (time(0, 0), PartOfDay.MORNING),
        (time(11, 59, 59), PartOfDay.MORNING),
        (time(12, 0), PartOfDay.AFTERNOON),
        (time(16, 59, 59), PartOfDay.AFTERNOON),
        (time(17, 0), PartOfDay.EVENING),
        (time(23, 59, 59), PartOfDay.EVENING),
    ],
    ids=str,
)
def test_parts_of_the_day_split_at_noon_and_five(clock: time, part: PartOfDay) -> None:
    instant = datetime.combine(MONDAY, clock, tzinfo=JST).astimezone(UTC)
    assert part_of_day(instant, JST) is part


def test_parts_of_the_day_have_japanese_labels() -> None:
    assert [part.label_ja for part in PartOfDay] == ["午前", "午後", "夕方"]


def test_callable_in_a_part_is_found_in_that_part() -> None:
    found = next_callable_in_parts(
        RULES, {PartOfDay.EVENING}, at(MONDAY, 10), horizon=timedelta(days=1)
    )
    assert found == at(MONDAY, 17)


# --- the next step ------------------------------------------------------------------------------


def step(outcome: Outcome, attempts_made: int = 1, **options: object) -> object:
    retry = options.pop("retry", retry_of())
    assert isinstance(retry, Retry)
    invalid = bool(options.pop("invalid_number", False))
    return next_step(
        retry,
        outcome,
        attempts_made=attempts_made,
        last_started_at=at(MONDAY, 10),
        rules=RULES,
        now=at(MONDAY, 10, 5),
        invalid_number=invalid,
    )


def test_a_human_answer_closes_the_entry_as_reached() -> None:
    assert step(Outcome.HUMAN) == Close(ClosedReason.REACHED)


@pytest.mark.parametrize(
    ("outcome", "reason"),
    [
        (Outcome.BUSY, ClosedReason.BUSY),
        (Outcome.NO_ANSWER, ClosedReason.NO_ANSWER),
        (Outcome.MACHINE, ClosedReason.MACHINE),
        (Outcome.FAILED, ClosedReason.FAILED),
    ],
    ids=str,
)
def test_a_never_delay_closes_with_the_outcomes_reason(
    outcome: Outcome, reason: ClosedReason
) -> None:
    retry = retry_of(**{str(outcome): "never"})
    assert step(outcome, retry=retry) == Close(reason)


def test_max_attempts_closes_before_the_delay_is_considered() -> None:
    assert step(Outcome.FAILED, attempts_made=3) == Close(ClosedReason.MAX_ATTEMPTS)
    assert step(Outcome.BUSY, attempts_made=3) == Close(ClosedReason.MAX_ATTEMPTS)


def test_a_retryable_outcome_reschedules() -> None:
    assert step(Outcome.BUSY, attempts_made=2) == Reschedule(at(MONDAY, 10, 35))


def test_an_invalid_number_closes_as_undialable_without_retry() -> None:
    retry = retry_of(failed="1h")
    assert step(Outcome.FAILED, retry=retry, invalid_number=True) == Close(ClosedReason.UNDIALABLE)


def test_a_canceled_call_is_due_again_at_once_whatever_the_count() -> None:
    assert step(Outcome.CANCELED, attempts_made=3) == Reschedule(at(MONDAY, 10, 5))


def test_no_open_time_left_closes_as_campaign_over() -> None:
    config = make_config(dates=(date(2026, 10, 1), MONDAY))
    rules = calling_rules(config, CAMPAIGN_ID)
    result = next_step(
        retry_of(),
        Outcome.NO_ANSWER,
        attempts_made=1,
        last_started_at=at(MONDAY, 18),
        rules=rules,
        now=at(MONDAY, 18, 5),
    )
    assert result == Close(ClosedReason.CAMPAIGN_OVER)


# --- properties over random rules -------------------------------------------------------------

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None)
HALF_HOUR = timedelta(minutes=30)
DELAYS = [timedelta(minutes=m) for m in (1, 20, 30, 90)] + [
    timedelta(hours=h) for h in (3, 5, 24, 49)
]


@st.composite
def half_hour_windows(draw: st.DrawFn) -> tuple[tuple[time, time], ...]:
    slots = sorted(draw(st.sets(st.integers(min_value=14, max_value=43), min_size=0, max_size=6)))
    windows = []
    for first, second in zip(slots[::2], slots[1::2], strict=False):
        windows.append((_slot(first), _slot(second)))
    return tuple(windows)


def _slot(index: int) -> time:
    return time(index // 2, 30 * (index % 2))


@st.composite
def calling_rules_strategy(draw: st.DrawFn) -> CallingRules:
    weekdays = draw(st.sets(st.integers(min_value=0, max_value=6), min_size=1))
    windows = {day: draw(half_hour_windows()) for day in weekdays}
    blackouts = draw(
        st.sampled_from([(), (Blackout(start=(12, 29), end=(1, 3), name="年末年始"),)])
    )
    return CallingRules(
        timezone=draw(st.sampled_from([JST, NEW_YORK])),
        windows=windows,
        policy_hours=(time(8), time(21)),
        holidays=draw(st.sampled_from(["JP", None])),
        blackouts=blackouts,
        last_dial_margin=draw(st.sampled_from([timedelta(0), timedelta(minutes=10), HALF_HOUR])),
    )


instants = st.datetimes(
    min_value=datetime(2026, 1, 1),  # noqa: DTZ001 - hypothesis bounds are naive by design
    max_value=datetime(2030, 12, 31),  # noqa: DTZ001
    timezones=st.just(UTC),
)


def retries(vary: bool) -> st.SearchStrategy[Retry]:
    delay = st.sampled_from(DELAYS)
    return st.builds(
        lambda busy, vary_time: Retry.model_validate(
            {"max_attempts": 10, "busy": busy, "vary_time_of_day": vary_time}
        ),
        delay,
        st.just(vary) if vary else st.booleans(),
    )


def first_callable_in_another_part(
    rules: CallingRules, earliest: datetime, last_part: PartOfDay
) -> datetime | None:
    """Read plainly: `earliest` itself, then every half hour of the following seven days (the
    random windows, the part boundaries and the offsets all fall on half hours), is the first
    instant that opens a callable stretch of another part among them?"""
    first_grid = earliest.replace(minute=0, second=0, microsecond=0) + HALF_HOUR * (
        1 + earliest.minute // 30
    )
    candidates = [earliest]
    point = first_grid
    while point <= earliest + VARY_HORIZON:
        candidates.append(point)
        point += HALF_HOUR
    for candidate in candidates:
        if is_callable(rules, candidate) and part_of_day(candidate, rules.timezone) != last_part:
            return candidate
    return None


@PROPERTY_SETTINGS
@given(rules=calling_rules_strategy(), retry=retries(vary=False), now=instants)
def test_a_retry_is_never_early_and_always_callable(
    rules: CallingRules, retry: Retry, now: datetime
) -> None:
    result = next_attempt_time(retry, Outcome.BUSY, 1, now - timedelta(minutes=2), rules, now=now)
    assert retry.busy is not None
    if result is None:
        assert next_callable(rules, now + retry.busy) is None
        return
    assert result.astimezone(UTC) >= now + retry.busy
    assert is_callable(rules, result)


@PROPERTY_SETTINGS
@given(
    rules=calling_rules_strategy(),
    retry=retries(vary=True),
    now=instants,
    started_before=st.sampled_from([timedelta(minutes=1), timedelta(hours=4), timedelta(hours=9)]),
)
def test_vary_time_of_day_picks_the_first_instant_of_another_part_within_a_week(
    rules: CallingRules, retry: Retry, now: datetime, started_before: timedelta
) -> None:
    last_started_at = now - started_before
    result = next_attempt_time(retry, Outcome.BUSY, 1, last_started_at, rules, now=now)
    assert retry.busy is not None
    earliest = now + retry.busy
    other = first_callable_in_another_part(
        rules, earliest, part_of_day(last_started_at, rules.timezone)
    )
    if other is not None:
        assert result is not None
        assert result.astimezone(UTC) == other
        assert part_of_day(result, rules.timezone) != part_of_day(last_started_at, rules.timezone)
    else:
        assert result == next_callable(rules, earliest)
    if result is not None:
        assert result.astimezone(UTC) >= earliest
        assert is_callable(rules, result)
