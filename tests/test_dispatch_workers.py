"""Several workers dialling at once: never a double dial, and the limits hold across them.

On PostgreSQL the workers claim with SKIP LOCKED and meet at the pacing scopes' row locks; on
SQLite every claim transaction takes the write lock. Both must hold.

Each worker is a thread with its own engine (its own connections, as a separate process would
have), its own provider and its own ticks; Twilio is the shared `fake_twilio`. Time runs on a
shared clock that starts at `DISPATCH_NOW` and advances with the real one, and each call waits
for its slot by that clock, so the workers really interleave their claims.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.campaigns import Config
from dialer.db import make_engine, make_session_factory
from dialer.dispatch import DispatchOptions, dispatch_tick
from dialer.models import Attempt
from dialer.settings import Settings
from dialer.telephony.twilio import TwilioProvider
from tests.conftest import DISPATCH_NOW, FakeTwilio
from tests.factories import dispatch_campaign, make_dispatch_config, make_entry

SECOND = timedelta(seconds=1)


class SharedClock:
    """`DISPATCH_NOW` plus the real time elapsed since the workers started."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def __call__(self) -> datetime:
        return DISPATCH_NOW + timedelta(seconds=time.monotonic() - self._start)

    def wait_until(self, slot: datetime, _now: datetime) -> timedelta:
        delay = (slot - self()).total_seconds()
        if delay > 0:
            time.sleep(delay)
        return max(self() - slot, timedelta(0))


def run_workers(count: int, settings: Settings, config: Config, *, seconds: float) -> None:
    """`count` workers ticking back to back for `seconds`; re-raises the first failure."""
    clock = SharedClock()
    failures: list[BaseException] = []
    start = threading.Barrier(count)

    def work() -> None:
        engine = make_engine(settings.database_url)
        sessions = make_session_factory(engine)
        provider = TwilioProvider.from_settings(settings, timeout_seconds=5)
        options = DispatchOptions(wait_until=clock.wait_until, batch_size=10)
        start.wait()
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                dispatch_tick(sessions, config, provider, settings, now=clock(), options=options)
        except BaseException as error:
            failures.append(error)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=work) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]


def all_attempts(session: Session) -> list[Attempt]:
    rows = list(session.scalars(sa.select(Attempt).order_by(Attempt.started_at, Attempt.id)))
    session.commit()
    return rows


def max_in_any_second(instants: list[datetime]) -> int:
    ordered = sorted(instants)
    return max(
        (
            sum(1 for other in ordered[i:] if other - start < SECOND)
            for i, start in enumerate(ordered)
        ),
        default=0,
    )


def min_gap(instants: list[datetime]) -> timedelta:
    ordered = sorted(instants)
    return min((b - a for a, b in pairwise(ordered)), default=SECOND)


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_never_dial_an_entry_twice_and_share_the_call_rate(
    session: Session, dialer_settings: Settings, fake_twilio: FakeTwilio, workers: int
) -> None:
    config = make_dispatch_config(
        dispatch_campaign("a", cps=10, priority=60, max_concurrent=100),
        dispatch_campaign("b", cps=5, priority=40, max_concurrent=100),
        account_cps=12,
        max_concurrent_calls=100,
    )
    for campaign_id in ("a", "b"):
        for _ in range(30):
            make_entry(session, campaign_id=campaign_id)
    session.commit()

    run_workers(workers, dialer_settings, config, seconds=2.5)

    dialled = fake_twilio.dialled()
    assert len(dialled) >= 20
    assert len(set(dialled)) == len(dialled)
    attempts = all_attempts(session)
    assert Counter(attempt.entry_id for attempt in attempts).most_common(1)[0][1] == 1
    assert sorted(attempt.call_sid for attempt in attempts if attempt.call_sid) == sorted(
        call.sid for call in fake_twilio.calls
    )
    slots = [attempt.started_at for attempt in attempts]
    assert min_gap(slots) >= SECOND / 12
    assert max_in_any_second(slots) <= 12
    for campaign_id, cps in (("a", 10), ("b", 5)):
        own = [attempt.started_at for attempt in attempts if attempt.campaign_id == campaign_id]
        assert min_gap(own) >= SECOND / cps


@pytest.mark.parametrize("workers", [2, 3])
def test_workers_together_hold_the_calls_in_flight_limit(
    session: Session, dialer_settings: Settings, fake_twilio: FakeTwilio, workers: int
) -> None:
    config = make_dispatch_config(
        dispatch_campaign("a", cps=50, priority=60, max_concurrent=9),
        dispatch_campaign("b", cps=50, priority=40, max_concurrent=9),
        account_cps=50,
        max_concurrent_calls=13,
    )
    for campaign_id in ("a", "b"):
        for _ in range(20):
            make_entry(session, campaign_id=campaign_id)
    session.commit()

    run_workers(workers, dialer_settings, config, seconds=1.5)

    attempts = all_attempts(session)
    assert len(fake_twilio.creates) == len(attempts) == 13
    assert Counter(attempt.campaign_id for attempt in attempts) == {"a": 9, "b": 4}
