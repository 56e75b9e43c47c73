"""dialer.ivr without the web layer: placeholders, dates, TwiML and the entry's moves."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.campaigns import Ivr, parse_config
from dialer.day_parts import PartOfDay
from dialer.ivr import (
    OPTED_OUT,
    Call,
    call_for,
    fill_placeholders,
    greeting_twiml,
    japanese_date,
    opt_out,
    schedule_callback,
)
from dialer.models import DncEntry, DncSource, EntryState
from tests.factories import (
    IVR_CAMPAIGNS_YAML,
    JST,
    make_attempt,
    make_customer,
    make_entry,
)
from tests.logs import logged

CONFIG = parse_config(IVR_CAMPAIGNS_YAML.encode(), "campaigns.yaml")
NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def make_call(**ivr: object) -> Call:
    return Call(
        attempt_id=7,
        base_url="https://dialer.example.jp",
        ivr=Ivr.model_validate({"greeting": "{company}でございます。", **ivr}),
        company="株式会社みどり通販",
        campaign_name="ご案内",
        purpose="定期便のご案内",
        customer_name="ヤマダ",
    )


def test_placeholders_are_filled_without_adding_an_honorific() -> None:
    text = fill_placeholders(
        "{customer_name}さん、{company}です。{campaign}/{purpose} {other}",
        company="株式会社みどり通販",
        purpose="定期便のご案内",
        customer_name="ヤマダ タロウ",
        campaign="ご案内",
    )
    assert text == "ヤマダ タロウさん、株式会社みどり通販です。ご案内/定期便のご案内 {other}"


def test_a_japanese_date_names_the_weekday_and_the_part_of_day() -> None:
    at = datetime(2026, 12, 1, 10, 0, tzinfo=JST)
    assert japanese_date(at, PartOfDay.MORNING) == "12月1日(火) 午前"


def test_no_input_then_callback_asks_for_a_band() -> None:
    call = make_call(no_input={"repeat": 0, "then": "callback"})
    root = ET.fromstring(greeting_twiml(call))
    gathers = root.findall("Gather")
    assert [gather.get("action") for gather in gathers] == [
        "https://dialer.example.jp/twilio/gather/7",
        "https://dialer.example.jp/twilio/gather/7?step=band",
    ]
    assert root[-1].tag == "Hangup"


def test_a_machine_without_a_message_is_hung_up_on() -> None:
    root = ET.fromstring(greeting_twiml(make_call(), answered_by="fax"))
    assert [child.tag for child in root] == ["Hangup"]


def test_the_call_reads_the_kana_and_the_campaign(session: Session) -> None:
    customer = make_customer(session, name="山田 太郎", name_kana="ヤマダ タロウ")
    attempt = make_attempt(session, make_entry(session, customer, campaign_id="f2-followup"))
    call = call_for(session, CONFIG, attempt.id, "https://dialer.example.jp/")
    assert call is not None
    assert (call.customer_name, call.campaign_name, call.base_url) == (
        "ヤマダ タロウ",
        "2回目購入のご案内",
        "https://dialer.example.jp",
    )
    assert call_for(session, CONFIG, attempt.id + 1, "https://dialer.example.jp") is None


def test_opt_out_twice_leaves_one_dnc_row_and_a_closed_entry(session: Session) -> None:
    entry = make_entry(session, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry)
    opt_out(session, attempt, now=NOW)
    session.commit()
    opt_out(session, attempt, now=NOW)
    session.commit()
    [dnc] = session.scalars(sa.select(DncEntry)).all()
    assert (dnc.source, dnc.customer_id, dnc.phone) == (
        DncSource.IVR,
        attempt.customer_id,
        attempt.phone,
    )
    session.refresh(entry)
    assert (entry.state, entry.closed_reason, entry.next_attempt_at) == (
        EntryState.DONE,
        OPTED_OUT,
        None,
    )


def test_a_callback_leaves_a_closed_entry_alone(session: Session) -> None:
    entry = make_entry(session, state=EntryState.DONE, closed_reason=OPTED_OUT)
    attempt = make_attempt(session, entry)
    assert not schedule_callback(session, attempt, NOW)
    session.commit()
    session.refresh(entry)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, OPTED_OUT)


def test_a_callback_moves_a_live_entry_back_to_pending(session: Session) -> None:
    entry = make_entry(session, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry)
    assert schedule_callback(session, attempt, NOW)
    session.commit()
    session.refresh(entry)
    assert (entry.state, entry.next_attempt_at, entry.last_outcome) == (
        EntryState.PENDING,
        NOW,
        "callback",
    )


def test_an_opt_out_logs_the_dnc_row_once(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    attempt = make_attempt(session, make_entry(session, state=EntryState.IN_PROGRESS))
    with caplog.at_level(logging.INFO, logger="dialer.ivr"):
        for _ in range(2):
            opt_out(session, attempt, now=NOW)
            session.commit()
    assert logged(caplog, "dnc_added") == [
        {
            "attempt_id": attempt.id,
            "customer": attempt.customer_id,
            "phone": attempt.phone,
            "source": "ivr",
        }
    ]


def test_a_callback_left_undone_is_logged_with_the_entrys_state(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    entry = make_entry(session, state=EntryState.DONE, closed_reason=OPTED_OUT)
    attempt = make_attempt(session, entry)
    with caplog.at_level(logging.INFO, logger="dialer.ivr"):
        schedule_callback(session, attempt, NOW)
    assert logged(caplog, "callback_not_scheduled") == [
        {"attempt_id": attempt.id, "entry_id": entry.id, "state": "done"}
    ]


def test_a_request_for_an_unknown_attempt_is_logged(
    session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dialer.ivr"):
        assert call_for(session, CONFIG, 404, "https://dialer.example.jp") is None
    assert logged(caplog, "unknown_attempt", logging.WARNING) == [{"attempt_id": 404}]
