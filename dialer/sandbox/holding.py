"""The hold queue as a call lives it: `<Enqueue>` on the caller's side, `<Dial><Queue>` on the
side that takes a caller out.

An enqueued caller hears the `waitUrl` document, requested again each time it has played
through (with QueuePosition, QueueSid, QueueTime, AvgQueueTime, CurrentQueueSize and
MaxQueueSize), or hold music without one. They leave the queue when dequeued (bridged: they
talk for `talk_seconds`, then the Enqueue action gets QueueResult=bridged; a `<Dial><Queue url>`
first plays its document's Say, Play and Pause to them, fetched on their leg with
DequeingCallSid, QueueSid and QueueTime), when they run out of
patience or hang up (hangup), at `<Leave>` (leave), on a REST redirect (redirected) or when the
queue is full (queue-full). Without an action the call goes on after the `<Enqueue>`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

from dialer.sandbox.calls import Webhook
from dialer.sandbox.durations import describe, prompt_seconds
from dialer.sandbox.live import CallEnded, Jump, LiveCall, Redirected, Wake
from dialer.sandbox.queue import Bridge, HoldQueue, Member
from dialer.sandbox.twiml import (
    DialQueue,
    Enqueue,
    Gather,
    Hangup,
    Leave,
    Play,
    Redirect,
    Say,
    TwimlError,
    Verb,
    parse,
)
from dialer.sandbox.twiml import Pause as PauseVerb

#: A waitUrl document shorter than this is padded, so an empty one is not requested in a loop.
MIN_WAIT_CYCLE_SECONDS: Final = 5.0
HOLD_MUSIC: Final = (Play("https://com.twilio.music.classical.s3.amazonaws.com/", loop=0),)


@dataclass(frozen=True)
class _Exit:
    """How the caller left the queue, and what ends the call afterwards (if anything)."""

    result: str
    then: CallEnded | Redirected | None = None


def enqueue(live: LiveCall, verb: Enqueue) -> Jump | None:
    """Hold the caller in `verb.queue` until they leave it; then the action, if any."""
    clock = live.rt.clock
    queue = live.rt.queues.get(verb.queue)
    member = queue.join(live.call.sid, live.call.wake, clock.real(), clock.now())
    if member is None:
        live.record("queue-full", queue=queue.name)
        return _after(live, verb, _Exit("queue-full"), None, None)
    live.record("enqueued", queue=queue.name, position=str(queue.position(member)))
    patience = live.behaviour.queue_patience_seconds
    abandon_at = None if patience is None else clock.deadline(patience)
    exit_ = _Holding(live, verb, queue, member, abandon_at).hold()
    if exit_.result == "bridged" and member.bridge is not None:
        exit_ = _before_bridge(live, queue, member.bridge) or _talk(live, member.bridge)
    seconds = (
        member.bridge.queue_seconds
        if member.bridge is not None
        else (clock.now() - member.joined).total_seconds()
    )
    return _after(live, verb, exit_, queue, seconds)


class _Holding:
    """The caller's wait in one queue."""

    def __init__(
        self,
        live: LiveCall,
        verb: Enqueue,
        queue: HoldQueue,
        member: Member,
        abandon_at: float | None,
    ) -> None:
        self.live = live
        self.verb = verb
        self.queue = queue
        self.member = member
        self.abandon_at = abandon_at
        self.play_seconds = live.rt.config.play_seconds

    def hold(self) -> _Exit:
        wait_url = self.verb.wait_url
        while True:
            started = self.live.rt.clock.real()
            verbs = self._wait_document(wait_url)
            exit_or_redirect = self._play(verbs)
            if isinstance(exit_or_redirect, _Exit):
                return exit_or_redirect
            if isinstance(exit_or_redirect, Redirect):
                wait_url = exit_or_redirect.target
            played = self.live.rt.clock.simulated_seconds(self.live.rt.clock.real() - started)
            if played < MIN_WAIT_CYCLE_SECONDS:
                exit_ = self._wait(MIN_WAIT_CYCLE_SECONDS - played)
                if exit_ is not None:
                    return exit_

    def _wait_document(self, wait_url: Webhook | None) -> tuple[Verb, ...]:
        """The waitUrl document, or hold music without one or when the app fails."""
        if wait_url is None:
            return HOLD_MUSIC
        now = self.live.now()
        fields = {
            "QueueSid": self.queue.sid,
            "QueuePosition": str(self.queue.position(self.member)),
            "QueueTime": str(round((now - self.member.joined).total_seconds())),
            "AvgQueueTime": str(self.queue.average_wait_seconds(now)),
            "CurrentQueueSize": str(self.queue.size()),
            "MaxQueueSize": str(self.queue.max_size),
        }
        text, status = self.live.request(Jump(wait_url, "wait", fields))
        if status is None or not 200 <= status < 300:
            self.live.record("app-error", code="11200", url=wait_url.url, status=str(status))
            return HOLD_MUSIC
        try:
            return parse(text, wait_url.url)
        except TwimlError as exc:
            self.live.record("app-error", code="12100", purpose="wait", reason=str(exc))
            return HOLD_MUSIC

    def _play(self, verbs: tuple[Verb, ...]) -> _Exit | Redirect | None:
        for verb in verbs:
            if isinstance(verb, Say | Play | PauseVerb):
                event, detail = describe(verb)
                self.live.record(event, **detail)
                exit_ = self._wait(prompt_seconds(verb, self.play_seconds))
            elif isinstance(verb, Gather):
                exit_ = self._play_prompts(verb)
            elif isinstance(verb, Leave):
                exit_ = self._leave("leave")
            elif isinstance(verb, Hangup):
                exit_ = self._leave("hangup", CallEnded("hangup"))
            elif isinstance(verb, Redirect):
                return verb
            else:
                self.live.record("unsupported-verb-on-hold", verb=type(verb).__name__)
                exit_ = None
            if exit_ is not None:
                return exit_
        return None

    def _play_prompts(self, verb: Gather) -> _Exit | None:
        """A Gather on hold: its prompts play; nobody presses a key while waiting."""
        for prompt in verb.prompts:
            exit_ = self._wait(prompt_seconds(prompt, self.play_seconds))
            if exit_ is not None:
                return exit_
        return self._wait(verb.timeout_seconds)

    def _wait(self, seconds: float) -> _Exit | None:
        """Wait on hold; how the caller left the queue if they did meanwhile."""
        member = self.member
        wake = self.live.wait(
            seconds, until=lambda: member.bridge is not None, abandon_at=self.abandon_at
        )
        if wake is Wake.ELAPSED:
            return None
        if wake is Wake.CONDITION:
            return _Exit("bridged")
        if wake in (Wake.ABANDONED, Wake.CALLEE_HUNG_UP):
            return self._leave("hangup", CallEnded("callee"))
        if wake is Wake.ENDED:
            return self._leave("hangup", CallEnded("api"))
        if wake is Wake.STOPPING:
            self.queue.leave(member)
            raise CallEnded("stopping")
        return self._leave("redirected", self.live.interruption(wake))

    def _leave(self, result: str, then: CallEnded | Redirected | None = None) -> _Exit:
        if not self.queue.leave(self.member):
            return _Exit("bridged")
        self.live.record("left-queue", queue=self.queue.name, result=result)
        return _Exit(result, then)


def _before_bridge(live: LiveCall, queue: HoldQueue, bridge: Bridge) -> _Exit | None:
    """The `<Queue url>` document on the caller's leg, as Twilio plays it before connecting;
    an exit when the call ends meanwhile. A failing document is skipped: the bridge goes on."""
    if bridge.url is None:
        return None
    fields = {
        "QueueSid": queue.sid,
        "DequeingCallSid": bridge.dequeued_by,
        "QueueTime": str(round(bridge.queue_seconds)),
    }
    text, status = live.request(Jump(bridge.url, "queue-url", fields))
    if status is None or not 200 <= status < 300:
        live.record("app-error", code="11200", url=bridge.url.url, status=str(status))
        return None
    try:
        verbs = parse(text, bridge.url.url)
    except TwimlError as exc:
        live.record("app-error", code="12100", purpose="queue-url", reason=str(exc))
        return None
    for verb in verbs:
        if not isinstance(verb, Say | Play | PauseVerb):
            live.record("unsupported-verb-before-bridge", verb=type(verb).__name__)
            continue
        event, detail = describe(verb)
        live.record(event, **detail)
        seconds = prompt_seconds(verb, live.rt.config.play_seconds)
        wake = live.wait(seconds, until=bridge.ended.is_set)
        if wake is Wake.ELAPSED:
            continue
        bridge.end()
        if wake is Wake.CONDITION:
            return _Exit("bridged")
        if wake is Wake.STOPPING:
            raise CallEnded("stopping")
        return _Exit("bridged", live.interruption(wake))
    return None


def _talk(live: LiveCall, bridge: Bridge) -> _Exit:
    """The bridged conversation; ends when the operator side leaves or the caller hangs up."""
    live.record("bridged", by=bridge.dequeued_by)
    wake = live.wait(live.behaviour.talk_seconds, until=bridge.ended.is_set)
    bridge.end()
    live.record("bridge-ended")
    if wake in (Wake.ELAPSED, Wake.CONDITION):
        return _Exit("bridged")
    if wake is Wake.STOPPING:
        raise CallEnded("stopping")
    return _Exit("bridged", live.interruption(wake))


def _after(
    live: LiveCall,
    verb: Enqueue,
    exit_: _Exit,
    queue: HoldQueue | None,
    queue_seconds: float | None,
) -> Jump | None:
    """Tell the action how the caller left; follow it unless the call is over."""
    fields = {"QueueResult": exit_.result}
    if queue is not None and queue_seconds is not None:
        fields |= {"QueueSid": queue.sid, "QueueTime": str(round(queue_seconds))}
    if exit_.then is not None:
        if verb.action is not None:
            if isinstance(exit_.then, CallEnded):
                fields["CallStatus"] = "completed"
            live.request(Jump(verb.action, "enqueue-action", fields))
        raise exit_.then
    if verb.action is None:
        return None
    return Jump(verb.action, "enqueue-action", fields)


def dial_queue(live: LiveCall, verb: DialQueue) -> Jump | None:
    """Take the front caller of `verb.queue` (waiting up to the Dial's timeout) and talk
    until the caller's side ends; then the Dial's action, if any."""
    clock = live.rt.clock
    queue = live.rt.queues.get(verb.queue)
    live.rt.queues.listen(live.call.wake)
    try:
        bridge = _take(live, queue, clock.deadline(verb.timeout_seconds), verb.url)
    finally:
        live.rt.queues.unlisten(live.call.wake)
    if bridge is None:
        live.record("dial-queue-empty", queue=queue.name)
        fields = {"DialCallStatus": "no-answer", "DialCallDuration": "0"}
    else:
        live.record("dequeued", queue=queue.name, caller=bridge.caller_sid)
        wake = live.wait(math.inf, until=bridge.ended.is_set)
        if wake is not Wake.CONDITION:
            bridge.end()
            raise live.interruption(wake)
        seconds = (clock.now() - bridge.started).total_seconds()
        fields = {
            "DialCallStatus": "completed",
            "DialCallSid": bridge.caller_sid,
            "DialCallDuration": str(round(seconds)),
        }
    fields["QueueSid"] = queue.sid
    return None if verb.action is None else Jump(verb.action, "dial-action", fields)


def _take(live: LiveCall, queue: HoldQueue, deadline: float, url: Webhook | None) -> Bridge | None:
    clock = live.rt.clock
    while True:
        bridge = queue.take_front(live.call.sid, clock.now(), clock.real(), live.call.wake, url)
        if bridge is not None:
            return bridge
        remaining = clock.simulated_seconds(deadline - clock.real())
        if remaining <= 0:
            return None
        wake = live.wait(remaining, until=lambda: queue.size() > 0)
        if wake is Wake.ELAPSED:
            return None
        if wake is not Wake.CONDITION:
            raise live.interruption(wake)
