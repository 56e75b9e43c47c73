"""Reading TwiML, timing prompts, and the ListCall filters."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.datastructures import MultiDict

from dialer.sandbox.callee import Behaviour
from dialer.sandbox.calls import Call, CallOptions, InlineTwiml, Status, Webhook
from dialer.sandbox.durations import prompt_seconds, speech_seconds
from dialer.sandbox.interpreter import _entered
from dialer.sandbox.listing import QueryError, selector
from dialer.sandbox.twiml import (
    DialQueue,
    Enqueue,
    Gather,
    Hangup,
    Pause,
    Play,
    Redirect,
    Say,
    TwimlError,
    Unsupported,
    parse,
)

DOCUMENT_URL = "https://dialer.example.jp/twilio/voice/42"


def test_an_ivr_document_reads_into_verbs_with_urls_resolved() -> None:
    response = VoiceResponse()
    gather = response.gather(num_digits=1, action="/twilio/gather/42", timeout=7)
    gather.say("こんにちは", language="ja-JP", voice="Polly.Mizuki")
    response.enqueue("spring-sale", wait_url="/twilio/hold/42", action="/twilio/queue/42")
    response.redirect("/twilio/voice/42?again=1", method="GET")
    response.reject()

    verbs = parse(str(response), DOCUMENT_URL)

    assert verbs == (
        Gather(
            action=Webhook("https://dialer.example.jp/twilio/gather/42"),
            timeout_seconds=7,
            num_digits=1,
            prompts=(Say("こんにちは", language="ja-JP", voice="Polly.Mizuki"),),
        ),
        Enqueue(
            "spring-sale",
            action=Webhook("https://dialer.example.jp/twilio/queue/42"),
            wait_url=Webhook("https://dialer.example.jp/twilio/hold/42"),
        ),
        Redirect(Webhook("https://dialer.example.jp/twilio/voice/42?again=1", "GET")),
        Hangup(),
    )


def test_a_gather_without_action_posts_back_to_its_own_document() -> None:
    [gather] = parse("<Response><Gather/></Response>", DOCUMENT_URL)

    assert isinstance(gather, Gather) and gather.action == Webhook(DOCUMENT_URL)
    assert (gather.timeout_seconds, gather.finish_on_key, gather.num_digits) == (5, "#", None)


def test_dial_queue_is_read_and_other_verbs_are_kept_as_unsupported() -> None:
    response = VoiceResponse()
    response.dial(timeout=20).queue("spring-sale")
    response.dial("+81312345678")
    response.record()

    assert parse(str(response), DOCUMENT_URL) == (
        DialQueue("spring-sale", timeout_seconds=20),
        Unsupported("Dial"),
        Unsupported("Record"),
    )


@pytest.mark.parametrize(
    "text",
    ["not xml", "<Say>hello</Say>", "<Response><Pause length='soon'/></Response>"],
    ids=["not-xml", "wrong-root", "bad-attribute"],
)
def test_what_is_not_twiml_is_refused(text: str) -> None:
    with pytest.raises(TwimlError):
        parse(text, DOCUMENT_URL)


def test_japanese_takes_longer_to_say_than_as_many_latin_letters() -> None:
    assert speech_seconds("お電話ありがとうございます") == pytest.approx(13 / 6)
    assert speech_seconds("Thank you for calling") < speech_seconds("お電話ありがとうございます")


def test_prompts_repeat_with_loop_and_loop_zero_never_ends() -> None:
    assert prompt_seconds(Play("https://example.jp/a.mp3", loop=3), play_seconds=10) == 30
    assert prompt_seconds(Pause(2.5), play_seconds=10) == 2.5
    assert math.isinf(prompt_seconds(Say("お待ちください", loop=0), play_seconds=10))


@pytest.mark.parametrize(
    ("keys", "num_digits", "expected"),
    [("1", 1, ("1", "")), ("123", 2, ("12", "")), ("12#", None, ("12", "#")), ("#", 1, ("", "#"))],
)
def test_entered_keys_stop_at_num_digits_or_the_finish_key(
    keys: str, num_digits: int | None, expected: tuple[str, str]
) -> None:
    gather = Gather(action=Webhook(DOCUMENT_URL), num_digits=num_digits)

    assert _entered(keys, gather) == expected


# --- ListCall filters ------------------------------------------------------------------------


def call(to: str, start: datetime | None, status: Status = Status.COMPLETED) -> Call:
    created = start or datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    made = Call(
        sid="CA" + "0" * 32,
        account_sid="AC" + "0" * 32,
        options=CallOptions(to=to, from_="+81312345678", answer=InlineTwiml("<Response/>")),
        behaviour=Behaviour(),
        date_created=created,
        start_time=start,
    )
    made.status = status
    return made


def test_start_time_after_compares_to_the_second_and_skips_calls_not_started() -> None:
    started = call("+819011112222", datetime(2026, 11, 2, 1, 0, 0, 700_000, tzinfo=UTC))
    held = call("+819011112222", None, Status.QUEUED)

    same_second = selector(MultiDict({"StartTime>": "2026-11-02T01:00:00Z"}))
    later = selector(MultiDict({"StartTime>": "2026-11-02T01:00:01Z"}))

    assert (same_second(started), later(started), same_second(held)) == (True, False, False)


def test_a_date_filter_compares_utc_days() -> None:
    started = call("+819011112222", datetime(2026, 11, 2, 23, 30, tzinfo=UTC))

    assert selector(MultiDict({"StartTime": "2026-11-02"}))(started)
    assert selector(MultiDict({"StartTime<": "2026-11-03"}))(started)
    assert not selector(MultiDict({"StartTime>": "2026-11-03"}))(started)


def test_a_plus_that_arrived_unescaped_still_matches_the_number() -> None:
    matches = selector(MultiDict({"To": " 819011112222", "Status": "completed"}))

    assert matches(call("+819011112222", None))
    assert not matches(call("+819011113333", None))


def test_an_unreadable_date_is_refused() -> None:
    with pytest.raises(QueryError):
        selector(MultiDict({"StartTime>": "last tuesday"}))
