"""The worker: `dialer run --once`, configuration reloads, singletons, shutdown, and its logs."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import dialer.worker as worker_module
from dialer.dispatch import DispatchOptions
from dialer.log import JsonFormatter, configure_logging, log_event, mask_numbers
from dialer.models import Attempt, EntryState
from dialer.settings import Settings
from dialer.telephony import CallInfo, CallRequest
from dialer.worker import (
    DISPATCH_INTERVAL,
    ConfigWatcher,
    Worker,
    run_worker,
    singleton,
    stop_on_signals,
)
from tests.conftest import DISPATCH_NOW, FakeTwilio, SlotWaits
from tests.factories import dispatch_campaign, dispatch_config_yaml, make_entry

SECRET = "auth-token-that-must-never-appear"


@pytest.fixture
def campaigns_file(tmp_path: Path) -> Path:
    path = tmp_path / "campaigns.yaml"
    path.write_text(dispatch_config_yaml(), encoding="utf-8")
    return path


@pytest.fixture
def worker_settings(dialer_settings: Settings, campaigns_file: Path) -> Settings:
    return Settings(**{**vars(dialer_settings), "campaigns_path": campaigns_file})


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put the root logger back as it was (the worker installs its own handler)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


class BlockingProvider:
    """Places calls only when allowed to: shows what a shutdown does to a call in flight."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.placed: list[CallRequest] = []

    def place_call(self, request: CallRequest) -> CallInfo:
        self.entered.set()
        assert self.release.wait(10)
        self.placed.append(request)
        return CallInfo(
            sid=f"CA{len(self.placed):032x}",
            to=request.to,
            from_=request.from_,
            status="queued",
            date_created=DISPATCH_NOW,
        )

    def fetch_call(self, sid: str) -> CallInfo:
        raise NotImplementedError

    def list_calls(self, to: str, started_after: datetime) -> list[CallInfo]:
        return []

    def hangup(self, sid: str) -> CallInfo:
        raise NotImplementedError

    def redirect(self, sid: str, url: str) -> CallInfo:
        raise NotImplementedError


def test_run_once_places_the_due_calls_and_exits_0(
    session: Session,
    worker_settings: Settings,
    fake_twilio: FakeTwilio,
    monkeypatch: pytest.MonkeyPatch,
    restored_logging: None,
) -> None:
    entry = make_entry(session)
    session.commit()
    monkeypatch.setattr(worker_module, "system_clock", lambda: DISPATCH_NOW)

    assert run_worker(worker_settings, once=True) == 0

    assert fake_twilio.dialled() == [entry.phone]
    session.refresh(entry)
    assert entry.state is EntryState.IN_PROGRESS
    session.commit()


def test_run_once_reconciles_before_dialling(
    session: Session, engine: Engine, worker_settings: Settings, slot_waits: SlotWaits
) -> None:
    stuck = make_entry(session, state=EntryState.IN_PROGRESS)
    stuck_attempt = Attempt(
        entry_id=stuck.id,
        attempt_number=1,
        campaign_id=stuck.campaign_id,
        customer_id=stuck.customer_id,
        phone=stuck.phone or "",
        caller_id="+81312345678",
        started_at=DISPATCH_NOW.replace(hour=9),
    )
    session.add(stuck_attempt)
    stuck.attempt_count = 1
    session.commit()
    provider = BlockingProvider()
    provider.release.set()
    worker = Worker(
        settings=worker_settings,
        engine=engine,
        config=ConfigWatcher.load(worker_settings.campaigns_path),
        dispatch_provider=provider,
        reconcile_provider=provider,
        clock=lambda: DISPATCH_NOW,
        options=DispatchOptions(wait_until=slot_waits),
    )

    worker.run_once()

    session.refresh(stuck_attempt)
    assert stuck_attempt.outcome == "canceled"  # no call at Twilio: given back...
    assert [request.to for request in provider.placed] == [stuck.phone]  # ...and dialled again
    session.commit()


def test_a_changed_campaigns_file_is_reloaded(campaigns_file: Path) -> None:
    watcher = ConfigWatcher.load(campaigns_file)
    assert watcher.check() is False

    campaigns_file.write_text(
        dispatch_config_yaml(dispatch_campaign(cps=3), account_cps=3), encoding="utf-8"
    )

    assert watcher.check() is True
    assert watcher.config.campaigns[0].pacing.cps == 3


def test_a_broken_campaigns_file_keeps_the_last_good_one_and_logs_every_problem(
    campaigns_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watcher = ConfigWatcher.load(campaigns_file)
    good = watcher.config
    broken = dispatch_config_yaml().replace("account_cps: 10.0", "account_cps: -1")
    broken = broken.replace("hours: 09:00-20:00", "hours: 07:00-23:00")
    campaigns_file.write_text(broken, encoding="utf-8")

    with caplog.at_level(logging.ERROR, logger="dialer.worker"):
        assert watcher.check() is False

    assert watcher.config is good
    problems = [r for r in caplog.records if r.getMessage() == "config_problem"]
    assert len(problems) >= 2
    assert [r.getMessage() for r in caplog.records][-1] == "config_refused"


def test_a_file_touched_but_unchanged_is_not_reloaded(campaigns_file: Path) -> None:
    watcher = ConfigWatcher.load(campaigns_file)
    config = watcher.config
    os.utime(campaigns_file, ns=(1, 1))

    assert watcher.check() is False
    assert watcher.config is config


def test_a_singleton_job_runs_on_one_worker_at_a_time(engine: Engine) -> None:
    with singleton(engine, 4242) as first:
        other_engine = sa.create_engine(engine.url)
        try:
            with singleton(other_engine, 4242) as second:
                held_elsewhere = second
        finally:
            other_engine.dispose()
    with singleton(engine, 4242) as again:
        free_again = again

    assert first is True
    assert held_elsewhere is (engine.dialect.name != "postgresql")
    assert free_again is True


def test_a_singleton_held_by_another_schemas_dialer_does_not_hold_this_one(
    engine: Engine,
) -> None:
    """Two dialers in one PostgreSQL database (a schema each) elect their workers apart."""
    if engine.dialect.name != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    elsewhere = sa.create_engine(engine.url.update_query_dict({"options": "-csearch_path=public"}))
    try:
        with singleton(elsewhere, 4242) as other_dialer, singleton(engine, 4242) as this_one:
            assert other_dialer is True
            assert this_one is True
    finally:
        elsewhere.dispose()


def test_sigterm_and_sigint_ask_the_worker_to_stop() -> None:
    for signum in (signal.SIGTERM, signal.SIGINT):
        stop = threading.Event()
        before = signal.getsignal(signum)
        with stop_on_signals(stop):
            os.kill(os.getpid(), signum)
            assert stop.wait(2)
        assert signal.getsignal(signum) == before


def test_shutdown_lets_the_call_in_flight_finish_before_returning(
    session: Session, engine: Engine, worker_settings: Settings, slot_waits: SlotWaits
) -> None:
    make_entry(session)
    session.commit()
    provider = BlockingProvider()
    worker = Worker(
        settings=worker_settings,
        engine=engine,
        config=ConfigWatcher.load(worker_settings.campaigns_path),
        dispatch_provider=provider,
        reconcile_provider=provider,
        clock=lambda: DISPATCH_NOW,
        options=DispatchOptions(wait_until=slot_waits),
    )
    stop = threading.Event()
    serving = threading.Thread(target=worker.serve, args=(stop,))
    serving.start()
    assert provider.entered.wait(10)

    stop.set()
    serving.join(0.5)
    assert serving.is_alive()  # still placing the call it had started
    provider.release.set()
    serving.join(10)

    assert not serving.is_alive()
    attempt = session.scalars(sa.select(Attempt)).one()
    assert attempt.call_sid == "CA" + f"{1:032x}"
    session.commit()


def test_log_lines_are_json_with_phone_numbers_masked_and_no_secret() -> None:
    stream = io.StringIO()
    handler = configure_logging(
        Settings(twilio_auth_token=SECRET), stream=stream, level=logging.INFO
    )
    try:
        logger = logging.getLogger("dialer.test")
        log_event(
            logger,
            "call_placed",
            phone="+819012345678",
            note=f"to 090-1234-5678 with {SECRET}",
            auth_token="x",
            call_sid="CA" + "ab" * 16,
        )
    finally:
        logging.getLogger().removeHandler(handler)

    [line] = stream.getvalue().splitlines()
    record = json.loads(line)
    assert record["event"] == "call_placed"
    assert record["phone"] == "+81 90-****-5678"
    assert record["note"] == "to 0******5678 with [redacted]"
    assert record["auth_token"] == "[redacted]"
    assert record["call_sid"] == "CA" + "ab" * 16
    assert "9012345678" not in line and "1234-5678" not in line and SECRET not in line


def test_numbers_inside_messages_are_masked_too() -> None:
    formatter = JsonFormatter()
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "dialling %s", ("+81312345678",), None
    )

    line = formatter.format(record)

    assert json.loads(line)["event"] == "dialling +81 3-****-5678"
    assert mask_numbers("attempt 12 at 2026-11-02T10:00:00+09:00") == (
        "attempt 12 at 2026-11-02T10:00:00+09:00"
    )


def test_the_dispatch_job_runs_at_the_workers_interval(
    engine: Engine, worker_settings: Settings
) -> None:
    """A simulated clock that runs faster needs the dispatcher to look more often (`dialer
    demo`); production keeps `DISPATCH_INTERVAL`."""
    provider = BlockingProvider()
    intervals: dict[str, timedelta] = {}
    for name, interval in (("default", None), ("fast", timedelta(milliseconds=100))):
        worker = Worker(
            settings=worker_settings,
            engine=engine,
            config=ConfigWatcher.load(worker_settings.campaigns_path),
            dispatch_provider=provider,
            reconcile_provider=provider,
            **({} if interval is None else {"dispatch_interval": interval}),
        )
        scheduler = BackgroundScheduler()
        worker.schedule(scheduler)
        intervals[name] = scheduler.get_job("dispatch").trigger.interval
    assert intervals == {"default": DISPATCH_INTERVAL, "fast": timedelta(milliseconds=100)}
