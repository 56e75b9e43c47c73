"""Refusal is final at dialling time too (DESIGN.md invariant 5): once the customer pressed the
IVR's opt-out key, the next dispatch tick dials them in no campaign, even where their entry was
already pending and due. Twilio's REST API is mocked at the HTTP layer (`fake_twilio`); the
opt-out goes through the signed webhook, as Twilio would send it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from dialer.campaigns import parse_config
from dialer.models import CallListEntry, CallStatus, EntryState
from dialer.settings import Settings
from tests.conftest import DISPATCH_NOW, FakeTwilio, Tick, TwilioWebhooks
from tests.factories import (
    dispatch_campaign,
    dispatch_config_yaml,
    make_attempt,
    make_customer,
    make_entry,
)
from web import create_app
from web.database import database

ANSWERED = "f2-followup"
PENDING = "reactivation"
#: The opt-out call took place two days before the tick: no cooldown or live call in the way.
CALL_TIME = DISPATCH_NOW - timedelta(days=2)

CONFIG_YAML = dispatch_config_yaml(
    dispatch_campaign(ANSWERED, priority=50, mode="ivr-then-agent"),
    dispatch_campaign(PENDING, priority=80),
    contact_cooldown="1m",
)


@pytest.fixture
def campaigns_path(tmp_path: Path) -> Path:
    path = tmp_path / "campaigns.yaml"
    path.write_text(CONFIG_YAML, encoding="utf-8")
    return path


@pytest.fixture
def app(app_settings: Settings) -> Iterator[Flask]:
    """The web app, its clock at the time of the opt-out call."""
    app = create_app(app_settings, {"TESTING": True}, clock=lambda: CALL_TIME)
    yield app
    database(app).engine.dispose()


@pytest.mark.parametrize("opted_out", [True, False], ids=["opted-out", "control"])
def test_after_the_opt_out_key_no_campaign_dials_the_customer(
    twilio: TwilioWebhooks,
    session: Session,
    fake_twilio: FakeTwilio,
    tick: Tick,
    opted_out: bool,
) -> None:
    customer = make_customer(session)
    answered = make_entry(session, customer, campaign_id=ANSWERED, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, answered, started_at=CALL_TIME, status=CallStatus.IN_PROGRESS)
    pending = make_entry(session, customer, campaign_id=PENDING, next_attempt_at=CALL_TIME)
    other = make_entry(session, campaign_id=PENDING, next_attempt_at=CALL_TIME)
    session.commit()
    phone, other_phone, pending_id = customer.dialable_phone, other.phone, pending.id

    if opted_out:
        response = twilio.post(f"/twilio/gather/{attempt.id}", {"Digits": "9"})
        assert response.status_code == 200
    ended = {"CallSid": attempt.call_sid or "", "CallStatus": "completed", "CallDuration": "20"}
    assert twilio.post(f"/twilio/status?attempt={attempt.id}", ended).status_code == 204

    tick(parse_config(CONFIG_YAML.encode(), "campaigns.yaml"))

    session.commit()
    entry = session.get_one(CallListEntry, pending_id)
    session.refresh(entry)
    if opted_out:
        assert fake_twilio.dialled() == [other_phone]
        assert phone not in fake_twilio.dialled()
        assert entry.state is EntryState.SUPPRESSED
        assert entry.suppressed_reason in {"dnc", "refused"}
        assert entry.attempt_count == 0
    else:
        assert sorted(fake_twilio.dialled()) == sorted([phone, other_phone])
        assert entry.state is EntryState.IN_PROGRESS
    session.commit()
