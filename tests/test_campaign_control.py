"""Pausing and resuming a campaign from the dashboard, as the dispatcher will read it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from dialer.campaign_control import is_paused, pause, pause_states, paused_campaign_ids, resume
from tests.factories import DEFAULT_TIME


def test_a_campaign_never_touched_is_not_paused(session: Session) -> None:
    assert not is_paused(session, "f2-followup")
    assert paused_campaign_ids(session) == frozenset()


def test_pause_then_resume(session: Session) -> None:
    pause(session, "f2-followup", by="kanri", now=DEFAULT_TIME)
    session.commit()
    assert is_paused(session, "f2-followup")
    assert paused_campaign_ids(session) == {"f2-followup"}
    resume(session, "f2-followup", by="suzuki", now=DEFAULT_TIME + timedelta(minutes=5))
    session.commit()
    assert not is_paused(session, "f2-followup")
    assert paused_campaign_ids(session) == frozenset()


def test_the_last_change_is_kept_with_who_and_why(session: Session) -> None:
    pause(session, "winback", by="kanri", now=DEFAULT_TIME, reason="  ")
    pause(session, "winback", by="suzuki", now=DEFAULT_TIME + timedelta(hours=1), reason="研修")
    session.commit()
    state = pause_states(session)["winback"]
    assert (state.paused, state.changed_by, state.reason) == (True, "suzuki", "研修")
    assert state.changed_at == DEFAULT_TIME + timedelta(hours=1)


def test_campaigns_are_switched_independently(session: Session) -> None:
    pause(session, "a", by="kanri", now=DEFAULT_TIME)
    pause(session, "b", by="kanri", now=DEFAULT_TIME)
    resume(session, "a", by="kanri", now=DEFAULT_TIME)
    session.commit()
    assert paused_campaign_ids(session) == {"b"}
