"""Follows TwiML on an answered call, as the callee experiences it.

Prompts take simulated time; at a `<Gather>` a person enters the keys their behaviour says,
`key_delay_seconds` after the prompts end (a machine or fax never does), and the digits are
posted to the Gather's action; with no input the call goes on after the Gather, as on Twilio.
`<Redirect>`, an action's answer or a REST redirect move the call to a new document. The end of
a document ends the call, as does `<Hangup>`. Queue verbs are played by `holding`.
"""

from __future__ import annotations

from dialer.sandbox.durations import describe, prompt_seconds
from dialer.sandbox.holding import dial_queue, enqueue
from dialer.sandbox.live import CallEnded, Jump, LiveCall, Redirected
from dialer.sandbox.twiml import (
    DialQueue,
    Enqueue,
    Gather,
    Hangup,
    Leave,
    Prompt,
    Redirect,
    Unsupported,
    Verb,
)


class Interpreter:
    """Plays documents on one live call until it ends."""

    def __init__(self, live: LiveCall) -> None:
        self.live = live
        self.play_seconds = live.rt.config.play_seconds

    def run(self, first: Jump) -> None:
        """Fetch and follow documents from `first` on; returns when the document runs out.

        Raises `CallEnded` when the call ends some other way.
        """
        jump: Jump | None = first
        while jump is not None:
            try:
                jump = self.follow(self.live.load(jump))
            except Redirected as redirected:
                self.live.record("redirected")
                jump = Jump(redirected.target, "redirect")

    def follow(self, verbs: tuple[Verb, ...]) -> Jump | None:
        """Play `verbs` in order; the next document to go to, if a verb says so."""
        for verb in verbs:
            jump = self.play(verb)
            if jump is not None:
                return jump
        return None

    def play(self, verb: Verb) -> Jump | None:
        if isinstance(verb, Gather):
            return self.gather(verb)
        if isinstance(verb, Enqueue):
            return enqueue(self.live, verb)
        if isinstance(verb, DialQueue):
            return dial_queue(self.live, verb)
        if isinstance(verb, Redirect):
            return Jump(verb.target, "redirect")
        if isinstance(verb, Hangup):
            self.live.record("hangup-verb")
            raise CallEnded("hangup")
        if isinstance(verb, Leave):
            self.live.record("leave-outside-queue")
            return None
        if isinstance(verb, Unsupported):
            self.live.record("unsupported-verb", verb=verb.name)
            return None
        self.prompt(verb)
        return None

    def prompt(self, prompt: Prompt) -> None:
        event, detail = describe(prompt)
        self.live.record(event, **detail)
        self.live.pause(prompt_seconds(prompt, self.play_seconds))

    def gather(self, verb: Gather) -> Jump | None:
        live = self.live
        for prompt in verb.prompts:
            self.prompt(prompt)
        index, live.gathers = live.gathers, live.gathers + 1
        keys = live.behaviour.digits_at(index)
        delay = live.behaviour.key_delay_seconds
        if keys is None or delay > verb.timeout_seconds:
            live.pause(verb.timeout_seconds)
            live.record("gather-no-input")
            if verb.action_on_empty_result:
                return Jump(verb.action, "gather", {"Digits": "", "FinishedOnKey": ""})
            return None
        live.pause(delay)
        digits, finished_on = _entered(keys, verb)
        live.record("digits", digits=digits)
        fields = {"Digits": digits, "FinishedOnKey": finished_on, "msg": "Gather End"}
        return Jump(verb.action, "gather", fields)


def _entered(keys: str, verb: Gather) -> tuple[str, str]:
    """What Twilio reports of `keys`: up to `numDigits`, or up to the finish key (dropped)."""
    finish = verb.finish_on_key
    if finish and finish in keys:
        before = keys.split(finish, 1)[0]
        if verb.num_digits is None or len(before) < verb.num_digits:
            return before, finish
    if verb.num_digits is not None:
        return keys[: verb.num_digits], ""
    return keys, ""
