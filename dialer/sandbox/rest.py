"""The REST API: Twilio's Calls resource (create, fetch, list, update) as a WSGI app.

Every request needs HTTP basic auth with the configured AccountSid and AuthToken (401 with
error 20003 otherwise). Creates meet the injected faults first (see `faults`), then validation;
a created call is held for the account's CPS slot and played on a thread of its own. An update
with `Status=completed` or `canceled` ends the call (a call not yet answered is canceled; a
live call is only hung up by `completed`); `Url`/`Twiml` redirects a live call, or replaces the
instructions a call not yet answered will fetch.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Final

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from dialer.sandbox.calls import Call, Status
from dialer.sandbox.faults import Fault
from dialer.sandbox.forms import create_options, instructions
from dialer.sandbox.listing import QueryError, page, selector
from dialer.sandbox.resources import ApiError, call_resource, calls_path
from dialer.sandbox.runtime import Runtime

AUTHENTICATION_FAILED: Final = 20003
NOT_FOUND: Final = 20404
METHOD_NOT_ALLOWED: Final = 20004
TOO_MANY_REQUESTS: Final = 20429
INTERNAL_ERROR: Final = 20500
INVALID_CALL_STATE: Final = 21220
INVALID_PARAMETER: Final = 20001

Launch = Callable[[Call, float], None]
StartResponse = Callable[..., Any]

_METHODS: Final = ["GET", "POST"]
_RULES = Map(
    [
        Rule("/2010-04-01/Accounts/<account>/Calls.json", endpoint="calls", methods=_METHODS),
        Rule("/2010-04-01/Accounts/<account>/Calls/<sid>.json", endpoint="call", methods=_METHODS),
    ]
)


class RestApi:
    """The WSGI app; `launch` starts a created call's flow at its CPS slot (real time)."""

    def __init__(self, rt: Runtime, launch: Launch) -> None:
        self.rt = rt
        self.launch = launch

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        response = self.respond(Request(environ))
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        try:
            return self._dispatch(request)
        except ApiError as error:
            return _json(error.body(), error.status, self._error_headers(error))

    def _error_headers(self, error: ApiError) -> dict[str, str]:
        if error.status == 429:
            return {"Retry-After": str(self.rt.config.faults.retry_after_seconds)}
        if error.status == 401:
            return {"WWW-Authenticate": 'Basic realm="Twilio API"'}
        return {}

    def _dispatch(self, request: Request) -> Response:
        adapter = _RULES.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound as exc:
            raise ApiError(
                404, NOT_FOUND, f"The requested resource {request.path} was not found"
            ) from exc
        except MethodNotAllowed as exc:
            raise ApiError(405, METHOD_NOT_ALLOWED, f"Method {request.method} not allowed") from exc
        self._authenticate(request, args["account"])
        if endpoint == "calls":
            return self._create(request) if request.method == "POST" else self._list(request)
        if request.method == "POST":
            return self._update(request, args["sid"])
        return self._fetch(request, args["sid"])

    def _authenticate(self, request: Request, account: str) -> None:
        auth = request.authorization
        config = self.rt.config
        valid = (
            auth is not None
            and auth.type == "basic"
            and hmac.compare_digest(auth.username or "", config.account_sid)
            and hmac.compare_digest(auth.password or "", config.auth_token)
        )
        if not valid:
            raise ApiError(401, AUTHENTICATION_FAILED, "Authenticate")
        if account != config.account_sid:
            raise ApiError(404, NOT_FOUND, f"The requested resource {request.path} was not found")

    def _create(self, request: Request) -> Response:
        fault = self.rt.faults.next_create()
        if fault is Fault.THROTTLE:
            raise ApiError(429, TOO_MANY_REQUESTS, "Too Many Requests")
        if fault is Fault.SERVER_ERROR:
            raise ApiError(500, INTERNAL_ERROR, "Internal Server Error")
        call = self._new_call(request)
        slot, clock = self.rt.cps.reserve(), self.rt.clock
        call.queue_time_ms = round(clock.simulated_seconds(max(0.0, slot - clock.real())) * 1000)
        self.rt.store.add(call)
        self.launch(call, slot)
        body = self._resource(call)
        if fault is Fault.TIMEOUT:
            self.rt.stopping.wait(self.rt.config.faults.timeout_hold_seconds)
        return _json(body, 201)

    def _new_call(self, request: Request) -> Call:
        """A call for the create request, not yet in the store."""
        options = create_options(request.form)
        store = self.rt.store
        sid, ordinal = store.next_sid_and_ordinal(options.to)
        call = Call(
            sid=sid,
            account_sid=self.rt.config.account_sid,
            options=options,
            behaviour=self.rt.behaviour_for(options.to, ordinal),
            date_created=self.rt.clock.now(),
        )
        call.record(call.date_created, "created", outcome=call.behaviour.outcome)
        return call

    def _fetch(self, request: Request, sid: str) -> Response:
        return _json(self._resource(self._call(request, sid)), 200)

    def _list(self, request: Request) -> Response:
        try:
            wanted = selector(request.args)
            calls = [call for call in reversed(list(self.rt.store)) if wanted(call)]
            with self.rt.store.lock:
                body = page(
                    calls_path(self.rt.config.account_sid) + ".json",
                    request.args,
                    calls,
                    lambda call: call_resource(call, self.rt.clock.real()),
                )
        except QueryError as exc:
            raise ApiError(400, INVALID_PARAMETER, str(exc)) from exc
        return _json(body, 200)

    def _update(self, request: Request, sid: str) -> Response:
        call = self._call(request, sid)
        status = request.form.get("Status")
        target = instructions(request.form)
        now = self.rt.clock.now()
        with self.rt.store.lock:
            if status is not None:
                self._end(call, status, now)
            elif target is not None:
                if call.is_final:
                    raise ApiError(
                        400, INVALID_CALL_STATE, "Call is not in-progress. Cannot redirect."
                    )
                if call.status is Status.IN_PROGRESS:
                    call.redirect = target
                    call.wake.set()
                else:
                    call.answer = target
                call.record(now, "api-redirect")
            return _json(call_resource(call, self.rt.clock.real()), 200)

    def _end(self, call: Call, status: str, now: datetime) -> None:
        if status not in ("completed", "canceled"):
            raise ApiError(400, INVALID_PARAMETER, f"Invalid value for Status: {status!r}")
        if call.is_final:
            return
        if call.status is not Status.IN_PROGRESS:
            call.finish(Status.CANCELED, now, by="api")
        elif status == "completed":
            call.finish(Status.COMPLETED, now, by="api")

    def _call(self, request: Request, sid: str) -> Call:
        call = self.rt.store.get(sid)
        if call is None:
            raise ApiError(404, NOT_FOUND, f"The requested resource {request.path} was not found")
        return call

    def _resource(self, call: Call) -> dict[str, Any]:
        with self.rt.store.lock:
            return call_resource(call, self.rt.clock.real())


def _json(body: dict[str, Any], status: int, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status=status,
        headers=headers,
        content_type="application/json; charset=utf-8",
    )
