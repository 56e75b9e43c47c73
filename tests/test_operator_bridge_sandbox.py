"""Operators connected through the sandbox: `<Dial><Queue url>` as the sandbox plays it, and one
whole call, from dispatch to the bridge, through the real web app, worker job and provider.

In the whole call the sandbox's operators take nobody off the queues themselves
(`takes_from_queues=False`): the only way the customer meets an operator is the call the
dialer places to the operator's phone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.serving import make_server

from dialer.campaigns import Config, parse_config
from dialer.db import make_session_factory
from dialer.dispatch import DispatchOptions, dispatch_tick
from dialer.models import Attempt, CallStatus, OperatorCall
from dialer.operator_bridge import connect_operators
from dialer.sandbox import (
    Behaviour,
    CalleeModel,
    Sandbox,
    SandboxConfig,
    operators_from_config,
)
from dialer.sandbox.calls import Webhook
from dialer.sandbox.server import CallView
from dialer.sandbox.twiml import DialQueue, parse
from dialer.settings import Settings
from dialer.telephony.twilio import TwilioProvider
from dialer.worker import ConfigWatcher, Worker
from tests.conftest import (
    DISPATCH_NOW,
    PUBLIC_BASE_URL,
    TWILIO_ACCOUNT_SID,
    TWILIO_TEST_AUTH_TOKEN,
)
from tests.factories import dispatch_campaign, dispatch_config_yaml, make_customer, make_entry
from tests.test_sandbox_app import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    QUEUE,
    CallCentre,
    call_request,
    number,
    sandbox_config,
    scripted,
)
from web import create_app
from web.database import database

CUSTOMER = "+819011112222"
SATO = "+81311112222"  # the operator of `factories.dispatch_config_yaml`
SPEED = 50.0


def test_a_dial_queue_keeps_its_queue_url() -> None:
    document = (
        '<Response><Dial action="/done" timeout="15">'
        '<Queue url="/bridged/1" method="POST">f2-followup</Queue></Dial></Response>'
    )

    [verb] = parse(document, "https://dialer.example.jp/twilio/operator/1")

    assert verb == DialQueue(
        queue="f2-followup",
        action=Webhook("https://dialer.example.jp/done", "POST"),
        timeout_seconds=15.0,
        url=Webhook("https://dialer.example.jp/bridged/1", "POST"),
    )


def test_a_dial_queue_without_url_has_none() -> None:
    [verb] = parse("<Response><Dial><Queue>q</Queue></Dial></Response>", "https://x.jp/a")

    assert isinstance(verb, DialQueue) and verb.url is None


class BridgingCentre(CallCentre):
    """The test app, with a `<Queue url>` on the operator's `<Dial>`: `/bridged` names the
    operator, or answers something that is not TwiML when `broken`."""

    def __init__(self, *, broken: bool = False) -> None:
        super().__init__()
        self.broken = broken
        self._routes["/bridged"] = self.bridged

    def operator(self, form: dict[str, str]) -> str:
        response = VoiceResponse()
        dial = response.dial(action=self.url("/dial-result"), timeout=30)
        dial.queue(QUEUE, url=self.url("/bridged"), method="POST")
        return str(response)

    def bridged(self, form: dict[str, str]) -> str:
        if self.broken:
            return "not TwiML"
        response = VoiceResponse()
        response.say(NAMED, language="ja-JP", voice="Polly.Mizuki")
        response.pause(length=1)
        return str(response)


NAMED = "担当の佐藤におつなぎします。"


def bridge_through(centre: BridgingCentre) -> tuple[CallView, CallView]:
    """A caller who waits in the queue, then a call to an operator whose leg dequeues them."""
    callees = scripted(caller=Behaviour(ring_seconds=2, digits=("1",), talk_seconds=20))
    callees.scripted[number("operator")] = Behaviour(ring_seconds=1)
    with Sandbox(sandbox_config(callee=callees, operators=())) as sandbox:
        provider = TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, sandbox.base_url)
        caller = provider.place_call(call_request(centre, number("caller"))).sid
        until(lambda: sandbox.queue_size(QUEUE) == 1)
        request = call_request(centre, number("operator"), url=centre.url("/operator"))
        operator = provider.place_call(request).sid
        return sandbox.wait_for(caller), sandbox.wait_for(operator)


@pytest.fixture
def bridging() -> Iterator[BridgingCentre]:
    app = BridgingCentre().start()
    yield app
    app.stop()


def test_the_queue_url_plays_on_the_callers_leg_right_before_the_bridge(
    bridging: BridgingCentre,
) -> None:
    caller, operator = bridge_through(bridging)

    [before] = [fetch for fetch in caller.fetches if fetch.purpose == "queue-url"]
    assert before.url == bridging.url("/bridged")
    assert before.params["CallSid"] == caller.sid
    assert before.params["DequeingCallSid"] == operator.sid
    assert before.params["QueueSid"].startswith("QU") and int(before.params["QueueTime"]) >= 0
    events = caller.events()
    named = next(i for i, e in enumerate(caller.timeline) if e.detail.get("text") == NAMED)
    assert named < events.index("pause", named) < events.index("bridged")
    assert all(hit.signed for hit in bridging.hits)
    [result] = bridging.received("/queue-result", caller.sid)
    assert result["QueueResult"] == "bridged"
    [dialled] = bridging.received("/dial-result", operator.sid)
    assert dialled["DialCallStatus"] == "completed" and dialled["DialCallSid"] == caller.sid


def test_a_queue_url_that_is_not_twiml_is_skipped_and_the_bridge_goes_on() -> None:
    broken = BridgingCentre(broken=True).start()
    try:
        caller, _ = bridge_through(broken)
    finally:
        broken.stop()

    assert [e.detail.get("code") for e in caller.timeline if e.event == "app-error"] == ["12100"]
    assert "bridged" in caller.events() and caller.status == "completed"


# --- one whole call ---------------------------------------------------------------------------


@dataclass
class Centre:
    """The running parts: the sandbox, the app's settings and campaigns, a session factory."""

    sandbox: Sandbox
    settings: Settings
    config: Config
    sessions: sessionmaker[Session]
    provider: TwilioProvider

    def now(self) -> datetime:
        return self.sandbox.clock.now()


@pytest.fixture
def centre(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[Centre]:
    """The web app served on a free port behind `PUBLIC_BASE_URL`, and a sandbox whose clock
    starts at `DISPATCH_NOW`, whose customer presses the agent key and whose operator (sato)
    only answers the calls placed to their phone."""
    text = dispatch_config_yaml(dispatch_campaign(mode="ivr-then-agent"))
    campaigns = tmp_path / "campaigns.yaml"
    campaigns.write_text(text, encoding="utf-8")
    config = parse_config(text.encode(), str(campaigns))
    holder: dict[str, Any] = {}

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    customer = Behaviour(ring_seconds=2, digits=("1",), key_delay_seconds=1, talk_seconds=30)
    sandbox = Sandbox(
        SandboxConfig(
            account_sid=TWILIO_ACCOUNT_SID,
            auth_token=TWILIO_TEST_AUTH_TOKEN,
            speed=SPEED,
            origin=DISPATCH_NOW,
            cps=None,
            play_seconds=2.0,
            callee=CalleeModel(scripted={CUSTOMER: customer}),
            operators=operators_from_config(config, takes_from_queues=False),
            webhook_routes={PUBLIC_BASE_URL: f"http://127.0.0.1:{server.server_port}"},
        )
    )
    settings = Settings(
        database_url=database_url,
        campaigns_path=campaigns,
        twilio_account_sid=TWILIO_ACCOUNT_SID,
        twilio_auth_token=TWILIO_TEST_AUTH_TOKEN,
        twilio_api_base_url=sandbox.base_url,
        public_base_url=PUBLIC_BASE_URL,
    )
    app = create_app(settings, {"TESTING": True}, clock=sandbox.clock.now)
    holder["app"] = app
    thread = threading.Thread(target=server.serve_forever, name="operator-app", daemon=True)
    thread.start()
    provider = TwilioProvider.from_settings(settings)
    try:
        with sandbox:
            yield Centre(sandbox, settings, config, make_session_factory(engine), provider)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        database(app).engine.dispose()


def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition never came true"
        time.sleep(0.05)


def test_the_waiting_customer_is_bridged_by_the_operator_call_the_dialer_placed(
    centre: Centre, session: Session
) -> None:
    make_entry(session, make_customer(session, phones=[CUSTOMER]))
    session.commit()
    no_wait = DispatchOptions(wait_until=lambda slot, now: timedelta(0))
    tick = dispatch_tick(
        centre.sessions,
        centre.config,
        centre.provider,
        centre.settings,
        now=centre.now(),
        options=no_wait,
    )
    assert tick.placed == 1
    placed: list[int] = []

    def connect() -> bool:
        result = connect_operators(
            centre.sessions, centre.config, centre.provider, centre.settings, now=centre.now()
        )
        placed.append(result.placed)
        return all(call.done.is_set() for call in centre.sandbox.rt.store)

    until(connect)  # the worker's job, run until every call has ended
    centre.sandbox.wait_until_idle()

    session.expire_all()
    attempt = session.scalars(sa.select(Attempt)).one()
    operator_call = session.scalars(sa.select(OperatorCall)).one()
    assert sum(placed) == 1
    assert (attempt.operator_id, attempt.queue_result) == ("sato", "bridged")
    assert operator_call.operator_id == "sato" and operator_call.attempt_id == attempt.id
    assert operator_call.status is CallStatus.COMPLETED and operator_call.ended_at is not None
    [to_sato] = [call for call in centre.sandbox.calls() if call.to == SATO]
    assert operator_call.call_sid == to_sato.sid
    customer = centre.sandbox.call(attempt.call_sid or "")
    [bridged] = [entry for entry in customer.timeline if entry.event == "bridged"]
    assert bridged.detail["by"] == to_sato.sid
    [before] = [f for f in customer.fetches if f.purpose == "queue-url"]
    assert before.params["DequeingCallSid"] == to_sato.sid
    assert before.params["CallSid"] == customer.sid
    assert {"QueueSid", "QueueTime"} <= set(before.params)
    said = [entry.detail["text"] for entry in customer.timeline if entry.event == "say"]
    assert "担当の佐藤におつなぎします。" in said


def test_the_worker_runs_connect_on_its_own_lock_every_dispatch_interval(
    centre: Centre, engine: Engine
) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    worker = Worker(
        settings=centre.settings,
        engine=engine,
        config=ConfigWatcher.load(centre.settings.campaigns_path),
        dispatch_provider=centre.provider,
        reconcile_provider=centre.provider,
        clock=centre.now,
        dispatch_interval=timedelta(milliseconds=200),
    )
    scheduler = BackgroundScheduler()
    worker.schedule(scheduler)

    job = scheduler.get_job("connect")
    assert job is not None and job.trigger.interval == timedelta(milliseconds=200)
    worker.connect_job()  # nobody waits: nothing happens, nothing fails
    with centre.sessions() as session:
        assert session.scalars(sa.select(OperatorCall)).all() == []
