"""Who picks up: each call's simulated callee, drawn from a seeded distribution.

A `Behaviour` says everything the callee of one call will do: whether anyone answers and after
how long, which keys a person presses at each `<Gather>`, how long they stay on hold, how long
they talk to the operator. It is decided when the call is created, from

1. `CalleeModel.scripted[to]`, an exact `Behaviour` for a number (for tests);
2. else `CalleeModel.rules`, an outcome for numbers ending in given digits (the longest
   matching suffix wins; the rest of the behaviour is drawn as below);
3. else a draw from the model's distribution.

Draws use a generator seeded with (seed, To number, how many calls to that number came before),
so the same seed and the same sequence of calls give the same callees, and a number called again
(a retry) may behave differently the second time. All durations are simulated seconds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal, TypeVar

Outcome = Literal["human", "busy", "no-answer", "machine", "fax", "failed"]
MachineEnd = Literal["machine_end_beep", "machine_end_silence", "machine_end_other"]
AmdMode = Literal["Enable", "DetectMessageEnd"]

T = TypeVar("T")

NEVER: Final = math.inf


@dataclass(frozen=True)
class Behaviour:
    """What the callee of one call does.

    - `ring_seconds`: from the start of ringing until the callee answers (human, machine, fax),
      the busy tone (busy) or the network failure (failed). `no-answer` never answers; any
      answer later than the call's `Timeout` is a no-answer too.
    - `digits`: the keys entered at each successive `<Gather>` (`None`: nothing pressed), each
      entry `key_delay_seconds` after the Gather's prompts end. Beyond the tuple, nothing.
    - `queue_patience_seconds`: hangs up after this long in a hold queue (None: waits for ever).
    - `hangs_up_after_seconds`: hangs up this long after answering, wherever the call is (a
      machine's recording limit; a person who gives up). None: stays until the call ends.
    - `talk_seconds`: the conversation with the operator once bridged.
    - `detection_seconds`: how long answering machine detection needs to recognise a person, a
      fax, or (with `Enable`) a machine; `greeting_seconds`: a machine's greeting before its
      beep, which `DetectMessageEnd` waits for, ending as `machine_end`.
    - `error_code`, `sip_response_code`: how a `failed` call fails.
    """

    outcome: Outcome = "human"
    ring_seconds: float = 5.0
    digits: tuple[str | None, ...] = ()
    key_delay_seconds: float = 2.0
    queue_patience_seconds: float | None = None
    hangs_up_after_seconds: float | None = None
    talk_seconds: float = 60.0
    detection_seconds: float = 2.5
    greeting_seconds: float = 8.0
    machine_end: MachineEnd = "machine_end_beep"
    error_code: int = 13224
    sip_response_code: int = 404

    @property
    def answers(self) -> bool:
        """Whether anyone or anything picks up, given enough time."""
        return self.outcome in ("human", "machine", "fax")

    @property
    def presses_keys(self) -> bool:
        return self.outcome == "human"

    def digits_at(self, gather_index: int) -> str | None:
        """The keys entered at the `gather_index`-th Gather (from 0), if any."""
        if not self.presses_keys or gather_index >= len(self.digits):
            return None
        return self.digits[gather_index]


def amd_verdict(behaviour: Behaviour, mode: AmdMode, timeout_seconds: float) -> tuple[str, float]:
    """What answering machine detection reports (`AnsweredBy`) and after how many seconds.

    `Enable` answers as soon as it knows (`machine_start` for a machine); `DetectMessageEnd`
    waits for the end of a machine's greeting. Past `timeout_seconds`, or when the callee hangs
    up first, the answer is `unknown`.
    """
    answered_by: str
    if behaviour.outcome == "machine":
        if mode == "DetectMessageEnd":
            answered_by, seconds = behaviour.machine_end, behaviour.greeting_seconds + 0.5
        else:
            answered_by, seconds = "machine_start", behaviour.detection_seconds
    elif behaviour.outcome == "fax":
        answered_by, seconds = "fax", behaviour.detection_seconds
    else:
        answered_by, seconds = "human", behaviour.detection_seconds
    hangup = behaviour.hangs_up_after_seconds
    if hangup is not None and hangup < min(seconds, timeout_seconds):
        return "unknown", hangup
    if seconds > timeout_seconds:
        return "unknown", timeout_seconds
    return answered_by, seconds


Range = tuple[float, float]


def _default_outcomes() -> dict[Outcome, float]:
    return {
        "human": 0.55,
        "no-answer": 0.18,
        "machine": 0.14,
        "busy": 0.07,
        "failed": 0.04,
        "fax": 0.02,
    }


def _default_keys() -> dict[str, float]:
    return {"1": 0.55, "2": 0.2, "3": 0.05, "9": 0.1, "5": 0.1}


def _default_machine_ends() -> dict[MachineEnd, float]:
    return {"machine_end_beep": 0.75, "machine_end_silence": 0.15, "machine_end_other": 0.1}


def _default_failures() -> dict[int, int]:
    return {13224: 404, 31000: 500}


@dataclass(frozen=True)
class CalleeModel:
    """The distribution callees are drawn from, plus rules and scripts that override it.

    Weights need not sum to 1. Ranges are uniform (low, high) in simulated seconds. The defaults
    sketch a Japanese outbound campaign to existing customers: about half answer in person.
    """

    outcomes: Mapping[Outcome, float] = field(default_factory=_default_outcomes)
    human_ring: Range = (3.0, 18.0)
    machine_ring: Range = (15.0, 25.0)
    fax_ring: Range = (2.0, 6.0)
    busy_ring: Range = (1.0, 4.0)
    failure_delay: Range = (0.5, 3.0)
    keys: Mapping[str, float] = field(default_factory=_default_keys)
    no_input_probability: float = 0.15
    key_delay: Range = (1.0, 4.0)
    abandon_probability: float = 0.3
    queue_patience: Range = (20.0, 150.0)
    early_hangup_probability: float = 0.05
    early_hangup: Range = (3.0, 20.0)
    talk: Range = (60.0, 240.0)
    detection: Range = (1.5, 3.5)
    machine_greeting: Range = (5.0, 15.0)
    machine_recording: Range = (30.0, 90.0)
    machine_ends: Mapping[MachineEnd, float] = field(default_factory=_default_machine_ends)
    failures: Mapping[int, int] = field(default_factory=_default_failures)
    rules: Mapping[str, Outcome] = field(default_factory=dict)
    scripted: Mapping[str, Behaviour] = field(default_factory=dict)

    def behaviour(self, seed: int, to: str, ordinal: int = 0) -> Behaviour:
        """The callee of the `ordinal`-th call (from 0) to `to` under `seed`."""
        scripted = self.scripted.get(to)
        if scripted is not None:
            return scripted
        rng = random.Random(f"{seed}:{to}:{ordinal}")
        drawn = _weighted(rng, self.outcomes)  # drawn even under a rule: the rest stays the same
        rule = self.rule_for(to)
        return self._draw(rng, drawn if rule is None else rule)

    def rule_for(self, to: str) -> Outcome | None:
        """The outcome of the longest rule suffix that `to` ends with."""
        matching = [suffix for suffix in self.rules if to.endswith(suffix)]
        return self.rules[max(matching, key=len)] if matching else None

    def _draw(self, rng: random.Random, outcome: Outcome) -> Behaviour:
        # Every value is drawn whatever the outcome, so that an outcome rule changes nothing else.
        rings: dict[Outcome, Range] = {
            "human": self.human_ring,
            "machine": self.machine_ring,
            "fax": self.fax_ring,
            "busy": self.busy_ring,
            "failed": self.failure_delay,
        }
        ring = _uniform(rng, rings[outcome]) if outcome in rings else NEVER
        digits = tuple(
            None if rng.random() < self.no_input_probability else _weighted(rng, self.keys)
            for _ in range(6)
        )
        key_delay = _uniform(rng, self.key_delay)
        patient = rng.random() >= self.abandon_probability
        patience = _uniform(rng, self.queue_patience)
        early = rng.random() < self.early_hangup_probability
        early_after = _uniform(rng, self.early_hangup)
        talk = _uniform(rng, self.talk)
        detection = _uniform(rng, self.detection)
        greeting = _uniform(rng, self.machine_greeting)
        recording = _uniform(rng, self.machine_recording)
        machine_end = _weighted(rng, self.machine_ends)
        error_code, sip_code = rng.choice(sorted(self.failures.items()) or [(13224, 404)])
        hangs_up_after: float | None = None
        if outcome == "machine":
            hangs_up_after = greeting + recording
        elif outcome == "fax":
            hangs_up_after = detection + recording / 4
        elif early:
            hangs_up_after = early_after
        return Behaviour(
            outcome=outcome,
            ring_seconds=ring,
            digits=digits,
            key_delay_seconds=key_delay,
            queue_patience_seconds=None if patient else patience,
            hangs_up_after_seconds=hangs_up_after,
            talk_seconds=talk,
            detection_seconds=detection,
            greeting_seconds=greeting,
            machine_end=machine_end,
            error_code=error_code,
            sip_response_code=sip_code,
        )


def operator_behaviour(*, busy: bool) -> Behaviour:
    """An operator's phone: picks up at once unless on another call, never presses a key."""
    return Behaviour(outcome="busy" if busy else "human", ring_seconds=2.0)


def _uniform(rng: random.Random, bounds: Range) -> float:
    low, high = bounds
    return rng.uniform(low, high)


def _weighted(rng: random.Random, weights: Mapping[T, float]) -> T:
    choices: Sequence[T] = list(weights)
    if not choices or sum(weights.values()) <= 0:
        raise ValueError("a weighted choice needs at least one positive weight")
    return rng.choices(choices, weights=[weights[choice] for choice in choices])[0]
