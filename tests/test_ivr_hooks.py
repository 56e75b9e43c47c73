"""The IVR's webhooks: /twilio/voice/<attempt> (greeting and menu) and /twilio/gather/<attempt>
(the key pressed), answered with TwiML that is parsed here, not compared as text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.calendar import is_callable
from dialer.campaigns import calling_rules, parse_config
from dialer.day_parts import PartOfDay, part_of_day
from dialer.ivr import CALLBACK_MIN_DELAY, DNC_REASON, GATHER_TIMEOUT_SECONDS, OPTED_OUT
from dialer.lists import build_list
from dialer.models import Attempt, CallListEntry, DncEntry, DncSource, EntryState, KeyPress
from dialer.suppression import SuppressionReason
from tests.conftest import PUBLIC_BASE_URL, TwilioWebhooks
from tests.factories import IVR_CAMPAIGNS_YAML, make_attempt, make_customer, make_entry
from tests.twiml import assert_japanese_voice, says, twiml

F2 = "f2-followup"
OTHER = "repeat"
KANA = "ヤマダ タロウ"
IVR_CONFIG = parse_config(IVR_CAMPAIGNS_YAML.encode(), "campaigns.yaml")


@pytest.fixture
def campaigns_path(tmp_path: Path) -> Path:
    """The app reads a campaigns file with a full IVR menu."""
    path = tmp_path / "campaigns.yaml"
    path.write_text(IVR_CAMPAIGNS_YAML, encoding="utf-8")
    return path


@pytest.fixture
def attempt(session: Session) -> Attempt:
    """A call answered by a person: its entry is in progress."""
    customer = make_customer(session, name="山田 太郎", name_kana=KANA)
    entry = make_entry(session, customer, campaign_id=F2, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry)
    session.commit()
    return attempt


def voice_path(attempt_id: int, query: str = "") -> str:
    return f"/twilio/voice/{attempt_id}{query}"


def gather_path(attempt_id: int, query: str = "") -> str:
    return f"/twilio/gather/{attempt_id}{query}"


def key_presses(session: Session) -> list[tuple[str, str, str | None]]:
    session.commit()
    rows = session.execute(
        sa.select(KeyPress.step, KeyPress.digits, KeyPress.action).order_by(KeyPress.id)
    )
    result = [(step, digits, action) for step, digits, action in rows]
    session.commit()
    return result


def dnc_rows(session: Session) -> list[DncEntry]:
    session.commit()
    rows = list(session.scalars(sa.select(DncEntry)))
    session.commit()
    return rows


def reloaded_entry(session: Session, attempt: Attempt) -> CallListEntry:
    session.commit()
    entry = session.get_one(CallListEntry, attempt.entry_id)
    session.refresh(entry)
    session.commit()
    return entry


def press(twilio: TwilioWebhooks, attempt: Attempt, digits: str, query: str = "") -> ET.Element:
    return twiml(twilio.post(gather_path(attempt.id, query), {"Digits": digits}))


# --- the greeting -------------------------------------------------------------------------------


def test_the_greeting_is_said_in_japanese_inside_a_one_key_gather(
    twilio: TwilioWebhooks, attempt: Attempt
) -> None:
    root = twiml(twilio.post(voice_path(attempt.id), {"CallSid": attempt.call_sid or ""}))
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("input") == "dtmf"
    assert gather.get("numDigits") == "1"
    assert gather.get("timeout") == str(GATHER_TIMEOUT_SECONDS)
    assert gather.get("action") == f"{PUBLIC_BASE_URL}/twilio/gather/{attempt.id}"
    [say] = gather.findall("Say")
    assert say.text == (
        f"{KANA}様、株式会社みどり通販でございます。"
        "2回目購入のご案内、定期お届け便のご案内のお電話です。"
        "担当者とお話しになる場合は1を、折り返しをご希望の場合は2を押してください。"
    )
    assert_japanese_voice(root)
    redirect = root.find("Redirect")
    assert redirect is not None
    assert redirect.text == f"{PUBLIC_BASE_URL}/twilio/voice/{attempt.id}?repeat=1"


def test_the_name_is_read_from_the_name_when_there_is_no_kana(
    twilio: TwilioWebhooks, session: Session
) -> None:
    customer = make_customer(session, name="佐藤 花子", name_kana=None)
    entry = make_entry(session, customer, campaign_id=F2, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry)
    session.commit()
    root = twiml(twilio.post(voice_path(attempt.id), {}))
    assert says(root)[0].startswith("佐藤 花子様、")


def test_no_input_repeats_the_greeting_then_hangs_up_politely(
    twilio: TwilioWebhooks, attempt: Attempt
) -> None:
    second = twiml(twilio.post(voice_path(attempt.id, "?repeat=1"), {}))
    redirect = second.find("Redirect")
    assert redirect is not None and redirect.text is not None
    assert urlsplit(redirect.text).query == "repeat=2"

    last = twiml(twilio.post(voice_path(attempt.id, "?repeat=2"), {}))
    assert [child.tag for child in last] == ["Gather", "Say", "Hangup"]
    assert "お電話を終了いたします" in says(last)[-1]
    assert_japanese_voice(last)


def test_a_machine_gets_the_campaigns_message_and_a_hang_up(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    attempt.answered_by = "machine_end_beep"
    session.commit()
    root = twiml(twilio.post(voice_path(attempt.id), {}))
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert says(root) == ["株式会社みどり通販でございます。また改めてお電話いたします。"]
    assert_japanese_voice(root)


def test_a_machine_is_hung_up_on_when_the_campaign_says_hangup(
    twilio: TwilioWebhooks, session: Session
) -> None:
    entry = make_entry(session, campaign_id=OTHER, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry)
    attempt.answered_by = "machine_start"
    session.commit()
    root = twiml(twilio.post(voice_path(attempt.id), {}))
    assert [child.tag for child in root] == ["Hangup"]


def test_an_unknown_attempt_gets_an_apology_and_a_hang_up(
    twilio: TwilioWebhooks, session: Session
) -> None:
    for path in (voice_path(999_999), gather_path(999_999)):
        root = twiml(twilio.post(path, {"Digits": "1"}))
        assert [child.tag for child in root] == ["Say", "Hangup"]
        assert "申し訳ございません" in says(root)[0]
        assert_japanese_voice(root, "Polly.Mizuki")
    assert key_presses(session) == []


def test_a_campaign_gone_from_the_configuration_gets_an_apology(
    twilio: TwilioWebhooks, session: Session
) -> None:
    entry = make_entry(session, campaign_id="gone", state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry)
    session.commit()
    root = twiml(twilio.post(voice_path(attempt.id), {}))
    assert [child.tag for child in root] == ["Say", "Hangup"]


# --- the menu -----------------------------------------------------------------------------------


def test_agent_says_the_items_text_and_puts_the_caller_in_the_hold_queue(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    root = press(twilio, attempt, "1")
    assert [child.tag for child in root] == ["Say", "Enqueue"]
    assert says(root) == ["担当者におつなぎします。"]
    assert_japanese_voice(root)
    enqueue = root.find("Enqueue")
    assert enqueue is not None
    assert enqueue.text == F2
    assert enqueue.get("waitUrl") == f"{PUBLIC_BASE_URL}/twilio/hold/{attempt.id}"
    assert enqueue.get("action") == f"{PUBLIC_BASE_URL}/twilio/queue/{attempt.id}"
    assert key_presses(session) == [("menu", "1", "agent")]
    # Waiting for an operator: the entry stays in progress, no callback is booked.
    entry = reloaded_entry(session, attempt)
    assert entry.state is EntryState.IN_PROGRESS
    assert entry.last_outcome != "callback"


@pytest.mark.parametrize(
    ("band", "part"),
    [("1", PartOfDay.MORNING), ("2", PartOfDay.AFTERNOON), ("3", PartOfDay.EVENING)],
)
def test_callback_asks_for_a_band_and_schedules_in_open_time_within_it(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt, band: str, part: PartOfDay
) -> None:
    asked = press(twilio, attempt, "2")
    gather = asked.find("Gather")
    assert gather is not None
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == f"{PUBLIC_BASE_URL}/twilio/gather/{attempt.id}?step=band"
    [question] = gather.findall("Say")
    assert "午前をご希望の方は1を" in (question.text or "")
    assert_japanese_voice(asked)

    before = datetime.now(UTC)
    confirmed = press(twilio, attempt, band, "?step=band")
    assert [child.tag for child in confirmed] == ["Say", "Hangup"]
    assert_japanese_voice(confirmed)

    entry = reloaded_entry(session, attempt)
    at = entry.next_attempt_at
    assert at is not None and at >= before + CALLBACK_MIN_DELAY
    assert (entry.state, entry.last_outcome) == (EntryState.PENDING, "callback")
    rules = calling_rules(IVR_CONFIG, F2)
    assert is_callable(rules, at)
    assert part_of_day(at, rules.timezone) is part
    local = at.astimezone(rules.timezone)
    weekday = "月火水木金土日"[local.weekday()]
    assert f"{local.month}月{local.day}日({weekday}) {part.label_ja}" in says(confirmed)[0]
    assert key_presses(session) == [("menu", "2", "callback"), ("callback_band", band, part.value)]


def test_an_unknown_band_is_asked_once_more_then_the_call_ends(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    again = press(twilio, attempt, "7", "?step=band")
    gather = again.find("Gather")
    assert gather is not None
    assert gather.get("action") == (
        f"{PUBLIC_BASE_URL}/twilio/gather/{attempt.id}?step=band&unknown=1"
    )
    last = press(twilio, attempt, "7", "?step=band&unknown=1")
    assert [child.tag for child in last] == ["Say", "Hangup"]
    assert reloaded_entry(session, attempt).state is EntryState.IN_PROGRESS


def test_repeat_redirects_to_the_greeting(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    root = press(twilio, attempt, "3")
    assert [child.tag for child in root] == ["Redirect"]
    assert root[0].text == f"{PUBLIC_BASE_URL}/twilio/voice/{attempt.id}"
    assert key_presses(session) == [("menu", "3", "repeat")]


def test_hangup_says_goodbye(twilio: TwilioWebhooks, session: Session, attempt: Attempt) -> None:
    root = press(twilio, attempt, "8")
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert says(root) == ["お電話ありがとうございました。失礼いたします。"]
    assert_japanese_voice(root)


def test_an_unknown_key_is_answered_and_the_menu_repeated_once(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    first = press(twilio, attempt, "5")
    assert [child.tag for child in first] == ["Say", "Gather", "Say", "Hangup"]
    assert "その番号はお使いいただけません" in says(first)[0]
    gather = first.find("Gather")
    assert gather is not None
    assert gather.get("action") == f"{PUBLIC_BASE_URL}/twilio/gather/{attempt.id}?unknown=1"
    assert_japanese_voice(first)

    second = press(twilio, attempt, "5", "?unknown=1")
    assert [child.tag for child in second] == ["Say", "Hangup"]
    assert "お電話を終了いたします" in says(second)[0]
    assert key_presses(session) == [("menu", "5", "unknown"), ("menu", "5", "unknown")]


# --- opt-out ------------------------------------------------------------------------------------


def test_opt_out_adds_to_dnc_closes_the_entry_and_later_lists_suppress_the_customer(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    before = datetime.now(UTC)
    root = press(twilio, attempt, "9")
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert says(root) == ["承知いたしました。今後のお電話は控えさせていただきます。"]
    assert_japanese_voice(root)

    [dnc] = dnc_rows(session)
    assert (dnc.customer_id, dnc.phone, dnc.source, dnc.reason) == (
        attempt.customer_id,
        attempt.phone,
        DncSource.IVR,
        DNC_REASON,
    )
    assert dnc.added_at >= before
    entry = reloaded_entry(session, attempt)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, OPTED_OUT)
    assert key_presses(session) == [("menu", "9", "opt_out")]

    customer_id = attempt.customer_id
    result = build_list(
        session,
        IVR_CONFIG,
        OTHER,
        now=datetime.now(UTC),
        members=lambda _config, _campaign, _now: sa.select(sa.literal(customer_id), sa.literal(1)),
    )
    assert result.suppressed[SuppressionReason.DNC] == 1
    session.commit()
    listed = session.scalars(
        sa.select(CallListEntry).where(
            CallListEntry.campaign_id == OTHER, CallListEntry.customer_id == customer_id
        )
    ).one()
    assert listed.state is EntryState.SUPPRESSED
    assert listed.suppressed_reason in {SuppressionReason.DNC, SuppressionReason.REFUSED}
    session.commit()


def test_a_duplicate_opt_out_adds_no_second_dnc_row(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    press(twilio, attempt, "9")
    again = press(twilio, attempt, "9")
    assert [child.tag for child in again] == ["Say", "Hangup"]
    assert len(dnc_rows(session)) == 1
    entry = reloaded_entry(session, attempt)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, OPTED_OUT)


def test_a_callback_never_reopens_an_opted_out_entry(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    press(twilio, attempt, "9")
    press(twilio, attempt, "1", "?step=band")
    entry = reloaded_entry(session, attempt)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, OPTED_OUT)


# --- signatures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", [None, "forged"], ids=["missing", "forged"])
@pytest.mark.parametrize("path", ["voice", "gather", "band"])
def test_a_forged_signature_is_refused_and_nothing_changes(
    twilio: TwilioWebhooks,
    session: Session,
    attempt: Attempt,
    path: str,
    signature: str | None,
) -> None:
    url = {
        "voice": voice_path(attempt.id),
        "gather": gather_path(attempt.id),
        "band": gather_path(attempt.id, "?step=band"),
    }[path]
    for digits in ("9", "1", "2"):
        response = twilio.post(url, {"Digits": digits}, signature=signature, signed=False)
        assert response.status_code == 403
    assert key_presses(session) == []
    assert dnc_rows(session) == []
    assert reloaded_entry(session, attempt).state is EntryState.IN_PROGRESS


def test_a_signature_for_another_attempt_is_refused(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    signature = twilio.signature(gather_path(attempt.id + 1), {"Digits": "9"})
    response = twilio.post(gather_path(attempt.id), {"Digits": "9"}, signature=signature)
    assert response.status_code == 403
    assert dnc_rows(session) == []
