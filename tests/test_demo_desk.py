"""The demo's simulated operators: one disposition per call that reached an operator, drawn
from the shares of the campaign's kind, recorded through the operator screen's own function."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from dialer.campaigns import load_config
from dialer.demo.desk import DESK, RETENTION, SERVICE, SOLICITATION, Desk, shares_for
from dialer.models import Attempt, CallStatus, EntryState
from tests.factories import make_attempt, make_entry

SAMPLE = Path(__file__).resolve().parents[1] / "campaigns.yaml"
NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # Tuesday 15:00 in Tokyo
CONFIG = load_config(SAMPLE)


def _talked(session: Session, campaign_id: str, *, queue_result: str = "bridged") -> Attempt:
    entry = make_entry(session, campaign_id=campaign_id, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(
        session, entry, started_at=NOW, status=CallStatus.COMPLETED, outcome="human", ended_at=NOW
    )
    attempt.answered_by = "human"
    attempt.queue_result = queue_result
    entry.state = EntryState.DONE
    entry.closed_reason = "reached"
    entry.closed_at = NOW
    session.flush()
    return attempt


def test_the_shares_follow_the_campaign() -> None:
    by_id = {campaign.id: campaign for campaign in CONFIG.campaigns}
    assert shares_for(by_id["cancel-save"]) is RETENTION  # its script lists cancel reasons
    assert shares_for(by_id["f2-followup"]) is SOLICITATION
    assert shares_for(by_id["best-customers-thanks"]) is SERVICE


def test_every_operator_call_gets_one_disposition_of_its_kind(session: Session) -> None:
    saves = [_talked(session, "cancel-save") for _ in range(6)]
    sales = [_talked(session, "f2-followup") for _ in range(6)]
    abandoned = _talked(session, "f2-followup", queue_result="hangup")
    session.commit()

    desk = Desk(CONFIG, lambda: NOW, seed=7)
    assert desk.settle(session) == 12
    assert desk.settle(session) == 0  # once only

    session.expire_all()
    assert {a.disposition for a in saves} <= {d.value for d in RETENTION}
    assert {a.disposition for a in sales} <= {d.value for d in SOLICITATION}
    assert all(a.dispositioned_by == DESK for a in saves + sales)
    assert abandoned.disposition is None
