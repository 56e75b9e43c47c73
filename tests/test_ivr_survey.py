"""The agentless survey (満足度調査) and the other call paths of issue 5 that end the IVR:
the survey asked after the greeting or by a menu key, `no_input.then: agent`, and the message
left on an answering machine after the beep. The TwiML is parsed, never compared as text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.campaigns import parse_config
from dialer.ivr import GATHER_TIMEOUT_SECONDS, SAY_SURVEY_NO_INPUT, SAY_TO_AGENT
from dialer.models import Attempt, CallListEntry, DncEntry, EntryState, KeyPress
from dialer.outcome_codes import ClosedReason
from tests.conftest import PUBLIC_BASE_URL, TwilioWebhooks
from tests.factories import callback_params, make_attempt, make_customer, make_entry
from tests.twiml import assert_japanese_voice, says, twiml

#: `satisfaction` asks its question right after the greeting; `survey-key` asks it on key 1;
#: `cancel-save` sends silence to the hold queue; `thanks` leaves a message on machines.
SURVEY_CAMPAIGNS_YAML = """\
company:
  name: 株式会社みどり通販
  caller_id: "+81312345678"
  timezone: Asia/Tokyo
policy:
  hours: "09:00-20:00"
  holidays: JP
operators:
  - {id: sato, name: 佐藤, phone: "+81311112222", queues: [cancel-save]}
campaigns:
  - id: satisfaction
    name: 定期便 満足度調査
    purpose: 定期お届け便のご満足度のお伺い
    kind: service
    segment: {orders_count: {gte: 3}}
    windows: {mon-sat: ["10:00-18:00"]}
    pacing: {mode: agentless}
    ivr:
      voice: Polly.Takumi
      greeting: "{customer_name}様、{company}でございます。{purpose}のお電話です。"
      menu:
        "9": {action: opt_out, say: 承知いたしました。今後のお電話は控えさせていただきます。}
      no_input: {repeat: 1, then: hangup}
      survey:
        question: "{campaign}の満足度を、1から5の番号でお答えください。\\
          今後のご案内が不要な場合は9を押してください。"
        scale: [1, 5]
        thanks: ご回答ありがとうございました。{company}でございました。
  - id: survey-key
    name: お届け後アンケート
    purpose: お届けした商品のご感想のお伺い
    kind: service
    segment: {orders_count: {gte: 1}}
    windows: {mon-sat: ["10:00-18:00"]}
    pacing: {mode: agentless}
    ivr:
      voice: Polly.Takumi
      greeting: "{company}でございます。アンケートにお答えいただける場合は1を押してください。"
      menu:
        "1": {action: survey, say: ありがとうございます。}
        "9": {action: opt_out}
      survey:
        question: 0から9の番号で、おすすめ度をお答えください。
        scale: [0, 9]
  - id: cancel-save
    name: 定期便 解約防止
    purpose: 定期お届け便のお手続きについて
    kind: service
    segment: {subscription_status: cancel_requested}
    windows: {mon-sat: ["10:00-18:00"]}
    ivr:
      voice: Polly.Takumi
      greeting: "{company}でございます。担当者とお話しいただける場合は1を押してください。"
      menu:
        "1": {action: agent}
        "9": {action: opt_out}
      no_input: {repeat: 0, then: agent}
  - id: thanks
    name: 優良顧客 御礼
    purpose: 日頃のご愛顧への御礼
    kind: service
    segment: {orders_count: {gte: 5}}
    windows: {mon-sat: ["10:00-18:00"]}
    pacing: {mode: agentless}
    retry: {max_attempts: 2, machine: 1d}
    ivr:
      voice: Polly.Takumi
      greeting: "{company}でございます。{purpose}のお電話です。"
      menu:
        "9": {action: opt_out}
      machine: {say: "{customer_name}様、{company}でございます。{purpose}のお電話でした。"}
"""
CONFIG = parse_config(SURVEY_CAMPAIGNS_YAML.encode(), "campaigns.yaml")
KANA = "ヤマダ タロウ"
QUESTION = (
    "定期便 満足度調査の満足度を、1から5の番号でお答えください。"
    "今後のご案内が不要な場合は9を押してください。"
)


@pytest.fixture
def campaigns_path(tmp_path: Path) -> Path:
    path = tmp_path / "campaigns.yaml"
    path.write_text(SURVEY_CAMPAIGNS_YAML, encoding="utf-8")
    return path


def answered(session: Session, campaign_id: str) -> Attempt:
    """A call of `campaign_id` answered by a person: its entry is in progress."""
    customer = make_customer(session, name="山田 太郎", name_kana=KANA)
    entry = make_entry(session, customer, campaign_id=campaign_id, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry)
    session.commit()
    return attempt


def voice(twilio: TwilioWebhooks, attempt: Attempt, query: str = "", **fields: str) -> ET.Element:
    return twiml(twilio.post(f"/twilio/voice/{attempt.id}{query}", fields))


def press(twilio: TwilioWebhooks, attempt: Attempt, digits: str, query: str = "") -> ET.Element:
    return twiml(twilio.post(f"/twilio/gather/{attempt.id}{query}", {"Digits": digits}))


def gather_url(attempt: Attempt, query: str = "") -> str:
    return f"{PUBLIC_BASE_URL}/twilio/gather/{attempt.id}{query}"


def key_presses(session: Session) -> list[tuple[str, str, str | None]]:
    session.commit()
    rows = session.execute(
        sa.select(KeyPress.step, KeyPress.digits, KeyPress.action).order_by(KeyPress.id)
    )
    result = [(step, digits, action) for step, digits, action in rows]
    session.commit()
    return result


def reloaded(session: Session, attempt: Attempt) -> tuple[CallListEntry, Attempt]:
    session.commit()
    entry = session.get_one(CallListEntry, attempt.entry_id)
    session.refresh(entry)
    fresh = session.get_one(Attempt, attempt.id)
    session.refresh(fresh)
    session.commit()
    return entry, fresh


def tags(root: ET.Element) -> list[str]:
    return [child.tag for child in root]


# --- the survey asked by the greeting ----------------------------------------------------------


def test_the_greeting_asks_the_survey_question_in_one_gather(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, "satisfaction")
    root = voice(twilio, attempt)
    assert tags(root) == ["Gather", "Redirect"]
    gather = root[0]
    assert (gather.get("input"), gather.get("numDigits"), gather.get("timeout")) == (
        "dtmf",
        "1",
        str(GATHER_TIMEOUT_SECONDS),
    )
    assert gather.get("action") == gather_url(attempt, "?step=survey")
    assert says(gather) == [
        f"{KANA}様、株式会社みどり通販でございます。定期お届け便のご満足度のお伺いのお電話です。",
        QUESTION,
    ]
    assert root[1].text == f"{PUBLIC_BASE_URL}/twilio/voice/{attempt.id}?repeat=1"
    assert_japanese_voice(root)


def test_a_valid_answer_is_stored_thanked_and_closes_the_entry_as_reached(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, "satisfaction")
    root = press(twilio, attempt, "4", "?step=survey")
    assert tags(root) == ["Say", "Hangup"]
    assert says(root) == ["ご回答ありがとうございました。株式会社みどり通販でございました。"]
    assert_japanese_voice(root)
    assert key_presses(session) == [("survey", "4", None)]
    entry, _ = reloaded(session, attempt)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, ClosedReason.REACHED)


def test_a_repeated_answer_request_stores_one_answer(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, "satisfaction")
    press(twilio, attempt, "5", "?step=survey")
    again = press(twilio, attempt, "5", "?step=survey")
    assert tags(again) == ["Say", "Hangup"]
    assert key_presses(session) == [("survey", "5", None)]


def test_an_invalid_key_is_answered_with_the_scale_then_a_valid_one_counts(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, "satisfaction")
    first = press(twilio, attempt, "7", "?step=survey")
    assert tags(first) == ["Gather", "Say", "Hangup"]
    gather = first[0]
    assert gather.get("action") == gather_url(attempt, "?step=survey&unknown=1")
    assert gather.get("numDigits") == "1"
    assert says(gather) == ["申し訳ございません。1から5までの番号でお答えください。", QUESTION]
    assert says(first)[-1] == SAY_SURVEY_NO_INPUT
    assert_japanese_voice(first)

    second = press(twilio, attempt, "2", "?step=survey&unknown=1")
    assert tags(second) == ["Say", "Hangup"]
    assert "ご回答ありがとうございました" in says(second)[0]
    assert key_presses(session) == [("survey", "7", "unknown"), ("survey", "2", None)]
    entry, _ = reloaded(session, attempt)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, ClosedReason.REACHED)


def test_two_invalid_keys_end_the_call_politely_without_an_answer(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, "satisfaction")
    press(twilio, attempt, "0", "?step=survey")
    last = press(twilio, attempt, "*", "?step=survey&unknown=1")
    assert tags(last) == ["Say", "Hangup"]
    assert "お電話を終了いたします" in says(last)[0]
    assert_japanese_voice(last)
    assert key_presses(session) == [("survey", "0", "unknown"), ("survey", "*", "unknown")]
    # No answer: the end of the call settles the entry, as for any call a person took.
    entry, _ = reloaded(session, attempt)
    assert entry.state is EntryState.IN_PROGRESS


def test_silence_repeats_the_question_then_ends_politely(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, "satisfaction")
    last = voice(twilio, attempt, "?repeat=1")
    assert tags(last) == ["Gather", "Say", "Hangup"]
    assert says(last[0])[-1] == QUESTION
    assert "ご入力が確認できませんでした" in says(last)[-1]
    assert_japanese_voice(last)
    assert key_presses(session) == []


def test_the_opt_out_key_still_works_while_the_question_is_asked(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, "satisfaction")
    root = press(twilio, attempt, "9", "?step=survey")
    assert says(root) == ["承知いたしました。今後のお電話は控えさせていただきます。"]
    assert key_presses(session) == [("menu", "9", "opt_out")]
    entry, _ = reloaded(session, attempt)
    assert (entry.state, entry.closed_reason) == (EntryState.DONE, ClosedReason.OPTED_OUT)
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(DncEntry)) == 1
    session.commit()


# --- the survey asked by a menu key ------------------------------------------------------------


def test_the_survey_key_asks_the_question_in_a_gather(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, "survey-key")
    greeting = voice(twilio, attempt)
    assert greeting[0].get("action") == gather_url(attempt)

    root = press(twilio, attempt, "1")
    assert tags(root) == ["Say", "Gather", "Say", "Hangup"]
    assert says(root)[0] == "ありがとうございます。"
    gather = root[1]
    assert gather.get("action") == gather_url(attempt, "?step=survey")
    assert gather.get("numDigits") == "1"
    assert says(gather) == ["0から9の番号で、おすすめ度をお答えください。"]
    assert says(root)[-1] == SAY_SURVEY_NO_INPUT
    assert_japanese_voice(root)

    thanked = press(twilio, attempt, "0", "?step=survey")
    assert "ご回答いただき" in says(thanked)[0]
    assert key_presses(session) == [("menu", "1", "survey"), ("survey", "0", None)]


def test_a_menu_key_is_not_an_answer_when_a_key_asked_the_question(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, "survey-key")
    root = press(twilio, attempt, "#", "?step=survey")
    assert tags(root) == ["Gather", "Say", "Hangup"]
    assert says(root[0])[0] == "申し訳ございません。0から9までの番号でお答えください。"
    assert key_presses(session) == [("survey", "#", "unknown")]


# --- no_input.then: agent ------------------------------------------------------------------------


def test_silence_then_agent_goes_to_the_hold_queue_like_the_agent_key(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, "cancel-save")
    greeting = voice(twilio, attempt)
    assert tags(greeting) == ["Gather", "Redirect"]
    assert greeting[1].text == gather_url(attempt, "?step=no_input")
    assert greeting[1].get("method") == "POST"

    queued = twiml(twilio.post(f"/twilio/gather/{attempt.id}?step=no_input", {}))
    assert tags(queued) == ["Say", "Enqueue"]
    assert says(queued) == [SAY_TO_AGENT]
    assert_japanese_voice(queued)
    enqueue = queued[1]
    assert enqueue.text == "cancel-save"
    assert enqueue.get("waitUrl") == f"{PUBLIC_BASE_URL}/twilio/hold/{attempt.id}"
    assert enqueue.get("action") == f"{PUBLIC_BASE_URL}/twilio/queue/{attempt.id}"

    by_key = press(twilio, answered(session, "cancel-save"), "1").find("Enqueue")
    assert by_key is not None
    assert (by_key.text, sorted(by_key.attrib)) == (enqueue.text, sorted(enqueue.attrib))
    # The wait is marked as an agent key would mark it (pacing counts the queue by it).
    assert key_presses(session) == [("no_input", "", "agent"), ("menu", "1", "agent")]
    entry, _ = reloaded(session, attempt)
    assert entry.state is EntryState.IN_PROGRESS


def test_silence_without_then_agent_is_not_enqueued_by_a_stray_request(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, "satisfaction")
    root = twiml(twilio.post(f"/twilio/gather/{attempt.id}?step=no_input", {}))
    assert tags(root) == ["Say", "Hangup"]
    assert key_presses(session) == []


# --- a message on the answering machine --------------------------------------------------------


def test_a_machine_verdict_in_the_voice_request_gets_the_message_and_ends_as_machine(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, "thanks")
    root = voice(twilio, attempt, AnsweredBy="machine_end_beep", CallSid=attempt.call_sid or "")
    assert tags(root) == ["Say", "Hangup"]
    assert says(root) == [
        f"{KANA}様、株式会社みどり通販でございます。日頃のご愛顧への御礼のお電話でした。"
    ]
    assert_japanese_voice(root)
    _, fresh = reloaded(session, attempt)
    assert fresh.answered_by == "machine_end_beep"

    ended = callback_params(attempt, "completed", CallDuration="25")
    assert twilio.post(f"/twilio/status?attempt={attempt.id}", ended).status_code == 204
    entry, fresh = reloaded(session, attempt)
    assert fresh.outcome == "machine"
    assert entry.state is EntryState.PENDING  # retried after `retry.machine`


def test_a_human_verdict_gets_the_greeting(twilio: TwilioWebhooks, session: Session) -> None:
    attempt = answered(session, "thanks")
    root = voice(twilio, attempt, AnsweredBy="human")
    assert tags(root)[0] == "Gather"
    _, fresh = reloaded(session, attempt)
    assert fresh.answered_by == "human"


def test_a_fax_is_hung_up_on_without_the_message(twilio: TwilioWebhooks, session: Session) -> None:
    attempt = answered(session, "thanks")
    assert tags(voice(twilio, attempt, AnsweredBy="fax")) == ["Hangup"]


def test_a_later_unknown_verdict_does_not_replace_a_machine(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, "thanks")
    voice(twilio, attempt, AnsweredBy="machine_end_silence")
    root = voice(twilio, attempt, AnsweredBy="unknown")
    assert tags(root) == ["Say", "Hangup"]
    _, fresh = reloaded(session, attempt)
    assert fresh.answered_by == "machine_end_silence"


# --- signatures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", [None, "forged"], ids=["missing", "forged"])
@pytest.mark.parametrize(
    ("campaign_id", "path", "fields"),
    [
        ("satisfaction", "gather/{id}?step=survey", {"Digits": "3"}),
        ("satisfaction", "gather/{id}?step=survey&unknown=1", {"Digits": "9"}),
        ("cancel-save", "gather/{id}?step=no_input", {}),
        ("thanks", "voice/{id}", {"AnsweredBy": "machine_end_beep"}),
    ],
    ids=["survey", "survey-again", "no-input-agent", "machine-verdict"],
)
def test_a_forged_signature_is_refused_and_nothing_changes(
    twilio: TwilioWebhooks,
    session: Session,
    campaign_id: str,
    path: str,
    fields: dict[str, str],
    signature: str | None,
) -> None:
    attempt = answered(session, campaign_id)
    url = "/twilio/" + path.format(id=attempt.id)
    response = twilio.post(url, fields, signature=signature, signed=False)
    assert response.status_code == 403
    assert key_presses(session) == []
    entry, fresh = reloaded(session, attempt)
    assert (entry.state, fresh.answered_by) == (EntryState.IN_PROGRESS, None)
    session.commit()
    assert session.scalar(sa.select(sa.func.count()).select_from(DncEntry)) == 0
    session.commit()


def test_the_sample_config_parses() -> None:
    survey = CONFIG.campaign("satisfaction").ivr.survey
    assert survey is not None
    assert (survey.scale, survey.keys) == ((1, 5), ["1", "2", "3", "4", "5"])
