"""A small call-centre app for the sandbox to call, and the sandbox's request signing.

`CallCentre` answers Twilio's webhooks with fixed TwiML built with the SDK's `VoiceResponse`:
a Japanese greeting inside a one-key Gather; key 1 to the `sales` hold queue (waitUrl
announces the position), key 9 to a goodbye; a machine message; an operator's `<Dial><Queue>`.
It checks `X-Twilio-Signature` with the SDK's `RequestValidator` over the URL it was called at
and refuses a bad one with 403, like the real app. The other sandbox test modules use it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from dialer.sandbox import (
    Behaviour,
    CalleeModel,
    Delivery,
    OperatorSpec,
    Sandbox,
    SandboxConfig,
)
from dialer.telephony import CallRequest
from dialer.telephony.twilio import TwilioProvider

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "sandbox-test-token-0123456789"
COMPANY = "+81312345678"
SPEED = 100.0
GREETING = "こんにちは。テスト通販でございます。ご注文のお礼でお電話しました。"
QUEUE = "sales"


@dataclass(frozen=True)
class Hit:
    """One request the app received."""

    path: str
    form: dict[str, str]
    signed: bool


class CallCentre:
    """The app: a WSGI callable, served on a free port by `start`."""

    def __init__(self, *, public_base_url: str | None = None) -> None:
        self.validator = RequestValidator(AUTH_TOKEN)
        self.hits: list[Hit] = []
        self.failing_status_callbacks = 0
        self.leave_on_hold = False
        self._lock = threading.Lock()
        self._server = make_server("127.0.0.1", 0, self, threaded=True)
        self.listening_url = f"http://127.0.0.1:{self._server.port}"
        self.base_url = public_base_url or self.listening_url
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._routes: dict[str, Callable[[dict[str, str]], str | None]] = {
            "/voice": self.voice,
            "/gather": self.gather,
            "/hold": self.hold,
            "/queue-result": self.queue_result,
            "/machine": self.machine,
            "/operator": self.operator,
            "/dial-result": self.queue_result,
            "/status": self.status,
            "/amd": lambda form: None,
        }

    def start(self) -> CallCentre:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        form = request.form.to_dict()
        query = request.query_string.decode()
        url = self.base_url + request.path + (f"?{query}" if query else "")
        signature = request.headers.get("X-Twilio-Signature", "")
        signed = bool(self.validator.validate(url, request.form, signature))
        with self._lock:
            self.hits.append(Hit(request.path, form, signed))
        route = self._routes.get(request.path)
        if not signed:
            response = Response(status=403)
        elif route is None:
            response = Response(status=404)
        else:
            twiml = route(form)
            response = (
                Response(status=204)
                if twiml is None
                else Response(twiml, content_type="text/xml; charset=utf-8")
            )
        if request.path == "/status" and self._fail_status():
            response = Response(status=500)
        return response(environ, start_response)

    def _fail_status(self) -> bool:
        with self._lock:
            if self.failing_status_callbacks <= 0:
                return False
            self.failing_status_callbacks -= 1
            return True

    # --- what the app received ----------------------------------------------------------------

    def received(self, path: str, call_sid: str | None = None) -> list[dict[str, str]]:
        with self._lock:
            return [
                hit.form
                for hit in self.hits
                if hit.path == path and (call_sid is None or hit.form.get("CallSid") == call_sid)
            ]

    def statuses(self, call_sid: str) -> list[dict[str, str]]:
        """The status callbacks of the call that the app accepted, in arrival order."""
        return self.received("/status", call_sid)

    # --- TwiML ----------------------------------------------------------------------------------

    def voice(self, form: dict[str, str]) -> str:
        response = VoiceResponse()
        gather = response.gather(num_digits=1, action="/gather", timeout=5)
        gather.say(GREETING, language="ja-JP", voice="Polly.Mizuki")
        response.say("失礼いたします。", language="ja-JP", voice="Polly.Mizuki")
        response.hangup()
        return str(response)

    def gather(self, form: dict[str, str]) -> str:
        response = VoiceResponse()
        if form.get("Digits") == "1":
            response.say("担当者におつなぎします。", language="ja-JP", voice="Polly.Mizuki")
            response.enqueue(QUEUE, wait_url=self.url("/hold"), action=self.url("/queue-result"))
        else:
            response.say("ありがとうございました。", language="ja-JP", voice="Polly.Mizuki")
            response.hangup()
        return str(response)

    def hold(self, form: dict[str, str]) -> str:
        response = VoiceResponse()
        position = form.get("QueuePosition", "?")
        response.say(f"ただいま{position}番目です。", language="ja-JP", voice="Polly.Mizuki")
        if self.leave_on_hold:
            response.leave()
        response.play("https://example.jp/hold-music.mp3")
        return str(response)

    def queue_result(self, form: dict[str, str]) -> str:
        response = VoiceResponse()
        response.hangup()
        return str(response)

    def machine(self, form: dict[str, str]) -> str:
        response = VoiceResponse()
        response.say("テスト通販です。またお電話いたします。", language="ja-JP")
        response.hangup()
        return str(response)

    def operator(self, form: dict[str, str]) -> str:
        response = VoiceResponse()
        response.dial(action=self.url("/dial-result"), timeout=30).queue(QUEUE)
        return str(response)

    def status(self, form: dict[str, str]) -> None:
        return None


def sandbox_config(**changes: Any) -> SandboxConfig:
    """A fast sandbox with no CPS limit, short hold music and one quick operator."""
    config = SandboxConfig(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        seed=7,
        speed=SPEED,
        cps=None,
        play_seconds=4.0,
        operators=(OperatorSpec("operator-1", pickup_seconds=10.0, wrap_up_seconds=5.0),),
        delivery=Delivery(retry_delay_seconds=1.0),
    )
    return replace(config, **changes)


def number(name: str) -> str:
    """A Japanese mobile number of its own for each callee name used in a test."""
    digits = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10**8
    return f"+8190{digits:08d}"


def scripted(**callees: Behaviour) -> CalleeModel:
    """A callee model where `number(name)` behaves as given for each `name=Behaviour(...)`."""
    return CalleeModel(scripted={number(name): behaviour for name, behaviour in callees.items()})


def call_request(centre: CallCentre, to: str, **changes: Any) -> CallRequest:
    request = CallRequest(
        to=to,
        from_=COMPANY,
        url=centre.url("/voice"),
        status_callback=centre.url("/status"),
    )
    return replace(request, **changes)


@pytest.fixture
def centre() -> Iterator[CallCentre]:
    app = CallCentre().start()
    yield app
    app.stop()


# --- the sandbox signs what it sends ---------------------------------------------------------


def test_every_request_the_sandbox_makes_is_signed(centre: CallCentre) -> None:
    config = sandbox_config(callee=scripted(n1=Behaviour(ring_seconds=2, digits=("9",))))
    with Sandbox(config) as sandbox:
        provider = TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, sandbox.base_url)
        sid = provider.place_call(call_request(centre, number("n1"))).sid
        sandbox.wait_for(sid)

    assert {hit.path for hit in centre.hits} == {"/status", "/voice", "/gather"}
    assert all(hit.signed for hit in centre.hits)


def test_a_sandbox_with_another_token_is_refused_by_the_app(centre: CallCentre) -> None:
    config = sandbox_config(
        auth_token="some-other-token", callee=scripted(n1=Behaviour(ring_seconds=2))
    )
    with Sandbox(config) as sandbox:
        provider = TwilioProvider(ACCOUNT_SID, "some-other-token", sandbox.base_url)
        sid = provider.place_call(call_request(centre, number("n1"))).sid
        view = sandbox.wait_for(sid)

    assert centre.hits and not any(hit.signed for hit in centre.hits)
    assert "app-error" in view.events()
    assert view.fetches[0].status == 403


def test_requests_for_a_public_url_go_to_where_the_app_listens() -> None:
    public = "https://dialer.example.jp"
    behind_tunnel = CallCentre(public_base_url=public).start()
    try:
        config = sandbox_config(
            callee=scripted(n1=Behaviour(ring_seconds=2)),
            webhook_routes={public: behind_tunnel.listening_url},
        )
        with Sandbox(config) as sandbox:
            provider = TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, sandbox.base_url)
            sid = provider.place_call(call_request(behind_tunnel, number("n1"))).sid
            sandbox.wait_for(sid)
    finally:
        behind_tunnel.stop()

    assert behind_tunnel.received("/voice")
    assert all(hit.signed for hit in behind_tunnel.hits)
