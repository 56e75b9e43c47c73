"""The project's own Twilio provider against a running sandbox: the production code path.

Nothing here is special-cased: the provider gets the sandbox's base URL as it would get
`TWILIO_API_BASE_URL`, and the SDK does the rest.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dialer.sandbox import Behaviour, Faults, Sandbox
from dialer.sandbox.faults import Fault, FaultInjector
from dialer.telephony import (
    AmbiguousOutcomeError,
    AuthenticationError,
    InvalidNumberError,
    RateLimitError,
)
from dialer.telephony.twilio import TwilioProvider
from tests.test_sandbox_app import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CallCentre,
    call_request,
    number,
    sandbox_config,
    scripted,
)

CALLEES = scripted(
    quick=Behaviour(ring_seconds=2, digits=("9",)),
    silent=Behaviour(ring_seconds=2),
    slow=Behaviour(ring_seconds=500),
    other=Behaviour(ring_seconds=2, digits=("9",)),
)


@pytest.fixture
def centre() -> Iterator[CallCentre]:
    app = CallCentre().start()
    yield app
    app.stop()


def running(**changes: Any) -> Sandbox:
    return Sandbox(sandbox_config(callee=CALLEES, **changes))


def provider_for(sandbox: Sandbox, *, timeout_seconds: float = 5) -> TwilioProvider:
    return TwilioProvider(
        ACCOUNT_SID, AUTH_TOKEN, sandbox.base_url, timeout_seconds=timeout_seconds
    )


def until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never came true"
        time.sleep(0.01)


def test_place_fetch_and_list_a_call(centre: CallCentre) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    with running() as sandbox:
        provider = provider_for(sandbox)
        placed = provider.place_call(call_request(centre, number("quick")))
        provider.place_call(call_request(centre, number("other")))
        sandbox.wait_for(placed.sid)

        fetched = provider.fetch_call(placed.sid)
        listed = provider.list_calls(number("quick"), since)
        later = provider.list_calls(number("quick"), datetime.now(UTC) + timedelta(hours=2))

    assert placed.status == "queued" and placed.to == number("quick")
    assert fetched.status == "completed" and fetched.is_final
    assert fetched.duration is not None and fetched.duration > 0
    assert fetched.start_time is not None and fetched.end_time is not None
    assert [call.sid for call in listed] == [placed.sid]
    assert later == []


def test_list_finds_a_call_still_held_for_the_cps_limit(centre: CallCentre) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    with running(cps=0.5) as sandbox:
        provider = provider_for(sandbox)
        provider.place_call(call_request(centre, number("quick")))
        held = provider.place_call(call_request(centre, number("other")))

        listed = provider.list_calls(number("other"), since)

    assert [(call.sid, call.status) for call in listed] == [(held.sid, "queued")]
    assert held.queue_time_ms is not None and held.queue_time_ms > 100_000


def test_calls_over_the_account_cps_wait_in_the_queue(centre: CallCentre) -> None:
    with running(cps=10) as sandbox:
        provider = provider_for(sandbox)
        sids = [provider.place_call(call_request(centre, number("quick"))).sid for _ in range(3)]
        sandbox.wait_until_idle()
        views = [sandbox.call(sid) for sid in sids]

    waits = [view.queue_time_ms for view in views]
    assert waits[0] < waits[1] < waits[2]  # 0.1 s apart in real time: ~10 s simulated each
    assert waits[2] > 10_000
    assert all(view.status == "completed" for view in views)


def test_hangup_completes_a_live_call_and_cancels_a_ringing_one(centre: CallCentre) -> None:
    with running() as sandbox:
        provider = provider_for(sandbox)
        live = provider.place_call(call_request(centre, number("silent"))).sid
        ringing = provider.place_call(call_request(centre, number("slow"), timeout=600)).sid
        until(lambda: provider.fetch_call(live).status == "in-progress")
        until(lambda: provider.fetch_call(ringing).status == "ringing")

        hung_up = provider.hangup(live)
        canceled = provider.hangup(ringing)
        sandbox.wait_for(live)
        sandbox.wait_for(ringing)

    assert hung_up.status == "completed" and hung_up.duration is not None
    assert canceled.status == "canceled" and canceled.duration == 0
    assert centre.statuses(ringing)[-1]["CallStatus"] == "canceled"
    assert centre.statuses(live)[-1]["CallStatus"] == "completed"


def test_redirect_sends_a_live_call_to_new_twiml(centre: CallCentre) -> None:
    with running() as sandbox:
        provider = provider_for(sandbox)
        sid = provider.place_call(call_request(centre, number("silent"))).sid
        until(lambda: provider.fetch_call(sid).status == "in-progress")

        provider.redirect(sid, centre.url("/machine"))
        view = sandbox.wait_for(sid)

    assert [fetch.purpose for fetch in view.fetches] == ["answer", "redirect"]
    assert view.fetches[1].url == centre.url("/machine")
    assert "redirected" in view.events() and view.status == "completed"


def test_an_invalid_number_is_invalid_number_error(centre: CallCentre) -> None:
    with running() as sandbox, pytest.raises(InvalidNumberError) as raised:
        provider_for(sandbox).place_call(call_request(centre, "+81123"))

    assert raised.value.code == 21211 and raised.value.status == 400


def test_wrong_credentials_are_authentication_error(centre: CallCentre) -> None:
    with running() as sandbox:
        provider = TwilioProvider(ACCOUNT_SID, "wrong-token", sandbox.base_url)
        with pytest.raises(AuthenticationError):
            provider.place_call(call_request(centre, number("quick")))


def test_throttling_is_rate_limit_error_with_retry_after(centre: CallCentre) -> None:
    faults = Faults(throttle_rate=1.0, retry_after_seconds=3)
    with running(faults=faults) as sandbox:
        with pytest.raises(RateLimitError) as raised:
            provider_for(sandbox).place_call(call_request(centre, number("quick")))
        calls = sandbox.calls()

    assert raised.value.retry_after == 3
    assert calls == []


def test_a_server_error_is_ambiguous_but_creates_nothing(centre: CallCentre) -> None:
    with running(faults=Faults(server_error_rate=1.0)) as sandbox:
        with pytest.raises(AmbiguousOutcomeError) as raised:
            provider_for(sandbox).place_call(call_request(centre, number("quick")))
        calls = sandbox.calls()

    assert raised.value.status == 500
    assert calls == []


def test_a_timed_out_create_is_ambiguous_and_its_call_is_listed_later(
    centre: CallCentre,
) -> None:
    since = datetime.now(UTC) - timedelta(seconds=1)
    faults = Faults(timeout_rate=1.0, timeout_hold_seconds=1.0)
    with running(faults=faults) as sandbox:
        with pytest.raises(AmbiguousOutcomeError):
            provider_for(sandbox, timeout_seconds=0.2).place_call(
                call_request(centre, number("quick"))
            )

        found = provider_for(sandbox).list_calls(number("quick"), since)

    assert len(found) == 1
    assert found[0].sid == sandbox.calls()[0].sid


def test_faults_follow_the_seed() -> None:
    faults = Faults(throttle_rate=0.2, server_error_rate=0.2, timeout_rate=0.1)

    def draws(seed: int) -> list[Fault | None]:
        injector = FaultInjector(faults, seed)
        return [injector.next_create() for _ in range(200)]

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)
    counts = {fault: draws(1).count(fault) for fault in (*Fault, None)}
    assert all(count > 0 for count in counts.values())
