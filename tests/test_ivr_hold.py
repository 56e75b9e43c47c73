"""The hold queue's webhooks: the agent key's `<Enqueue>`, /twilio/hold/<attempt> (the
`waitUrl`: announcement, position, music, `<Leave>` after `max_queue_wait`) and
/twilio/queue/<attempt> (the Enqueue action: QueueResult and queue time recorded, then what
comes next). The TwiML is parsed here, not compared as text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.calendar import is_callable
from dialer.campaigns import calling_rules, parse_config
from dialer.ivr import CALLBACK_MIN_DELAY, HOLD_PAUSE_SECONDS, SAY_HOLD
from dialer.models import Attempt, CallListEntry, EntryState, KeyPress
from tests.conftest import PUBLIC_BASE_URL, TwilioWebhooks
from tests.factories import IVR_CAMPAIGNS_YAML, make_attempt, make_customer, make_entry
from tests.twiml import assert_japanese_voice, says, twiml

F2 = "f2-followup"
OTHER = "repeat"
MUSIC = "https://cdn.example.jp/hold/music.mp3"
ANNOUNCEMENT = "ただいま担当者におつなぎしております。そのままお待ちください。"
MAX_QUEUE_WAIT_SECONDS = 120

_F2_MACHINE = "      machine: {say: 株式会社みどり通販でございます。また改めてお電話いたします。}\n"
_OTHER_MACHINE = "      machine: hangup\n"
assert IVR_CAMPAIGNS_YAML.count(_F2_MACHINE) == 1
assert IVR_CAMPAIGNS_YAML.count(_OTHER_MACHINE) == 1
HOLD_CAMPAIGNS_YAML = IVR_CAMPAIGNS_YAML.replace(
    _F2_MACHINE,
    _F2_MACHINE
    + "      hold:\n"
    + f"        announcement: {ANNOUNCEMENT}\n"
    + "        announce_position: true\n"
    + f'        music: "{MUSIC}"\n'
    + "        on_timeout: callback\n"
    + "    pacing: {max_queue_wait: 2m}\n",
).replace(
    _OTHER_MACHINE,
    _OTHER_MACHINE + "      hold: {announce_position: false, on_timeout: hangup}\n",
)
HOLD_CONFIG = parse_config(HOLD_CAMPAIGNS_YAML.encode(), "campaigns.yaml")


@pytest.fixture
def campaigns_path(tmp_path: Path) -> Path:
    """The app reads a campaigns file whose IVR has a configured hold queue."""
    path = tmp_path / "campaigns.yaml"
    path.write_text(HOLD_CAMPAIGNS_YAML, encoding="utf-8")
    return path


def answered(session: Session, campaign_id: str = F2) -> Attempt:
    customer = make_customer(session, name="山田 太郎", name_kana="ヤマダ タロウ")
    entry = make_entry(session, customer, campaign_id=campaign_id, state=EntryState.IN_PROGRESS)
    attempt = make_attempt(session, entry)
    session.commit()
    return attempt


@pytest.fixture
def attempt(session: Session) -> Attempt:
    """A call answered by a person in the campaign with hold music and position announcements."""
    return answered(session)


def hold(twilio: TwilioWebhooks, attempt: Attempt, **fields: str) -> ET.Element:
    return twiml(twilio.post(f"/twilio/hold/{attempt.id}", fields))


def queue_action(twilio: TwilioWebhooks, attempt: Attempt, **fields: str) -> ET.Element:
    return twiml(twilio.post(f"/twilio/queue/{attempt.id}", fields))


def queue_row(session: Session, attempt: Attempt) -> tuple[str | None, int | None]:
    session.commit()
    row = session.execute(
        sa.select(Attempt.queue_result, Attempt.queue_time_seconds).where(Attempt.id == attempt.id)
    ).one()
    session.commit()
    return row.queue_result, row.queue_time_seconds


def reloaded_entry(session: Session, attempt: Attempt) -> CallListEntry:
    session.commit()
    entry = session.get_one(CallListEntry, attempt.entry_id)
    session.refresh(entry)
    session.commit()
    return entry


def waiting_fields(position: int, queue_time: int, average: int = 0) -> dict[str, str]:
    return {
        "QueuePosition": str(position),
        "QueueTime": str(queue_time),
        "AvgQueueTime": str(average),
        "CurrentQueueSize": str(position + 1),
        "QueueSid": "QU0123",
    }


# --- into the queue -----------------------------------------------------------------------------


def test_the_agent_key_enqueues_into_the_campaigns_queue_with_hold_and_action_urls(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    root = twiml(twilio.post(f"/twilio/gather/{attempt.id}", {"Digits": "1"}))
    assert [child.tag for child in root] == ["Say", "Enqueue"]
    assert says(root) == ["担当者におつなぎします。"]
    assert_japanese_voice(root)
    enqueue = root.find("Enqueue")
    assert enqueue is not None
    assert (enqueue.text or "").strip() == F2
    assert enqueue.get("waitUrl") == f"{PUBLIC_BASE_URL}/twilio/hold/{attempt.id}"
    assert enqueue.get("waitUrlMethod") == "POST"
    assert enqueue.get("action") == f"{PUBLIC_BASE_URL}/twilio/queue/{attempt.id}"
    assert enqueue.get("method") == "POST"
    session.commit()
    actions = list(session.scalars(sa.select(KeyPress.action)))
    assert actions == ["agent"]
    assert queue_row(session, attempt) == (None, None)


def test_an_agent_key_without_text_only_enqueues(twilio: TwilioWebhooks, session: Session) -> None:
    attempt = answered(session, OTHER)
    root = twiml(twilio.post(f"/twilio/gather/{attempt.id}", {"Digits": "1"}))
    assert [child.tag for child in root] == ["Enqueue"]
    assert (root[0].text or "").strip() == OTHER


# --- on hold ------------------------------------------------------------------------------------


def test_hold_says_the_announcement_the_position_and_the_wait_then_plays_the_music(
    twilio: TwilioWebhooks, attempt: Attempt
) -> None:
    root = hold(twilio, attempt, **waiting_fields(3, 20, average=140))
    assert [child.tag for child in root] == ["Say", "Say", "Play"]
    announcement, position = says(root)
    assert announcement == ANNOUNCEMENT
    assert "現在3番目にお待ちいただいております" in position
    # 140 s on average, 20 s already waited: about 2 minutes to go.
    assert "およそ2分" in position
    assert_japanese_voice(root)
    play = root.find("Play")
    assert play is not None
    assert play.text == MUSIC


def test_hold_leaves_out_the_expected_wait_when_the_average_is_unknown(
    twilio: TwilioWebhooks, attempt: Attempt
) -> None:
    root = hold(twilio, attempt, QueuePosition="1", QueueTime="0")
    assert [child.tag for child in root] == ["Say", "Say", "Play"]
    position = says(root)[1]
    assert "現在1番目にお待ちいただいております" in position
    assert "分" not in position


def test_hold_without_position_or_music_says_the_default_and_pauses(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, OTHER)
    root = hold(twilio, attempt, **waiting_fields(2, 10, average=60))
    assert [child.tag for child in root] == ["Say", "Pause"]
    assert says(root) == [SAY_HOLD]
    assert_japanese_voice(root, "Polly.Mizuki")
    pause = root.find("Pause")
    assert pause is not None
    assert pause.get("length") == str(HOLD_PAUSE_SECONDS)


@pytest.mark.parametrize("queue_time", [MAX_QUEUE_WAIT_SECONDS, MAX_QUEUE_WAIT_SECONDS + 7])
def test_hold_leaves_the_queue_once_the_wait_runs_out(
    twilio: TwilioWebhooks, attempt: Attempt, queue_time: int
) -> None:
    root = hold(twilio, attempt, **waiting_fields(1, queue_time, average=60))
    assert [child.tag for child in root] == ["Leave"]


def test_hold_goes_on_just_before_the_wait_runs_out(
    twilio: TwilioWebhooks, attempt: Attempt
) -> None:
    root = hold(twilio, attempt, **waiting_fields(1, MAX_QUEUE_WAIT_SECONDS - 1))
    assert root.find("Leave") is None
    assert root.find("Play") is not None


def test_hold_for_an_unknown_attempt_apologises(twilio: TwilioWebhooks, session: Session) -> None:
    root = twiml(twilio.post("/twilio/hold/999999", waiting_fields(1, 5)))
    assert [child.tag for child in root] == ["Say", "Hangup"]


# --- out of the queue ---------------------------------------------------------------------------


@pytest.mark.parametrize("result", ["bridged", "hangup"])
def test_the_queue_action_records_the_result_and_the_time(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt, result: str
) -> None:
    root = queue_action(twilio, attempt, QueueResult=result, QueueTime="42", QueueSid="QU0123")
    assert list(root) == []
    assert queue_row(session, attempt) == (result, 42)
    # Nothing is decided for the entry here: the end of the call does that.
    assert reloaded_entry(session, attempt).state is EntryState.IN_PROGRESS


def test_a_duplicate_queue_action_keeps_the_first_result(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    queue_action(twilio, attempt, QueueResult="hangup", QueueTime="35")
    queue_action(twilio, attempt, QueueResult="hangup", QueueTime="35")
    assert queue_row(session, attempt) == ("hangup", 35)
    queue_action(twilio, attempt, QueueResult="bridged", QueueTime="50")
    assert queue_row(session, attempt) == ("hangup", 35)


def test_leaving_after_the_wait_offers_the_callback_band_gather(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt
) -> None:
    root = queue_action(twilio, attempt, QueueResult="leave", QueueTime=str(MAX_QUEUE_WAIT_SECONDS))
    assert [child.tag for child in root] == ["Say", "Gather", "Say", "Hangup"]
    assert "申し訳ございません" in says(root)[0]
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("numDigits") == "1"
    assert gather.get("action") == f"{PUBLIC_BASE_URL}/twilio/gather/{attempt.id}?step=band"
    [question] = gather.findall("Say")
    assert "午前をご希望の方は1を" in (question.text or "")
    assert_japanese_voice(root)
    assert queue_row(session, attempt) == ("leave", MAX_QUEUE_WAIT_SECONDS)

    before = datetime.now(UTC)
    confirmed = twiml(twilio.post(f"/twilio/gather/{attempt.id}?step=band", {"Digits": "2"}))
    assert [child.tag for child in confirmed] == ["Say", "Hangup"]
    entry = reloaded_entry(session, attempt)
    assert (entry.state, entry.last_outcome) == (EntryState.PENDING, "callback")
    assert entry.next_attempt_at is not None
    assert entry.next_attempt_at >= before + CALLBACK_MIN_DELAY


def test_leaving_after_the_wait_hangs_up_when_the_campaign_says_so(
    twilio: TwilioWebhooks, session: Session
) -> None:
    attempt = answered(session, OTHER)
    root = queue_action(twilio, attempt, QueueResult="leave", QueueTime="90")
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert "申し訳ございません" in says(root)[0]
    assert_japanese_voice(root, "Polly.Mizuki")
    assert queue_row(session, attempt) == ("leave", 90)
    assert reloaded_entry(session, attempt).state is EntryState.IN_PROGRESS


@pytest.mark.parametrize("result", ["queue-full", "error", "system-error"])
def test_a_full_queue_or_an_error_books_a_callback_and_hangs_up(
    twilio: TwilioWebhooks, session: Session, attempt: Attempt, result: str
) -> None:
    before = datetime.now(UTC)
    root = queue_action(twilio, attempt, QueueResult=result, QueueTime="0")
    assert [child.tag for child in root] == ["Say", "Hangup"]
    assert "折り返しお電話いたします" in says(root)[0]
    assert_japanese_voice(root)
    assert queue_row(session, attempt) == (result, 0)
    entry = reloaded_entry(session, attempt)
    assert (entry.state, entry.last_outcome) == (EntryState.PENDING, "callback")
    at = entry.next_attempt_at
    assert at is not None and at >= before + CALLBACK_MIN_DELAY
    assert is_callable(calling_rules(HOLD_CONFIG, F2), at)


# --- signatures ---------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", [None, "forged"], ids=["missing", "forged"])
@pytest.mark.parametrize("path", ["hold", "queue"])
def test_a_forged_signature_on_the_hold_routes_is_refused_and_nothing_is_recorded(
    twilio: TwilioWebhooks,
    session: Session,
    attempt: Attempt,
    path: str,
    signature: str | None,
) -> None:
    url = f"/twilio/{path}/{attempt.id}"
    for result in ("hangup", "queue-full", "leave"):
        fields = {"QueueResult": result, "QueueTime": "30", **waiting_fields(1, 30)}
        response = twilio.post(url, fields, signature=signature, signed=False)
        assert response.status_code == 403
    assert queue_row(session, attempt) == (None, None)
    assert reloaded_entry(session, attempt).state is EntryState.IN_PROGRESS
