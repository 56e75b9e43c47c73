"""campaigns.yaml's `ivr.survey`: a small valid file, then one mistake at a time with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.campaigns import Config, ConfigError, Problem, load_config

BASE = """\
company:
  name: 株式会社みどり通販
  caller_id: "+81312345678"
campaigns:
  - id: satisfaction
    name: 定期便 満足度調査
    purpose: 定期お届け便のご満足度のお伺い
    kind: service
    segment: {orders_count: {gte: 3}}
    windows: {mon-fri: ["10:00-12:00"]}
    pacing: {mode: agentless}
    ivr:
      greeting: "{company}でございます。{purpose}のお電話です。"
      menu:
        "9": {action: opt_out}
      survey:
        question: 満足度を1から5の番号でお答えください。
        scale: [1, 5]
        thanks: ありがとうございました。
"""
# BASE lines: 12 ivr, 13 greeting, 14 menu, 15 key 9, 16 survey, 17 question, 18 scale, 19 thanks


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "campaigns.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def only_problem(tmp_path: Path, text: str) -> Problem:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    problems = caught.value.problems
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def test_the_base_survey_is_valid_with_its_defaults(tmp_path: Path) -> None:
    survey = load(tmp_path, BASE).campaign("satisfaction").ivr.survey
    assert survey is not None
    assert survey.scale == (1, 5)
    bare = load(
        tmp_path, edit("        scale: [1, 5]\n        thanks: ありがとうございました。\n", "")
    )
    default = bare.campaign("satisfaction").ivr.survey
    assert default is not None
    assert (default.scale, default.thanks.startswith("ご回答いただき")) == ((1, 5), True)


CASES = [
    ("scale-reversed", "scale: [1, 5]", "scale: [5, 1]", 18, "must come before the highest"),
    ("scale-not-a-key", "scale: [1, 5]", "scale: [1, 10]", 18, "each a key from 0 to 9"),
    ("scale-one-number", "scale: [1, 5]", "scale: 5", 18, "expected [lowest, highest]"),
    ("scale-text", "scale: [1, 5]", 'scale: ["1", "5"]', 18, "each a key from 0 to 9"),
    (
        "no-question",
        "        question: 満足度を1から5の番号でお答えください。\n",
        "",
        16,
        "'question'",
    ),
    ("unknown-key", "scale: [1, 5]", "scales: [1, 5]", 18, "did you mean 'scale'"),
    (
        "bad-placeholder",
        "thanks: ありがとうございました。",
        'thanks: "{name}様、ありがとうございました。"',
        19,
        "unknown placeholder {name}",
    ),
    (
        "menu-key-on-the-scale",
        '"9": {action: opt_out}',
        '"9": {action: opt_out}\n        "3": {action: repeat}',
        16,
        "keys 1-5 are its answers",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "line", "fragment"),
    [case[1:] for case in CASES],
    ids=[str(case[0]) for case in CASES],
)
def test_a_survey_mistake_is_reported_on_its_line(
    tmp_path: Path, old: str, new: str, line: int, fragment: str
) -> None:
    problem = only_problem(tmp_path, edit(old, new))
    assert (problem.line, fragment in problem.message) == (line, True), str(problem)


def test_a_menu_key_on_the_scale_is_reported_on_the_keys_line(tmp_path: Path) -> None:
    text = edit('"9": {action: opt_out}', '"9": {action: opt_out}\n        "3": {action: repeat}')
    problem = only_problem(tmp_path, text)
    assert problem.line == 16
    assert "campaigns[0].ivr.menu" in problem.message


def test_a_survey_key_needs_the_survey_section(tmp_path: Path) -> None:
    text = BASE[: BASE.index("      survey:")].replace(
        '"9": {action: opt_out}', '"9": {action: opt_out}\n        "1": {action: survey}'
    )
    problem = only_problem(tmp_path, text)
    assert problem.line == 16
    assert "action survey needs the question" in problem.message


def test_a_survey_key_moves_the_question_off_the_greeting(tmp_path: Path) -> None:
    text = edit('"9": {action: opt_out}', '"9": {action: opt_out}\n        "1": {action: survey}')
    ivr = load(tmp_path, text).campaign("satisfaction").ivr
    assert not ivr.asks_survey_first
    assert load(tmp_path, BASE).campaign("satisfaction").ivr.asks_survey_first


def test_purpose_placeholder_in_the_question_needs_a_purpose(tmp_path: Path) -> None:
    text = (
        edit("    purpose: 定期お届け便のご満足度のお伺い\n", "")
        .replace("{purpose}のお電話です。", "お電話です。")
        .replace(
            "question: 満足度を1から5の番号でお答えください。",
            'question: "{purpose}の満足度を1から5の番号でお答えください。"',
        )
    )
    problem = only_problem(tmp_path, text)
    assert (problem.line, "has no purpose" in problem.message) == (16, True), str(problem)
