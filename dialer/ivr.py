"""The IVR's greeting and key menu: TwiML for what the customer hears, and what each key does.

Twilio asks `/twilio/voice/<attempt>` what to play when the customer answers, and posts the key
pressed to `/twilio/gather/<attempt>`. The answers are built here with the SDK's
`VoiceResponse`; the web layer only looks up the call and hands it over.

- The greeting (campaign placeholders filled) is said inside a one-key `<Gather>`. Without a
  key press it is repeated `no_input.repeat` times (a `?repeat=k` counter on the voice URL),
  then the call ends politely.
- When answering machine detection already said "machine", the campaign's `machine` action is
  played instead (hang up, or say the message and hang up). Detection runs in the background;
  once its verdict arrives the AMD webhook redirects the live call here (a campaign that
  leaves a message, after the beep) or hangs it up (`dialer.amd_followup`). An `AnsweredBy`
  on the voice request itself (synchronous detection) is recorded too. A fax is only hung up
  on.
- `callback` asks for a time band (1 = 午前, 2 = 午後, 3 = 夕方) and moves the entry to the next
  open instant in that band; `opt_out` puts the customer on the DNC list at once and closes the
  entry as `opted_out` (DESIGN.md invariant 5: refusal is final); `repeat` says the greeting
  again; `hangup` ends politely; an unknown key is answered once, with the menu again.
- `agent` puts the caller in the campaign's hold queue (`<Enqueue>` named after the campaign).
  While they wait, Twilio requests `/twilio/hold/<attempt>` (the `waitUrl`) again each time
  its document has played: the hold announcement, the caller's position and expected wait
  when `hold.announce_position` is on, then the music (or a short pause). Once the caller has
  waited `pacing.max_queue_wait`, the document is a `<Leave>`. The Enqueue `action`
  (`/twilio/queue/<attempt>`) records how the wait ended (`Attempt.queue_result`, first write
  wins) and, after a `leave`, offers the time band gather (`hold.on_timeout: callback`) or
  apologises and hangs up; a full queue or an error books a callback at the next open instant.
  `no_input.then: agent` enqueues the caller the same way after the last silence (through
  `/twilio/gather/<attempt>?step=no_input`, so that the queue is only joined once the
  customer has really pressed nothing, and a `KeyPress` with action `agent` marks the wait).
- `survey` asks the campaign's question (満足度調査) in a one-key `<Gather>`
  (`?step=survey`); a campaign with a survey but no survey key asks it right after the
  greeting, where the menu keys outside the scale still act. A key on the scale is stored
  once per attempt as a `KeyPress` (step `survey`, no action) and closes the entry as
  reached; any other key is answered once with the scale and the question again; silence
  ends politely. `dialer.survey` counts the answers.

A callback (asked for, or standing in for an operator) is placed at least `CALLBACK_MIN_DELAY`
after the key press, so that the dispatcher never dials a customer who is still on the line.

Every key press is recorded as a `KeyPress` on the attempt. Decisions taken during the call
move the entry out of `in_progress` (see `dialer.outcomes`), so the end of the call does not
overwrite them. Nothing here commits: the caller owns the transaction.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import VoiceResponse

from dialer.campaigns import Config, Ivr, calling_rules
from dialer.day_parts import PartOfDay, next_callable_in_parts
from dialer.errors import UnknownCampaignError
from dialer.log import log_event
from dialer.models import Attempt, DncEntry, DncSource, EntryState, KeyPress
from dialer.outcome_codes import ClosedReason
from dialer.outcomes import MACHINE_ANSWERS, locked_entry, move_entry, note_answered_by
from dialer.retries import Close, Reschedule
from dialer.wallclock import require_aware

logger = logging.getLogger(__name__)

#: Seconds the `<Gather>` waits for a key.
GATHER_TIMEOUT_SECONDS: Final = 6
#: How far ahead a callback is looked for.
CALLBACK_HORIZON: Final = timedelta(days=14)
#: The earliest a callback is placed after the call, so that the dispatcher never dials a
#: customer who is still on the line (or has only just hung up).
CALLBACK_MIN_DELAY: Final = timedelta(minutes=30)
#: The voice of the apology when the campaign (and so its voice) is unknown.
FALLBACK_VOICE: Final = "Polly.Mizuki"
LANGUAGE: Final = "ja-JP"

MENU_STEP: Final = "menu"
BAND_STEP: Final = "band"
#: The `?step=` of the survey answer, and the `KeyPress.step` it is stored with.
SURVEY_STEP: Final = "survey"
#: The `?step=` reached after the last silence when `no_input.then` is `agent`, and the
#: `KeyPress.step` that records the caller joining the queue without a key.
NO_INPUT_STEP: Final = "no_input"
AGENT_ACTION: Final = "agent"
FAX: Final = "fax"
#: The longest AnsweredBy stored (the column's width).
ANSWERED_BY_LENGTH: Final = 32
#: `KeyPress.step` of the time band answer.
BAND_KEY_STEP: Final = "callback_band"
UNKNOWN_ACTION: Final = "unknown"
#: The entry's `last_outcome` when the customer asked to be called back.
CALLBACK_OUTCOME: Final = "callback"
#: The entry's `closed_reason` after an opt-out (read by `dialer.suppression` as a refusal).
OPTED_OUT: Final = ClosedReason.OPTED_OUT
DNC_REASON: Final = "IVR opt-out key"

#: Seconds of silence that stand in for hold music when the campaign has none, so that the
#: hold document is not requested again at once.
HOLD_PAUSE_SECONDS: Final = 10
#: The default `pacing.max_queue_wait`, for a `Call` built without a campaign.
DEFAULT_MAX_QUEUE_WAIT: Final = timedelta(seconds=90)
#: Twilio's QueueResult values: how a caller's wait in the hold queue ended.
QUEUE_BRIDGED: Final = "bridged"
QUEUE_HANGUP: Final = "hangup"
QUEUE_LEAVE: Final = "leave"
QUEUE_REDIRECTED: Final = "redirected"
#: The longest QueueResult stored (the column's width).
QUEUE_RESULT_LENGTH: Final = 32

BANDS: Final = {"1": PartOfDay.MORNING, "2": PartOfDay.AFTERNOON, "3": PartOfDay.EVENING}
_WEEKDAYS_JA: Final = "月火水木金土日"

SAY_UNAVAILABLE: Final = (
    "申し訳ございません。ただいまお電話をおつなぎできません。"
    "改めてご連絡いたします。失礼いたします。"
)
SAY_GOODBYE: Final = "お電話ありがとうございました。失礼いたします。"
SAY_NO_INPUT_GOODBYE: Final = (
    "ご入力が確認できませんでしたので、お電話を終了いたします。お電話ありがとうございました。"
)
SAY_UNKNOWN_KEY: Final = "申し訳ございません。その番号はお使いいただけません。"
SAY_UNKNOWN_AGAIN: Final = (
    "申し訳ございません。ご入力を確認できませんでしたので、お電話を終了いたします。失礼いたします。"
)
SAY_ASK_BAND: Final = (
    "ご都合のよい時間帯をお選びください。"
    "午前をご希望の方は1を、午後をご希望の方は2を、夕方をご希望の方は3を押してください。"
)
SAY_NO_CALLBACK_TIME: Final = (
    "申し訳ございません。ご希望の時間帯にお電話できる日がしばらくございません。"
    "改めてご連絡いたします。失礼いたします。"
)
SAY_OPERATOR_CALLS_BACK: Final = (
    "ただいまオペレーターにおつなぎできませんので、"
    "担当の者より折り返しお電話いたします。少々お待ちくださいませ。失礼いたします。"
)
SAY_HOLD: Final = (
    "ただいま担当者におつなぎしております。恐れ入りますが、このままお待ちくださいませ。"
)
SAY_QUEUE_TIMEOUT: Final = (
    "大変お待たせして申し訳ございません。ただいま担当者が大変混み合っております。"
)
SAY_QUEUE_TIMEOUT_GOODBYE: Final = (
    "大変お待たせして申し訳ございません。ただいま担当者が大変混み合っておりますので、"
    "改めてご連絡いたします。失礼いたします。"
)
SAY_TO_AGENT: Final = "担当者におつなぎいたします。少々お待ちくださいませ。"
SAY_SURVEY_NO_INPUT: Final = (
    "ご回答が確認できませんでしたので、お電話を終了いたします。お電話ありがとうございました。"
)
SAY_OPTED_OUT: Final = (
    "承知いたしました。今後、お電話でのご案内は控えさせていただきます。失礼いたします。"
)


@dataclass(frozen=True)
class Call:
    """One answered call as the IVR needs it; `base_url` is the app's public URL."""

    attempt_id: int
    base_url: str
    ivr: Ivr
    company: str
    campaign_name: str
    purpose: str
    customer_name: str
    campaign_id: str = ""
    max_queue_wait: timedelta = DEFAULT_MAX_QUEUE_WAIT

    def voice_url(self, **query: int | str) -> str:
        return _url(f"{self.base_url}/twilio/voice/{self.attempt_id}", query)

    def gather_url(self, **query: int | str) -> str:
        return _url(f"{self.base_url}/twilio/gather/{self.attempt_id}", query)

    def hold_url(self) -> str:
        return f"{self.base_url}/twilio/hold/{self.attempt_id}"

    def queue_url(self) -> str:
        return f"{self.base_url}/twilio/queue/{self.attempt_id}"

    def greeting(self) -> str:
        return self.fill(self.ivr.greeting)

    def fill(self, text: str) -> str:
        """A spoken text of the campaign with its placeholders filled for this call."""
        return fill_placeholders(
            text,
            company=self.company,
            purpose=self.purpose,
            customer_name=self.customer_name,
            campaign=self.campaign_name,
        )


def _url(path: str, query: dict[str, int | str]) -> str:
    if not query:
        return path
    return path + "?" + "&".join(f"{key}={value}" for key, value in query.items())


def fill_placeholders(
    template: str, *, company: str, purpose: str, customer_name: str, campaign: str
) -> str:
    """The template with `{company}`, `{purpose}`, `{customer_name}` and `{campaign}` filled;
    any other braces are left as they are. No honorific is added: the template says 様 if it
    wants it."""
    values = {
        "{company}": company,
        "{purpose}": purpose,
        "{customer_name}": customer_name,
        "{campaign}": campaign,
    }
    text = template
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return text


def call_for(session: Session, config: Config, attempt_id: int, base_url: str) -> Call | None:
    """The call of `attempt_id`; None when the attempt is unknown or its campaign is gone."""
    attempt = session.get(Attempt, attempt_id)
    if attempt is None:
        log_event(logger, "unknown_attempt", level=logging.WARNING, attempt_id=attempt_id)
        return None
    try:
        campaign = config.campaign(attempt.campaign_id)
    except UnknownCampaignError:
        log_event(
            logger,
            "unknown_campaign",
            level=logging.WARNING,
            attempt_id=attempt_id,
            campaign_id=attempt.campaign_id,
        )
        return None
    customer = attempt.entry.customer
    return Call(
        attempt_id=attempt.id,
        base_url=base_url.rstrip("/"),
        ivr=campaign.ivr,
        company=config.company.name,
        campaign_name=campaign.name,
        purpose=campaign.purpose,
        # The kana reading, when there is one, so that the voice reads the name right.
        customer_name=customer.name_kana or customer.name,
        campaign_id=campaign.id,
        max_queue_wait=campaign.pacing.max_queue_wait,
    )


# --- TwiML ---------------------------------------------------------------------------------


def _say(response: VoiceResponse, call: Call | None, text: str) -> None:
    voice = call.ivr.voice if call is not None else FALLBACK_VOICE
    response.say(text, voice=voice, language=LANGUAGE)


def _end(response: VoiceResponse, call: Call | None, text: str | None) -> str:
    if text:
        _say(response, call, text)
    response.hangup()
    return str(response)


def unavailable_twiml() -> str:
    """A short apology and hang up: the attempt or its campaign is unknown."""
    return _end(VoiceResponse(), None, SAY_UNAVAILABLE)


def _gather(response: VoiceResponse, call: Call, action: str, *texts: str) -> None:
    """A one-key `<Gather>` posting to `action`, saying `texts` while it listens."""
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        timeout=GATHER_TIMEOUT_SECONDS,
        action=action,
        method="POST",
    )
    for text in texts:
        gather.say(text, voice=call.ivr.voice, language=LANGUAGE)


def _menu_gather(response: VoiceResponse, call: Call, action: str) -> None:
    _gather(response, call, action, call.greeting())


def _band_gather(response: VoiceResponse, call: Call, **query: int | str) -> None:
    gather = response.gather(
        input="dtmf",
        num_digits=1,
        timeout=GATHER_TIMEOUT_SECONDS,
        action=call.gather_url(step=BAND_STEP, **query),
        method="POST",
    )
    gather.say(SAY_ASK_BAND, voice=call.ivr.voice, language=LANGUAGE)


def voice_answer(
    session: Session, call: Call, *, repeat: int = 0, answered_by: str | None = None
) -> str:
    """Record the AnsweredBy that came with the voice request (synchronous detection) and
    answer with the greeting or the machine action, by the attempt's verdict."""
    attempt = session.get_one(Attempt, call.attempt_id)
    if answered_by:
        note_verdict(session, attempt, answered_by)
    return greeting_twiml(call, repeat=repeat, answered_by=attempt.answered_by)


def note_verdict(session: Session, attempt: Attempt, answered_by: str) -> bool:
    """Store answering machine detection's verdict on the attempt by the rule of
    `note_answered_by` (the first definite verdict stays). The entry and the attempt are
    locked in the order the callbacks lock them, so that an AMD callback cannot interleave.
    True when the attempt changed."""
    locked_entry(session, attempt.entry_id)
    session.refresh(attempt, with_for_update=True)
    return note_answered_by(attempt, answered_by[:ANSWERED_BY_LENGTH])


def greeting_twiml(call: Call, *, repeat: int = 0, answered_by: str | None = None) -> str:
    """The greeting inside the menu's `<Gather>`, or the machine action after a machine verdict.

    `repeat` is how many times the greeting was already repeated for lack of a key press.
    """
    response = VoiceResponse()
    if answered_by in MACHINE_ANSWERS:
        machine = call.ivr.machine
        message = call.fill(machine.say) if machine.say and answered_by != FAX else None
        return _end(response, call, message)
    survey = call.ivr.survey
    if survey is not None and call.ivr.asks_survey_first:
        _gather(
            response,
            call,
            call.gather_url(step=SURVEY_STEP),
            call.greeting(),
            call.fill(survey.question),
        )
    else:
        _menu_gather(response, call, call.gather_url())
    # Reached only when the customer pressed nothing.
    if repeat < call.ivr.no_input.repeat:
        response.redirect(call.voice_url(repeat=repeat + 1), method="POST")
        return str(response)
    if call.ivr.no_input.then == "callback":
        _band_gather(response, call)
        return _end(response, call, SAY_NO_INPUT_GOODBYE)
    if call.ivr.no_input.then == "agent":
        response.redirect(call.gather_url(step=NO_INPUT_STEP), method="POST")
        return str(response)
    return _end(response, call, SAY_NO_INPUT_GOODBYE)


def no_input_answer(session: Session, call: Call, *, now: datetime) -> str:
    """After the last silence, with `no_input.then: agent`: the caller joins the hold queue
    exactly as after the agent key, recorded as a `KeyPress` without digits."""
    require_aware(now)
    response = VoiceResponse()
    if call.ivr.no_input.then != "agent":
        # The campaign changed during the call.
        return _end(response, call, SAY_NO_INPUT_GOODBYE)
    session.add(
        KeyPress(
            attempt_id=call.attempt_id,
            pressed_at=now,
            step=NO_INPUT_STEP,
            digits="",
            action=AGENT_ACTION,
        )
    )
    _say(response, call, SAY_TO_AGENT)
    _enqueue(response, call)
    return str(response)


# --- key presses -----------------------------------------------------------------------------


def menu_answer(
    session: Session,
    config: Config,
    call: Call,
    digits: str,
    *,
    unknown_count: int = 0,
    now: datetime,
) -> str:
    """Record the menu key `digits` and act on it; the TwiML to answer with."""
    require_aware(now)
    attempt = session.get_one(Attempt, call.attempt_id)
    item = call.ivr.menu.get(digits)
    action = item.action if item is not None else UNKNOWN_ACTION
    session.add(
        KeyPress(
            attempt_id=attempt.id, pressed_at=now, step=MENU_STEP, digits=digits[:16], action=action
        )
    )
    response = VoiceResponse()
    if item is None:
        if unknown_count >= 1:
            return _end(response, call, SAY_UNKNOWN_AGAIN)
        _say(response, call, SAY_UNKNOWN_KEY)
        _menu_gather(response, call, call.gather_url(unknown=unknown_count + 1))
        return _end(response, call, SAY_NO_INPUT_GOODBYE)
    if item.say:
        _say(response, call, call.fill(item.say))
    if item.action == "repeat":
        response.redirect(call.voice_url(), method="POST")
        return str(response)
    if item.action == "callback":
        _band_gather(response, call)
        return _end(response, call, SAY_NO_INPUT_GOODBYE)
    if item.action == "opt_out":
        opt_out(session, attempt, now=now)
        return _end(response, call, None if item.say else SAY_OPTED_OUT)
    if item.action == "agent":
        _enqueue(response, call)
        return str(response)
    if item.action == "survey" and call.ivr.survey is not None:
        _survey_gather(response, call)
        return _end(response, call, SAY_SURVEY_NO_INPUT)
    # `hangup` (and a survey key whose question left the configuration).
    return _end(response, call, None if item.say else SAY_GOODBYE)


def _enqueue(response: VoiceResponse, call: Call) -> None:
    """Put the caller in the campaign's hold queue; Twilio plays the hold URL meanwhile."""
    response.enqueue(
        name=call.campaign_id,
        action=call.queue_url(),
        method="POST",
        wait_url=call.hold_url(),
        wait_url_method="POST",
    )


# --- the survey (満足度調査) -------------------------------------------------------------------


def _survey_gather(response: VoiceResponse, call: Call, *texts: str, **query: int | str) -> None:
    """The survey question (after `texts`) in a one-key `<Gather>`."""
    assert call.ivr.survey is not None
    question = call.fill(call.ivr.survey.question)
    _gather(response, call, call.gather_url(step=SURVEY_STEP, **query), *texts, question)


def survey_answer(
    session: Session,
    config: Config,
    call: Call,
    digits: str,
    *,
    unknown_count: int = 0,
    now: datetime,
) -> str:
    """Record the survey answer `digits` and thank the customer; the TwiML to answer with.

    When the greeting asked the question itself, a menu key outside the scale acts as in the
    menu (an opt-out stays possible). An answer is stored once per attempt (Twilio may post the
    same request twice) and closes the entry as reached; another key is answered once with
    the scale and the question again.
    """
    require_aware(now)
    survey = call.ivr.survey
    response = VoiceResponse()
    if survey is None:
        # The campaign's survey left the configuration during the call.
        return _end(response, call, SAY_GOODBYE)
    if digits not in survey.keys and call.ivr.asks_survey_first and digits in call.ivr.menu:
        return menu_answer(session, config, call, digits, now=now)
    attempt = session.get_one(Attempt, call.attempt_id)
    if digits in survey.keys:
        record_survey_answer(session, attempt, digits, now=now)
        return _end(response, call, call.fill(survey.thanks))
    session.add(
        KeyPress(
            attempt_id=attempt.id,
            pressed_at=now,
            step=SURVEY_STEP,
            digits=digits[:16],
            action=UNKNOWN_ACTION,
        )
    )
    if unknown_count >= 1:
        return _end(response, call, SAY_UNKNOWN_AGAIN)
    low, high = survey.scale
    invalid = f"申し訳ございません。{low}から{high}までの番号でお答えください。"
    _survey_gather(response, call, invalid, unknown=unknown_count + 1)
    return _end(response, call, SAY_SURVEY_NO_INPUT)


def record_survey_answer(session: Session, attempt: Attempt, digits: str, *, now: datetime) -> bool:
    """Store the answer unless the attempt already has one, and close the entry as reached
    (the customer was reached and answered). False when an answer was already stored."""
    entry = locked_entry(session, attempt.entry_id)  # serialises duplicate requests
    answered = session.scalar(
        sa.select(KeyPress.id).where(
            KeyPress.attempt_id == attempt.id,
            KeyPress.step == SURVEY_STEP,
            KeyPress.action.is_(None),
        )
    )
    if answered is not None:
        log_event(logger, "survey_already_answered", attempt_id=attempt.id, digits=digits)
        return False
    session.add(KeyPress(attempt_id=attempt.id, pressed_at=now, step=SURVEY_STEP, digits=digits))
    if entry.state is EntryState.IN_PROGRESS:
        move_entry(entry, Close(ClosedReason.REACHED), now=now)
    log_event(logger, "survey_answered", attempt_id=attempt.id, digits=digits)
    return True


# --- the hold queue --------------------------------------------------------------------------


def hold_twiml(
    call: Call,
    *,
    position: int | None,
    queue_seconds: int | None,
    average_seconds: int | None,
) -> str:
    """The document played to a caller on hold (Twilio's `waitUrl`), requested again each
    time it has played through; a `<Leave>` once they have waited `max_queue_wait`."""
    response = VoiceResponse()
    if queue_seconds is not None and queue_seconds >= call.max_queue_wait.total_seconds():
        response.leave()
        return str(response)
    hold = call.ivr.hold
    _say(response, call, hold.announcement or SAY_HOLD)
    if hold.announce_position and position is not None and position > 0:
        text = f"現在{position}番目にお待ちいただいております。"
        minutes = expected_wait_minutes(average_seconds, queue_seconds)
        if minutes is not None:
            text += f"およそ{minutes}分でおつなぎできる見込みです。"
        _say(response, call, text)
    if hold.music:
        response.play(hold.music)
    else:
        response.pause(length=HOLD_PAUSE_SECONDS)
    return str(response)


def expected_wait_minutes(average_seconds: int | None, queue_seconds: int | None) -> int | None:
    """Whole minutes (at least 1) still to wait, from the queue's average wait less the time
    already waited; None when the average is unknown (missing or zero)."""
    if average_seconds is None or average_seconds <= 0:
        return None
    remaining = average_seconds - max(queue_seconds or 0, 0)
    return max(1, math.ceil(remaining / 60))


def queue_answer(
    session: Session,
    config: Config,
    call: Call,
    result: str,
    queue_seconds: int | None,
    *,
    now: datetime,
) -> str:
    """Record how the caller's wait ended (the Enqueue action) and act on it; the TwiML."""
    require_aware(now)
    attempt = session.get_one(Attempt, call.attempt_id)
    record_queue_result(session, attempt, result, queue_seconds)
    response = VoiceResponse()
    if result in (QUEUE_BRIDGED, QUEUE_HANGUP, QUEUE_REDIRECTED):
        # The call was connected, is over, or has been sent elsewhere.
        return str(response)
    if result == QUEUE_LEAVE:
        if call.ivr.hold.on_timeout == "callback":
            _say(response, call, SAY_QUEUE_TIMEOUT)
            _band_gather(response, call)
            return _end(response, call, SAY_NO_INPUT_GOODBYE)
        return _end(response, call, SAY_QUEUE_TIMEOUT_GOODBYE)
    # queue-full, error, system-error: an operator calls back at the next open instant.
    at = _next_open(config, attempt, None, now)
    if at is not None:
        schedule_callback(session, attempt, at)
    return _end(response, call, SAY_OPERATOR_CALLS_BACK)


def record_queue_result(
    session: Session, attempt: Attempt, result: str, queue_seconds: int | None
) -> bool:
    """Store the QueueResult and queue time on the attempt unless one is already stored
    (Twilio retrying the webhook): the first write wins. False when it was already there."""
    seconds = None if queue_seconds is None else max(queue_seconds, 0)
    updated = session.execute(
        sa.update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.queue_result.is_(None))
        .values(queue_result=result[:QUEUE_RESULT_LENGTH], queue_time_seconds=seconds)
        .execution_options(synchronize_session="fetch")
    )
    recorded = bool(getattr(updated, "rowcount", 0))
    if recorded:
        log_event(logger, "hold_queue_left", attempt_id=attempt.id, result=result, seconds=seconds)
    return recorded


# --- the time band ---------------------------------------------------------------------------


def band_answer(
    session: Session,
    config: Config,
    call: Call,
    digits: str,
    *,
    unknown_count: int = 0,
    now: datetime,
) -> str:
    """Record the time band key and schedule the callback in that band; the TwiML answer."""
    require_aware(now)
    attempt = session.get_one(Attempt, call.attempt_id)
    part = BANDS.get(digits)
    action = part.value if part is not None else UNKNOWN_ACTION
    session.add(
        KeyPress(
            attempt_id=attempt.id,
            pressed_at=now,
            step=BAND_KEY_STEP,
            digits=digits[:16],
            action=action,
        )
    )
    response = VoiceResponse()
    if part is None:
        if unknown_count >= 1:
            return _end(response, call, SAY_UNKNOWN_AGAIN)
        _say(response, call, SAY_UNKNOWN_KEY)
        _band_gather(response, call, unknown=unknown_count + 1)
        return _end(response, call, SAY_NO_INPUT_GOODBYE)
    at = _next_open(config, attempt, part, now)
    if at is None:
        return _end(response, call, SAY_NO_CALLBACK_TIME)
    if not schedule_callback(session, attempt, at):
        return _end(response, call, SAY_GOODBYE)
    when = japanese_date(at, part)
    return _end(
        response,
        call,
        f"かしこまりました。{when}に、改めてお電話いたします。"
        "お電話ありがとうございました。失礼いたします。",
    )


def japanese_date(at: datetime, part: PartOfDay) -> str:
    """`12月1日(火) 午前`: the local date of `at` and the part of the day."""
    return f"{at.month}月{at.day}日({_WEEKDAYS_JA[at.weekday()]}) {part.label_ja}"


def _next_open(
    config: Config, attempt: Attempt, part: PartOfDay | None, now: datetime
) -> datetime | None:
    """The next open instant of the attempt's campaign (in `part` when given) at least
    `CALLBACK_MIN_DELAY` from `now`, in the campaign's local time."""
    rules = calling_rules(config, attempt.campaign_id)
    parts = [part] if part is not None else list(PartOfDay)
    return next_callable_in_parts(rules, parts, now + CALLBACK_MIN_DELAY, horizon=CALLBACK_HORIZON)


def schedule_callback(session: Session, attempt: Attempt, at: datetime) -> bool:
    """Move the attempt's entry back to pending until `at`, its last outcome `callback`.

    Only an entry still worked (in progress, or pending after a duplicate request) is moved:
    a closed one (an opt-out above all) stays closed. False when the entry was left alone.
    """
    entry = locked_entry(session, attempt.entry_id)
    if entry.state not in (EntryState.IN_PROGRESS, EntryState.PENDING):
        log_event(
            logger,
            "callback_not_scheduled",
            attempt_id=attempt.id,
            entry_id=entry.id,
            state=entry.state.value,
        )
        return False
    move_entry(entry, Reschedule(at), now=at)
    entry.last_outcome = CALLBACK_OUTCOME
    log_event(logger, "callback_scheduled", attempt_id=attempt.id, entry_id=entry.id, at=at)
    return True


def opt_out(session: Session, attempt: Attempt, *, now: datetime) -> None:
    """Put the customer and the number on the DNC list and close the entry as opted out.

    Idempotent: a repeated request (Twilio retrying the webhook) finds the IVR's DNC row for
    this customer and number and adds no second one. The entry's row lock serialises
    concurrent requests for the same call.
    """
    entry = locked_entry(session, attempt.entry_id)
    existing = session.scalar(
        sa.select(DncEntry.id).where(
            DncEntry.customer_id == attempt.customer_id,
            DncEntry.phone == attempt.phone,
            DncEntry.source == DncSource.IVR,
            DncEntry.removed_at.is_(None),
        )
    )
    if existing is None:
        session.add(
            DncEntry(
                customer_id=attempt.customer_id,
                phone=attempt.phone,
                source=DncSource.IVR,
                reason=DNC_REASON,
                added_at=now,
            )
        )
        log_event(
            logger,
            "dnc_added",
            attempt_id=attempt.id,
            customer=attempt.customer_id,
            phone=attempt.phone,
            source=DncSource.IVR.value,
        )
    if entry.closed_reason != ClosedReason.OPTED_OUT:
        # `ClosedReason` lists the reasons the end of a call decides; the column is a string,
        # and `opted_out` is the reason the IVR writes itself.
        move_entry(entry, Close(ClosedReason.OPTED_OUT), now=now)
