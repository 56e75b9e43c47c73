"""A call in progress: its waits, what interrupts them, and its requests to the app.

Every wait is in simulated seconds and ends early when something happens to the call: it ends
(a REST hang-up), a REST redirect arrives, the callee hangs up, a caller on hold runs out of
patience, the sandbox stops, or a condition the waiter watches comes true (a bridge). `pause`
turns each of those into the exception the interpreter unwinds with.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Final, Literal

import phonenumbers

from dialer.sandbox.calls import (
    API_VERSION,
    DIRECTION,
    Call,
    FetchRecord,
    InlineTwiml,
    Instructions,
    Status,
)
from dialer.sandbox.runtime import Runtime
from dialer.sandbox.twiml import TwimlError, Verb, parse
from dialer.sandbox.webhooks import WebhookError

logger = logging.getLogger(__name__)

#: The longest single real wait; a stop or a signal ends it sooner anyway.
WAIT_SLICE_SECONDS: Final = 1.0
#: Twilio says "an application error has occurred" before hanging up.
APP_ERROR_SECONDS: Final = 3.0
#: Twilio ends any call after four hours (the default `TimeLimit`).
TIME_LIMIT_SECONDS: Final = 4 * 60 * 60


class Wake(Enum):
    """Why a wait ended."""

    ELAPSED = "elapsed"
    ENDED = "ended"
    REDIRECTED = "redirected"
    CALLEE_HUNG_UP = "callee-hung-up"
    ABANDONED = "abandoned"
    CONDITION = "condition"
    STOPPING = "stopping"


EndReason = Literal["api", "callee", "hangup", "error", "stopping"]


class CallEnded(Exception):  # noqa: N818 - unwinds a call that is over; not an error
    """The call is over: hung up through the API, by the callee, by `<Hangup>`, after an
    application error, or because the sandbox stops."""

    def __init__(self, reason: EndReason) -> None:
        super().__init__(reason)
        self.reason: EndReason = reason


class Redirected(Exception):  # noqa: N818 - unwinds to new instructions; not an error
    """A REST update gave the live call new instructions."""

    def __init__(self, target: Instructions) -> None:
        super().__init__(target)
        self.target = target


@dataclass(frozen=True)
class Jump:
    """Where the call goes next: a document to fetch (with extra request fields) or run."""

    target: Instructions
    purpose: str
    params: Mapping[str, str] = field(default_factory=dict)


class LiveCall:
    """One call's flow-side helpers; used only by the thread that plays the call."""

    def __init__(self, rt: Runtime, call: Call) -> None:
        self.rt = rt
        self.call = call
        self.behaviour = call.behaviour
        self.hangs_up_at: float | None = None
        self.gathers = 0
        self.sequence = itertools.count()
        self.rng = random.Random(f"{rt.config.seed}:{call.sid}:callbacks")
        self._countries = {
            number: _country(number) for number in (call.options.to, call.options.from_)
        }

    def now(self) -> datetime:
        return self.rt.clock.now()

    def record(self, event: str, **detail: str) -> None:
        if not self.rt.config.keep_history:
            return
        with self.rt.store.lock:
            self.call.record(self.now(), event, **detail)

    def callee_answers(self) -> None:
        """From now on the callee may hang up on their own (`hangs_up_after_seconds`); the
        call's time limit ends it the same way."""
        after = self.behaviour.hangs_up_after_seconds
        limit = TIME_LIMIT_SECONDS if after is None else min(after, TIME_LIMIT_SECONDS)
        self.hangs_up_at = self.rt.clock.deadline(limit)

    def wait(
        self,
        seconds: float,
        *,
        until: Callable[[], bool] | None = None,
        abandon_at: float | None = None,
    ) -> Wake:
        """Wait `seconds` (simulated) unless something happens first; see `Wake`."""
        clock = self.rt.clock
        end = clock.deadline(seconds) if math.isfinite(seconds) else math.inf
        while True:
            self.call.wake.clear()
            wake = self._interruption(until)
            if wake is not None:
                return wake
            now = clock.real()
            if self.hangs_up_at is not None and now >= self.hangs_up_at:
                return Wake.CALLEE_HUNG_UP
            if abandon_at is not None and now >= abandon_at:
                return Wake.ABANDONED
            if now >= end:
                return Wake.ELAPSED
            limit = min(end, self.hangs_up_at or math.inf, abandon_at or math.inf)
            self.call.wake.wait(min(limit - now, WAIT_SLICE_SECONDS))

    def _interruption(self, until: Callable[[], bool] | None) -> Wake | None:
        if self.rt.stopping.is_set():
            return Wake.STOPPING
        with self.rt.store.lock:
            if self.call.is_final:
                return Wake.ENDED
            if self.call.redirect is not None:
                return Wake.REDIRECTED
        if until is not None and until():
            return Wake.CONDITION
        return None

    def pause(self, seconds: float) -> None:
        """Wait `seconds`, raising `CallEnded` or `Redirected` if the call is interrupted."""
        wake = self.wait(seconds)
        if wake is not Wake.ELAPSED:
            raise self.interruption(wake)

    def interruption(self, wake: Wake) -> CallEnded | Redirected:
        """The exception that unwinds the interpreter after `wake`."""
        if wake is Wake.REDIRECTED:
            return Redirected(self.take_redirect())
        if wake is Wake.ENDED:
            return CallEnded("api")
        if wake is Wake.STOPPING:
            return CallEnded("stopping")
        if wake in (Wake.CALLEE_HUNG_UP, Wake.ABANDONED):
            return CallEnded("callee")
        raise ValueError(f"{wake} does not interrupt a call")

    def take_redirect(self) -> Instructions:
        with self.rt.store.lock:
            target = self.call.redirect
            self.call.redirect = None
        if target is None:
            raise RuntimeError("no redirect pending")
        return target

    def params(self, **extra: str) -> dict[str, str]:
        """Twilio's standard request fields for this call, plus `extra`."""
        options = self.call.options
        to, from_ = options.to, options.from_
        with self.rt.store.lock:
            status = self.call.status
            answered_by = self.call.answered_by(self.rt.clock.real())
        fields = {
            "AccountSid": self.call.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": self.call.sid,
            "CallStatus": status.value,
            "Called": to,
            "CalledCountry": self._countries[to],
            "Caller": from_,
            "CallerCountry": self._countries[from_],
            "Direction": DIRECTION,
            "From": from_,
            "FromCountry": self._countries[from_],
            "To": to,
            "ToCountry": self._countries[to],
        }
        if answered_by is not None:
            fields["AnsweredBy"] = answered_by
        fields.update(extra)
        return fields

    def load(self, jump: Jump) -> tuple[Verb, ...]:
        """The verbs at `jump`: fetched from the app (signed) or given inline.

        An unreachable app, an error answer or a document that is not TwiML ends the call the
        way Twilio does, after its apology (errors 11200 and 12100).
        """
        target = jump.target
        if isinstance(target, InlineTwiml):
            return self._parse(target.text, "inline", jump)
        body, status = self.request(jump)
        if status is None or not 200 <= status < 300:
            logger.warning(
                "call %s: %s %s answered %s (error 11200)",
                self.call.sid,
                target.method,
                target.url,
                status or "nothing",
            )
            self.record("app-error", code="11200", url=target.url, status=str(status))
            return self._apologise()
        return self._parse(body, target.url, jump)

    def request(self, jump: Jump) -> tuple[bytes, int | None]:
        """Request `jump` from the app, recording it; (answer body, status or None)."""
        if isinstance(jump.target, InlineTwiml):
            raise ValueError("inline TwiML is not requested")
        hook = jump.target
        params = self.params(**jump.params)
        try:
            answer = self.rt.webhooks.send(hook, params)
            body, status = answer.body, answer.status
        except WebhookError:
            body, status = b"", None
        if self.rt.config.keep_history:
            text = body.decode("utf-8", errors="replace")
            record = FetchRecord(
                self.call.sid, self.now(), jump.purpose, hook.url, hook.method, params, status, text
            )
            with self.rt.store.lock:
                self.call.fetches.append(record)
        return body, status

    def _parse(self, text: str | bytes, url: str, jump: Jump) -> tuple[Verb, ...]:
        try:
            return parse(text, url)
        except TwimlError as exc:
            logger.warning(
                "call %s: unusable TwiML from %s (error 12100): %s", self.call.sid, url, exc
            )
            self.record("app-error", code="12100", purpose=jump.purpose, reason=str(exc))
            return self._apologise()

    def _apologise(self) -> tuple[Verb, ...]:
        self.pause(APP_ERROR_SECONDS)
        raise CallEnded("error")

    def in_progress(self) -> bool:
        with self.rt.store.lock:
            return self.call.status is Status.IN_PROGRESS


def _country(number: str) -> str:
    try:
        region: str | None = phonenumbers.region_code_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return ""
    return region or ""
