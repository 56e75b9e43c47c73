"""The simulated callees: scripts, suffix rules, seeded draws and what AMD makes of them."""

from __future__ import annotations

from collections import Counter

import pytest

from dialer.sandbox import Behaviour, CalleeModel
from dialer.sandbox.callee import amd_verdict

NUMBERS = [f"+8190{n:08d}" for n in range(40)]


def test_a_scripted_number_behaves_exactly_as_scripted() -> None:
    script = Behaviour(outcome="busy", ring_seconds=1.5)
    model = CalleeModel(rules={"0001": "human"}, scripted={"+819000000001": script})

    assert model.behaviour(seed=1, to="+819000000001") is script


def test_the_longest_matching_suffix_rule_decides_the_outcome() -> None:
    model = CalleeModel(rules={"1": "busy", "01": "machine", "9": "failed"})

    assert model.behaviour(1, "+819000000001").outcome == "machine"
    assert model.behaviour(1, "+819000000011").outcome == "busy"
    assert model.behaviour(1, "+819000000009").outcome == "failed"


def test_a_rule_changes_the_outcome_and_nothing_else() -> None:
    plain = CalleeModel().behaviour(5, "+819012345678")
    ruled = CalleeModel(rules={"678": "human"}).behaviour(5, "+819012345678")

    assert (ruled.talk_seconds, ruled.digits) == (plain.talk_seconds, plain.digits)


def test_the_same_seed_number_and_ordinal_draw_the_same_callee() -> None:
    model = CalleeModel()

    assert [model.behaviour(3, to) for to in NUMBERS] == [model.behaviour(3, to) for to in NUMBERS]
    assert [model.behaviour(3, to) for to in NUMBERS] != [model.behaviour(4, to) for to in NUMBERS]
    assert [model.behaviour(3, to, 0) for to in NUMBERS] != [
        model.behaviour(3, to, 1) for to in NUMBERS
    ]


def test_draws_follow_the_outcome_weights() -> None:
    model = CalleeModel(outcomes={"human": 3, "busy": 1})

    counts = Counter(model.behaviour(0, "+819011112222", n).outcome for n in range(2000))

    assert set(counts) == {"human", "busy"}
    assert 0.70 < counts["human"] / 2000 < 0.80


def test_drawn_callees_are_consistent_with_their_outcome() -> None:
    model = CalleeModel()
    callees = [model.behaviour(0, "+819011112222", n) for n in range(500)]

    for callee in callees:
        if callee.outcome == "no-answer":
            assert not callee.answers
        if callee.outcome == "machine":
            assert callee.hangs_up_after_seconds is not None
            assert callee.hangs_up_after_seconds > callee.greeting_seconds
        if callee.outcome != "human":
            assert callee.digits_at(0) is None
    assert any(c.queue_patience_seconds is not None for c in callees)
    assert any(c.digits_at(0) is None for c in callees if c.outcome == "human")


def test_keys_run_out_after_the_scripted_gathers() -> None:
    callee = Behaviour(digits=("1", None, "9"))

    assert [callee.digits_at(n) for n in range(4)] == ["1", None, "9", None]


@pytest.mark.parametrize(
    ("callee", "mode", "expected"),
    [
        (Behaviour(detection_seconds=2), "Enable", ("human", 2)),
        (Behaviour(outcome="fax", detection_seconds=3), "Enable", ("fax", 3)),
        (Behaviour(outcome="machine", detection_seconds=3), "Enable", ("machine_start", 3)),
        (
            Behaviour(outcome="machine", greeting_seconds=10, machine_end="machine_end_other"),
            "DetectMessageEnd",
            ("machine_end_other", 10.5),
        ),
        (Behaviour(outcome="machine", greeting_seconds=40), "DetectMessageEnd", ("unknown", 30)),
        (Behaviour(detection_seconds=3, hangs_up_after_seconds=1), "Enable", ("unknown", 1)),
    ],
    ids=["human", "fax", "machine-start", "message-end", "timed-out", "hung-up-first"],
)
def test_amd_reports_what_it_can_tell_and_when(
    callee: Behaviour, mode: str, expected: tuple[str, float]
) -> None:
    assert amd_verdict(callee, mode, 30) == expected  # type: ignore[arg-type]
