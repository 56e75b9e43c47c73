"""A webhook's callback is stored and applied in one transaction (`receive_event`); when applying
fails the callback is still stored, unapplied, for the replay. One progress callback costs three
statements and one commit."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session

from dialer import callbacks
from dialer.callbacks import EventKind, Receipt, apply_pending_events, receive_event
from dialer.campaigns import Config, ConfigError
from dialer.db import make_session_factory
from dialer.models import Attempt, CallEvent, CallListEntry, CallStatus, EntryState
from tests.factories import DEFAULT_TIME, callback_params, make_attempt, make_config, make_entry
from tests.logs import logged

NOW = DEFAULT_TIME + timedelta(minutes=5)


@pytest.fixture
def config() -> Config:
    return make_config()


@pytest.fixture
def attempt(session: Session) -> Attempt:
    """A call just placed: its entry is in progress, Twilio has queued it."""
    entry = make_entry(session, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry, status=CallStatus.QUEUED)
    session.commit()
    return attempt


def receive(session: Session, config: Config, params: dict[str, str], **options: int) -> Receipt:
    """What the webhook does (after ending the test's reads)."""
    session.commit()
    return receive_event(session, lambda: config, EventKind.STATUS, params, now=NOW, **options)


def events(session: Session) -> list[CallEvent]:
    """The event log as the database has it now."""
    session.commit()
    query = sa.select(CallEvent).order_by(CallEvent.id)
    with session.begin():
        return list(session.scalars(query.execution_options(populate_existing=True)))


def reloaded(session: Session, attempt: Attempt) -> Attempt:
    session.commit()
    session.refresh(attempt)
    session.refresh(attempt.entry)
    session.commit()
    return attempt


def test_a_received_callback_is_stored_as_received_applied_and_marked_applied(
    session: Session, config: Config, attempt: Attempt
) -> None:
    params = callback_params(attempt, "ringing", 1, CallerName="山田 太郎")
    receipt = receive(session, config, params)
    assert receipt.applied
    [stored] = events(session)
    assert stored.id == receipt.event_id
    assert (stored.kind, stored.call_sid, stored.sequence_number) == ("status", attempt.call_sid, 1)
    assert (stored.attempt_id, stored.payload, stored.received_at) == (attempt.id, params, NOW)
    assert stored.applied_at == NOW
    assert (attempt.status, attempt.last_sequence_number) == (CallStatus.RINGING, 1)


def test_a_failure_while_applying_keeps_nothing_of_it_but_the_stored_callback(
    session: Session, config: Config, attempt: Attempt, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> bool:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(callbacks, "apply_status", broken)
    receipt = receive(session, config, callback_params(attempt, "busy", 2))
    assert not receipt.applied
    [stored] = events(session)
    assert (stored.id, stored.applied_at, stored.attempt_id) == (receipt.event_id, None, attempt.id)
    assert reloaded(session, attempt).status is CallStatus.QUEUED

    monkeypatch.undo()
    replay = apply_pending_events(session, config, now=NOW + timedelta(minutes=1))
    assert (replay.applied, replay.failed) == (1, 0)
    attempt = reloaded(session, attempt)
    assert (attempt.status, attempt.entry.state) == (CallStatus.BUSY, EntryState.PENDING)


def test_a_campaigns_file_that_cannot_be_read_leaves_the_callback_stored_for_the_replay(
    session: Session, attempt: Attempt
) -> None:
    def unreadable() -> Config:
        raise ConfigError([])

    session.commit()
    params = callback_params(attempt, "completed", 3)
    receipt = receive_event(session, unreadable, EventKind.STATUS, params, now=NOW)
    assert not receipt.applied
    assert [event.applied_at for event in events(session)] == [None]
    assert reloaded(session, attempt).status is CallStatus.QUEUED


def test_a_received_callback_is_not_applied_again_by_the_replay(
    session: Session, config: Config, attempt: Attempt
) -> None:
    receive(session, config, callback_params(attempt, "busy", 2))
    due = reloaded(session, attempt).entry.next_attempt_at
    later = NOW + timedelta(minutes=20)
    assert apply_pending_events(session, config, now=later) == callbacks.Replay(0, 0)
    assert reloaded(session, attempt).entry.next_attempt_at == due


def test_a_received_callback_may_name_its_attempt_before_the_call_sid_is_recorded(
    session: Session, config: Config
) -> None:
    entry = make_entry(session, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry, status=None)
    attempt.call_sid = None
    session.commit()
    params = callback_params(attempt, "ringing", 1, CallSid="CA" + "1" * 32)
    assert receive(session, config, params, attempt_id=attempt.id).applied
    assert [event.attempt_id for event in events(session)] == [attempt.id]
    assert (attempt.call_sid, attempt.status) == ("CA" + "1" * 32, CallStatus.RINGING)


@pytest.mark.parametrize("status", ["ringing", "completed"])
def test_a_received_callback_for_another_call_leaves_the_named_attempt_alone(
    session: Session, config: Config, attempt: Attempt, status: str
) -> None:
    params = callback_params(attempt, status, 3, CallSid="CA" + "2" * 32)
    assert receive(session, config, params, attempt_id=attempt.id).applied
    [stored] = events(session)
    assert (stored.attempt_id, stored.applied_at) == (None, NOW)
    assert reloaded(session, attempt).status is CallStatus.QUEUED


@pytest.mark.parametrize("status", ["ringing", "completed"])
def test_a_received_callback_with_an_unknown_call_sid_is_applied_without_effect(
    session: Session, config: Config, attempt: Attempt, status: str
) -> None:
    params = callback_params(attempt, status, 3, CallSid="CA" + "f" * 32)
    assert receive(session, config, params).applied
    assert [(event.attempt_id, event.applied_at) for event in events(session)] == [(None, NOW)]


@contextmanager
def statements_and_commits(engine: Engine) -> Iterator[tuple[list[str], list[int]]]:
    """The first word of each SQL statement the engine sends (but SQLite's BEGIN IMMEDIATE),
    and one entry per commit, while the block runs."""
    statements: list[str] = []
    commits: list[int] = []

    def on_statement(_connection: object, _cursor: object, statement: str, *_rest: object) -> None:
        verb = statement.split()[0]
        if verb != "BEGIN":
            statements.append(verb)

    def on_commit(_connection: object) -> None:
        commits.append(1)

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    try:
        yield statements, commits
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)


def test_a_progress_callback_takes_three_statements_and_one_commit(
    session: Session, engine: Engine, config: Config, attempt: Attempt
) -> None:
    session.commit()
    with statements_and_commits(engine) as (statements, commits):
        receive(session, config, callback_params(attempt, "ringing", 1))
    # The attempt found, locked and read; the callback stored; the attempt moved on.
    assert statements == ["SELECT", "INSERT", "UPDATE"]
    assert len(commits) == 1


def test_a_duplicate_progress_callback_is_stored_and_changes_nothing(
    session: Session,
    engine: Engine,
    config: Config,
    attempt: Attempt,
    caplog: pytest.LogCaptureFixture,
) -> None:
    receive(session, config, callback_params(attempt, "in-progress", 2, AnsweredBy="human"))
    params = callback_params(attempt, "ringing", 1)
    session.commit()
    with (
        caplog.at_level(logging.INFO, logger="dialer.callbacks"),
        statements_and_commits(engine) as (statements, commits),
    ):
        late = receive(session, config, params)
    assert late.applied
    assert statements == ["SELECT", "INSERT"]
    assert len(commits) == 1
    [ignored] = logged(caplog, "status_ignored")
    assert (ignored["event_id"], ignored["status"], ignored["attempt_id"]) == (
        late.event_id,
        "ringing",
        attempt.id,
    )
    attempt = reloaded(session, attempt)
    assert (attempt.status, attempt.last_sequence_number, attempt.answered_by) == (
        CallStatus.IN_PROGRESS,
        2,
        "human",
    )
    assert [event.applied_at for event in events(session)] == [NOW, NOW]


def test_a_progress_callback_needs_no_campaigns_file(session: Session, attempt: Attempt) -> None:
    def unreadable() -> Config:
        raise ConfigError([])

    session.commit()
    params = callback_params(attempt, "ringing", 1)
    receipt = receive_event(session, unreadable, EventKind.STATUS, params, now=NOW)
    assert receipt.applied
    assert reloaded(session, attempt).status is CallStatus.RINGING


def test_a_progress_callback_leaves_the_entry_unlocked(
    session: Session, engine: Engine, config: Config, attempt: Attempt
) -> None:
    """The entry may be held by whoever moves it (the IVR, the dispatcher's claim) while a
    progress callback moves the attempt: the callback does not wait for it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite locks the whole database, not rows")
    session.commit()
    receipts: list[Receipt] = []

    def deliver() -> None:
        with make_session_factory(engine)() as webhook:
            params = callback_params(attempt, "ringing", 1)
            receipts.append(
                receive_event(webhook, lambda: config, EventKind.STATUS, params, now=NOW)
            )

    with make_session_factory(engine)() as holder, holder.begin():
        entry = sa.select(CallListEntry.id).where(CallListEntry.id == attempt.entry_id)
        holder.execute(entry.with_for_update())
        webhook = threading.Thread(target=deliver)
        webhook.start()
        webhook.join(timeout=10)
        applied_while_held = [receipt.applied for receipt in receipts]
    webhook.join()
    assert applied_while_held == [True]
    assert reloaded(session, attempt).status is CallStatus.RINGING


def test_a_final_callback_reads_the_entry_once(
    session: Session, engine: Engine, config: Config, attempt: Attempt
) -> None:
    session.commit()
    with statements_and_commits(engine) as (statements, commits):
        receipt = receive(session, config, callback_params(attempt, "busy", 1))
    assert receipt.applied
    # Entry and attempt locked and read once; the callback stored; one query for the entry's
    # other attempts (the latest and the count); the attempt finished and the entry moved on,
    # in one flush.
    assert statements == ["SELECT", "INSERT", "SELECT", "UPDATE", "UPDATE"]
    assert len(commits) == 1
    session.expire_all()
    assert session.get_one(Attempt, attempt.id).outcome == "busy"
    assert session.get_one(CallListEntry, attempt.entry_id).state is EntryState.PENDING


def test_callbacks_received_concurrently_finish_the_attempt_once(
    session: Session, engine: Engine, config: Config, attempt: Attempt
) -> None:
    deliveries = [
        callback_params(attempt, status, number)
        for status, number in (("initiated", 0), ("ringing", 1), ("in-progress", 2), ("busy", 3))
        for _copy in range(3)
    ]
    sessions = make_session_factory(engine)
    errors: list[BaseException] = []
    receipts: list[Receipt] = []

    def deliver_all(worker: int) -> None:
        with sessions() as own:
            for params in deliveries[worker::3]:
                try:
                    receipts.append(
                        receive_event(own, lambda: config, EventKind.STATUS, params, now=NOW)
                    )
                except BaseException as error:  # the test reports any, deadlocks included
                    errors.append(error)
                    return

    threads = [threading.Thread(target=deliver_all, args=(worker,)) for worker in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert len(receipts) == len(deliveries)
    assert all(receipt.applied for receipt in receipts)
    attempt = reloaded(session, attempt)
    assert (attempt.status, attempt.outcome, attempt.last_sequence_number) == (
        CallStatus.BUSY,
        "busy",
        3,
    )
    assert (attempt.entry.state, attempt.entry.next_attempt_at) == (
        EntryState.PENDING,
        NOW + timedelta(minutes=30),
    )
    assert all(event.applied_at == NOW for event in events(session))


def test_a_callback_that_fails_to_apply_is_logged_with_its_call_sid_and_traceback(
    session: Session,
    config: Config,
    attempt: Attempt,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> bool:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(callbacks, "apply_status", broken)
    with caplog.at_level(logging.ERROR, logger="dialer.callbacks"):
        receive(session, config, callback_params(attempt, "busy", 2))
    assert logged(caplog, "callback_not_applied", logging.ERROR) == [
        {"kind": EventKind.STATUS, "call_sid": attempt.call_sid}
    ]
    [record] = caplog.records
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError
