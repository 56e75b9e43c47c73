"""Whatever a file holds, checking it ends in a `Config` or a `ConfigError`, never a traceback."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.campaigns import ConfigError, parse_config

BASE: dict[str, Any] = yaml.safe_load(
    """\
company: {name: 株式会社みどり通販, caller_id: "+81312345678"}
policy: {hours: "09:00-20:00", blackouts: [{from: "12-29", to: "01-03", name: 年末年始}]}
operators:
  - {id: sato, name: 佐藤, phone: "+81311112222", queues: [f2]}
campaigns:
  - id: f2
    name: 2回目購入のご案内
    purpose: 2回目のご案内
    kind: solicitation
    segment: {all: [{orders_count: 1}, {first_order_days_ago: {between: [14, 45]}}]}
    windows: {mon-fri: ["10:00-12:00"]}
    retry: {busy: 30m}
    pacing: {mode: ivr-then-agent, cps: 1}
    ivr:
      greeting: "{company}でございます。{purpose}のお電話です。"
      menu: {"1": {action: agent}, "9": {action: opt_out}}
      hold: {music: "https://example.com/a.mp3"}
"""
)

PATHS: list[tuple[str | int, ...]] = [
    ("company",),
    ("company", "name"),
    ("policy",),
    ("policy", "hours"),
    ("policy", "blackouts", 0),
    ("rfm",),
    ("operators", 0),
    ("operators", 0, "queues"),
    ("campaigns", 0),
    ("campaigns", 0, "id"),
    ("campaigns", 0, "segment"),
    ("campaigns", 0, "segment", "all", 1),
    ("campaigns", 0, "segment", "all", 1, "first_order_days_ago"),
    ("campaigns", 0, "windows"),
    ("campaigns", 0, "windows", "mon-fri"),
    ("campaigns", 0, "dates"),
    ("campaigns", 0, "retry"),
    ("campaigns", 0, "pacing"),
    ("campaigns", 0, "ivr"),
    ("campaigns", 0, "ivr", "menu"),
    ("campaigns", 0, "ivr", "machine"),
    ("campaigns", 0, "script"),
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-5, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.dates()
    | st.sampled_from(["10:00-12:00", "mon-fri", "30m", "never", "+81312345678", "hangup"])
)
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.text(max_size=8) | st.sampled_from(["say", "all", "in"]), children, max_size=3
        )
    ),
    max_leaves=8,
)


def replaced(path: tuple[str | int, ...], value: Any) -> str:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    target = data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return yaml.safe_dump(data, allow_unicode=True)


def check(data: bytes) -> None:
    try:
        parse_config(data, "campaigns.yaml")
    except ConfigError as error:
        assert error.problems
        assert all(problem.message for problem in error.problems)


def test_base_is_valid() -> None:
    parse_config(replaced(("campaigns", 0, "priority"), 50).encode(), "campaigns.yaml")


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(PATHS), values)
def test_any_value_anywhere_gives_problems_not_a_traceback(
    path: tuple[str | int, ...], value: Any
) -> None:
    check(replaced(path, value).encode())


@settings(deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_give_problems_not_a_traceback(data: bytes) -> None:
    check(data)


@settings(deadline=None)
@given(st.text(alphabet="abc:-[]{}*&!|>#'\"\n\t 01", max_size=80))
def test_any_yaml_like_text_gives_problems_not_a_traceback(text: str) -> None:
    check(text.encode())
