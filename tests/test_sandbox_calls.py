"""Calls played end to end: the sandbox rings scripted callees, follows the test app's TwiML,
holds callers for simulated operators and posts the callbacks, as Twilio would."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from dialer.sandbox import Behaviour, CalleeModel, Delivery, OperatorSpec, Sandbox, SandboxConfig
from dialer.sandbox.server import CallView
from dialer.telephony.twilio import TwilioProvider
from tests.test_sandbox_app import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    GREETING,
    CallCentre,
    call_request,
    number,
    sandbox_config,
    scripted,
)

HUMAN = Behaviour(ring_seconds=3, digits=("1",), talk_seconds=20)
#: Presses 9 at the menu: greeting, goodbye, done in a few seconds.
BRIEF = Behaviour(ring_seconds=2, digits=("9",))


@pytest.fixture
def centre() -> Iterator[CallCentre]:
    app = CallCentre().start()
    yield app
    app.stop()


def play(
    centre: CallCentre, config: SandboxConfig, name: str, **request: Any
) -> tuple[CallView, Sandbox]:
    """Place one call to `number(name)` and wait until it and its callbacks are done."""
    with Sandbox(config) as sandbox:
        provider = TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, sandbox.base_url)
        sid = provider.place_call(call_request(centre, number(name), **request)).sid
        return sandbox.wait_for(sid), sandbox


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.005)


def sequence(statuses: list[dict[str, str]]) -> list[tuple[int, str]]:
    return sorted((int(s["SequenceNumber"]), s["CallStatus"]) for s in statuses)


# --- a person -------------------------------------------------------------------------------


def test_a_person_goes_from_the_greeting_to_an_operator(centre: CallCentre) -> None:
    operator = OperatorSpec("operator-1", pickup_seconds=20)
    config = sandbox_config(callee=scripted(alice=HUMAN), operators=(operator,))

    view, _ = play(
        centre,
        config,
        "alice",
        machine_detection="DetectMessageEnd",
        async_amd=True,
        async_amd_status_callback=centre.url("/amd"),
    )

    sid = view.sid
    [voice] = centre.received("/voice", sid)
    assert voice["CallStatus"] == "in-progress" and voice["Direction"] == "outbound-api"
    assert (voice["To"], voice["AccountSid"], voice["ApiVersion"]) == (
        number("alice"),
        ACCOUNT_SID,
        "2010-04-01",
    )
    assert [form["Digits"] for form in centre.received("/gather", sid)] == ["1"]
    holds = centre.received("/hold", sid)
    assert len(holds) >= 2
    assert {(h["QueuePosition"], h["CurrentQueueSize"]) for h in holds} == {("1", "1")}
    assert holds[0]["QueueSid"].startswith("QU")
    assert int(holds[-1]["QueueTime"]) > int(holds[0]["QueueTime"])
    [result] = centre.received("/queue-result", sid)
    assert result["QueueResult"] == "bridged" and int(result["QueueTime"]) >= 19
    [amd] = centre.received("/amd", sid)
    assert amd["AnsweredBy"] == "human" and int(amd["MachineDetectionDuration"]) > 0
    assert all(hit.signed for hit in centre.hits)
    assert view.status == "completed" and view.answered_by == "human"
    greeting = next(entry for entry in view.timeline if entry.event == "say")
    assert greeting.detail == {"text": GREETING, "language": "ja-JP", "voice": "Polly.Mizuki"}
    assert {"digits", "enqueued", "bridged", "bridge-ended"} <= set(view.events())


def test_status_callbacks_carry_twilios_fields_in_sequence(centre: CallCentre) -> None:
    view, _ = play(centre, sandbox_config(callee=scripted(alice=BRIEF)), "alice")

    statuses = centre.statuses(view.sid)
    assert sequence(statuses) == [
        (0, "initiated"),
        (1, "ringing"),
        (2, "in-progress"),
        (3, "completed"),
    ]
    completed = statuses[-1]
    assert completed["CallbackSource"] == "call-progress-events"
    assert int(completed["CallDuration"]) == view.duration
    assert view.duration is not None and view.duration >= 8  # the greeting and a goodbye
    assert completed["Duration"] == str(math.ceil(view.duration / 60))
    assert completed["SipResponseCode"] == "200"
    assert parsedate_to_datetime(completed["Timestamp"]).tzinfo is not None
    assert completed["Timestamp"].endswith("+0000")
    assert all(s["CallSid"] == view.sid and s["Direction"] == "outbound-api" for s in statuses)


def test_no_input_goes_on_after_the_gather(centre: CallCentre) -> None:
    view, _ = play(centre, sandbox_config(callee=scripted(bob=Behaviour(ring_seconds=2))), "bob")

    assert centre.received("/gather", view.sid) == []
    events = view.events()
    assert events.index("gather-no-input") < events.index("hangup-verb")
    assert view.timeline[events.index("gather-no-input") + 1].detail["text"] == "失礼いたします。"


def test_a_caller_out_of_patience_abandons_the_queue(centre: CallCentre) -> None:
    impatient = Behaviour(ring_seconds=2, digits=("1",), queue_patience_seconds=20)
    config = sandbox_config(callee=scripted(carol=impatient), operators=())

    view, _ = play(centre, config, "carol")

    [result] = centre.received("/queue-result", view.sid)
    assert result["QueueResult"] == "hangup"
    assert 19 <= int(result["QueueTime"]) <= 26
    assert view.status == "completed"
    assert centre.statuses(view.sid)[-1]["CallStatus"] == "completed"


def test_leave_takes_the_caller_out_of_the_queue(centre: CallCentre) -> None:
    centre.leave_on_hold = True
    config = sandbox_config(callee=scripted(dave=HUMAN), operators=())

    view, _ = play(centre, config, "dave")

    [result] = centre.received("/queue-result", view.sid)
    assert result["QueueResult"] == "leave"
    assert "left-queue" in view.events() and view.status == "completed"


def test_a_full_queue_turns_the_next_caller_away(centre: CallCentre) -> None:
    config = sandbox_config(
        callee=scripted(first=HUMAN, second=HUMAN), operators=(), queue_max_size=1
    )
    with Sandbox(config) as sandbox:
        provider = TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, sandbox.base_url)
        first = provider.place_call(call_request(centre, number("first"))).sid
        wait_until(lambda: sandbox.queue_size("sales") == 1)
        second = provider.place_call(call_request(centre, number("second"))).sid
        sandbox.wait_for(second)
        provider.hangup(first)
        sandbox.wait_for(first)

    assert centre.received("/queue-result", second)[0]["QueueResult"] == "queue-full"
    assert centre.received("/queue-result", first)[0]["QueueResult"] == "hangup"


def test_a_rest_redirect_takes_a_caller_off_hold(centre: CallCentre) -> None:
    config = sandbox_config(callee=scripted(erin=HUMAN), operators=())
    with Sandbox(config) as sandbox:
        provider = TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, sandbox.base_url)
        sid = provider.place_call(call_request(centre, number("erin"))).sid
        wait_until(lambda: "enqueued" in sandbox.call(sid).events())

        provider.redirect(sid, centre.url("/machine"))
        view = sandbox.wait_for(sid)

    assert centre.received("/queue-result", sid)[0]["QueueResult"] == "redirected"
    assert view.fetches[-1].url == centre.url("/machine")
    assert sandbox.queue_size("sales") == 0


def test_an_operator_call_dials_the_queue_and_takes_the_caller(centre: CallCentre) -> None:
    operator = OperatorSpec("sato", phone="+819099990000", takes_from_queues=False)
    config = sandbox_config(callee=scripted(frank=HUMAN), operators=(operator,))
    with Sandbox(config) as sandbox:
        provider = TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, sandbox.base_url)
        caller = provider.place_call(call_request(centre, number("frank"))).sid
        wait_until(lambda: sandbox.queue_size("sales") == 1)
        agent = provider.place_call(
            call_request(centre, "+819099990000", url=centre.url("/operator"))
        ).sid
        caller_view = sandbox.wait_for(caller)
        agent_view = sandbox.wait_for(agent)

    assert centre.received("/queue-result", caller)[0]["QueueResult"] == "bridged"
    [dialled] = centre.received("/dial-result", agent)
    assert (dialled["DialCallStatus"], dialled["DialCallSid"]) == ("completed", caller)
    assert 19 <= int(dialled["DialCallDuration"]) <= 26
    assert "dequeued" in agent_view.events() and caller_view.status == "completed"


# --- no person --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "status", "sip", "events"),
    [
        (Behaviour(outcome="busy", ring_seconds=2), "busy", "486", ["initiated", "ringing"]),
        (Behaviour(ring_seconds=40), "no-answer", "487", ["initiated", "ringing"]),
        (Behaviour(outcome="no-answer"), "no-answer", "487", ["initiated", "ringing"]),
        (Behaviour(outcome="failed", ring_seconds=1), "failed", "404", ["initiated"]),
    ],
    ids=["busy", "answers-too-late", "never-answers", "failed"],
)
def test_calls_nobody_answers_end_with_the_right_callbacks(
    centre: CallCentre, behaviour: Behaviour, status: str, sip: str, events: list[str]
) -> None:
    config = sandbox_config(callee=scripted(gina=behaviour))

    view, _ = play(centre, config, "gina", timeout=20)

    statuses = centre.statuses(view.sid)
    assert [s["CallStatus"] for s in statuses] == [*events, status]
    final = statuses[-1]
    assert (final["SipResponseCode"], final["CallDuration"]) == (sip, "0")
    assert final.get("ErrorCode") == ("13224" if status == "failed" else None)
    assert view.status == status and view.fetches == ()


@pytest.mark.parametrize(
    ("mode", "answered_by"),
    [("DetectMessageEnd", "machine_end_silence"), ("Enable", "machine_start")],
)
def test_a_machine_gets_its_amd_verdict_while_the_twiml_still_runs(
    centre: CallCentre, mode: str, answered_by: str
) -> None:
    machine = Behaviour(
        outcome="machine",
        ring_seconds=5,
        greeting_seconds=6,
        machine_end="machine_end_silence",
        hangs_up_after_seconds=40,
    )
    config = sandbox_config(callee=scripted(henry=machine))

    view, _ = play(
        centre,
        config,
        "henry",
        machine_detection=mode,
        async_amd=True,
        async_amd_status_callback=centre.url("/amd"),
    )

    [amd] = centre.received("/amd", view.sid)
    assert amd["AnsweredBy"] == answered_by
    assert centre.received("/voice", view.sid) and "gather-no-input" in view.events()
    assert view.answered_by == answered_by and view.status == "completed"
    assert centre.statuses(view.sid)[-1]["AnsweredBy"] == answered_by


def test_sync_amd_asks_for_twiml_with_the_verdict(centre: CallCentre) -> None:
    view, _ = play(
        centre,
        sandbox_config(callee=scripted(ivy=BRIEF)),
        "ivy",
        machine_detection="Enable",
    )

    [voice] = centre.received("/voice", view.sid)
    assert voice["AnsweredBy"] == "human"
    assert centre.received("/amd") == []


def test_a_machine_hangs_up_when_its_recording_ends(centre: CallCentre) -> None:
    machine = Behaviour(outcome="machine", ring_seconds=5, hangs_up_after_seconds=4)

    view, _ = play(centre, sandbox_config(callee=scripted(jun=machine)), "jun")

    assert "callee-hung-up" in view.events()
    assert view.duration is not None and 4 <= view.duration <= 10


# --- callback delivery ----------------------------------------------------------------------


def test_duplicates_repeat_a_callback_with_its_sequence_number(centre: CallCentre) -> None:
    config = sandbox_config(callee=scripted(kei=BRIEF), delivery=Delivery(duplicate_rate=1.0))

    view, sandbox = play(centre, config, "kei")

    numbers = [s["SequenceNumber"] for s in centre.statuses(view.sid)]
    assert sorted(numbers) == ["0", "0", "1", "1", "2", "2", "3", "3"]
    assert sum(sent.duplicate for sent in sandbox.callbacks(view.sid)) == 4


def test_reordering_delivers_callbacks_out_of_order(centre: CallCentre) -> None:
    config = sandbox_config(callee=scripted(kei=BRIEF), delivery=Delivery(reorder_rate=1.0))

    view, _ = play(centre, config, "kei")

    arrived = [int(s["SequenceNumber"]) for s in centre.statuses(view.sid)]
    assert arrived == [1, 0, 3, 2]


def test_a_callback_answered_with_5xx_is_retried(centre: CallCentre) -> None:
    centre.failing_status_callbacks = 2

    view, sandbox = play(centre, sandbox_config(callee=scripted(kei=BRIEF)), "kei")

    sent = sandbox.callbacks(view.sid)
    assert [(c.params["SequenceNumber"], c.attempts, c.delivered) for c in sent] == [
        ("0", 3, True),
        ("1", 1, True),
        ("2", 1, True),
        ("3", 1, True),
    ]


def test_a_callback_nobody_takes_is_dropped_after_its_attempts(centre: CallCentre) -> None:
    unreachable = "http://127.0.0.1:9/status"

    view, sandbox = play(
        centre, sandbox_config(callee=scripted(kei=BRIEF)), "kei", status_callback=unreachable
    )

    sent = sandbox.callbacks(view.sid)
    assert len(sent) == 4
    assert all((c.attempts, c.delivered, c.status) == (3, False, None) for c in sent)


def test_a_call_canceled_while_queued_sends_no_callbacks(centre: CallCentre) -> None:
    config = sandbox_config(callee=scripted(kei=HUMAN, lee=HUMAN), cps=0.5)
    with Sandbox(config) as sandbox:
        provider = TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, sandbox.base_url)
        provider.place_call(call_request(centre, number("kei")))
        queued = provider.place_call(call_request(centre, number("lee"))).sid

        canceled = provider.hangup(queued)
        view = sandbox.wait_for(queued)

    assert canceled.status == "canceled" and view.start_time is None
    assert sandbox.callbacks(queued) == [] and centre.statuses(queued) == []


# --- the seed -------------------------------------------------------------------------------


def test_the_same_seed_plays_the_same_calls(centre: CallCentre) -> None:
    model = CalleeModel(
        human_ring=(1, 3),
        machine_ring=(2, 4),
        talk=(5, 10),
        queue_patience=(3, 6),
        machine_recording=(5, 10),
        outcomes={"human": 3, "busy": 1, "machine": 1, "failed": 1, "no-answer": 1},
    )
    numbers = [number(f"customer-{n}") for n in range(10)]

    def run(seed: int) -> list[tuple[Any, ...]]:
        config = sandbox_config(callee=model, seed=seed)
        with Sandbox(config) as sandbox:
            provider = TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, sandbox.base_url)
            for to in numbers:
                provider.place_call(call_request(centre, to, timeout=20))
            sandbox.wait_until_idle(timeout=20)
            return [
                (view.sid, view.to, view.behaviour, view.status, view.answered_by)
                for view in sandbox.calls()
            ]

    first, again, other = run(3), run(3), run(4)

    assert first == again
    assert [row[2] for row in first] != [row[2] for row in other]
    assert {row[3] for row in first} >= {"completed", "busy"}


def test_without_history_calls_still_play_but_keep_no_journal(centre: CallCentre) -> None:
    config = sandbox_config(callee=scripted(kei=BRIEF), keep_history=False)

    view, sandbox = play(centre, config, "kei")

    assert view.status == "completed" and len(centre.statuses(view.sid)) == 4
    assert view.fetches == () and sandbox.callbacks() == []
    assert view.events() == ["created", "initiated", "ringing", "in-progress", "completed"]
