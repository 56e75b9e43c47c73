"""Reading campaigns.yaml: file-level failures, line numbers, and the YAML 1.1 surprises."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.campaigns import ConfigError, Problem, load_config, parse_config
from dialer.campaigns.source import read_source

VALID = """\
company:
  name: 株式会社みどり通販
  caller_id: "+81312345678"
operators:
  - {id: sato, name: 佐藤, phone: "+81311112222", queues: [f2]}
campaigns:
  - id: f2
    name: 2回目購入のご案内
    purpose: 2回目のご案内
    kind: solicitation
    segment: {orders_count: 1}
    windows:
      mon-fri: ["10:00-12:00"]
    ivr:
      greeting: "{company}でございます。{purpose}のお電話です。"
      menu:
        "1": {action: agent}
        "9": {action: opt_out}
"""


def problems_of(data: bytes | str) -> list[Problem]:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "campaigns.yaml")
    return caught.value.problems


def only_problem(data: bytes | str) -> Problem:
    problems = problems_of(data)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def load_problems(path: Path) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def test_missing_file_is_one_problem_without_line(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert [str(problem) for problem in load_problems(path)] == [f"{path}: file not found"]


def test_directory_is_one_problem(tmp_path: Path) -> None:
    problems = load_problems(tmp_path)
    assert len(problems) == 1
    assert problems[0].line is None
    assert "is a directory" in problems[0].message


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file_is_one_problem(text: str) -> None:
    assert "the file is empty" in only_problem(text).message


@pytest.mark.parametrize(
    ("text", "kind"), [("- a\n- b\n", "not a list"), ("just words\n", "not a single value")]
)
def test_top_level_that_is_not_a_mapping_is_one_problem(text: str, kind: str) -> None:
    problem = only_problem(text)
    assert (problem.line, kind in problem.message) == (1, True)


def test_syntax_error_names_its_line() -> None:
    problem = only_problem("company:\n  name: x\n  a: b: c\n")
    assert (problem.line, problem.message) == (
        3,
        "YAML syntax error: mapping values are not allowed here",
    )


def test_unclosed_list_at_end_of_file_points_where_it_began() -> None:
    problem = only_problem("company:\n  name: [x\n")
    assert problem.line == 2
    assert "while parsing a flow sequence" in problem.message


def test_tab_indentation_says_to_use_spaces() -> None:
    problem = only_problem("company:\n\tname: x\n")
    assert (problem.line, problem.message.endswith("indent with spaces, not tabs")) == (2, True)


def test_non_utf8_names_the_line_of_the_bad_byte() -> None:
    data = "company:\n  name: x\n  caller_id: 株式会社\n".encode("shift_jis")
    problem = only_problem(data)
    assert problem.line == 3
    assert "not UTF-8" in problem.message
    assert "Shift_JIS" in problem.message


def test_utf8_byte_order_mark_is_accepted() -> None:
    config = parse_config(b"\xef\xbb\xbf" + VALID.encode(), "campaigns.yaml")
    assert config.company.name == "株式会社みどり通販"


def test_control_character_is_one_problem() -> None:
    problem = only_problem("company:\n  name: a\x07b\n")
    assert (problem.line, "#x0007" in problem.message) == (2, True)


def test_problem_prints_path_line_and_message() -> None:
    assert str(Problem("c.yaml", 7, "bad")) == "c.yaml:7: bad"
    assert str(Problem("c.yaml", None, "file not found")) == "c.yaml: file not found"


def test_duplicate_key_is_reported_with_both_lines() -> None:
    problem = only_problem(VALID.replace("  caller_id:", "  name: 別名\n  caller_id:"))
    assert problem.line == 3
    assert "duplicate key 'name' (first at line 2)" in problem.message


def test_duplicate_section_is_reported() -> None:
    problem = only_problem(VALID + 'company:\n  name: 別会社\n  caller_id: "+81312345678"\n')
    assert (problem.line, "duplicate key 'company' (first at line 1)" in problem.message) == (
        19,
        True,
    )


def test_unquoted_time_is_read_as_base_60_and_reported() -> None:
    problem = only_problem(VALID.replace('["10:00-12:00"]', "10:00"))
    assert problem.line == 13
    assert 'YAML reads the unquoted 10:00 as a number in base 60; put it in quotes: "10:00"' in (
        problem.message
    )


def test_star_key_unquoted_says_to_quote_it() -> None:
    problem = only_problem(VALID.replace('"9": {action: opt_out}', "*: {action: opt_out}"))
    assert problem.line == 18
    assert 'a * menu key must be quoted: "*"' in problem.message


def test_hash_key_unquoted_is_a_comment_and_reported() -> None:
    text = VALID.replace(
        '"1": {action: agent}', '"1": {action: agent}\n        #: {action: repeat}'
    )
    problem = only_problem(text)
    assert (problem.line, 'quote the key: "#"' in problem.message) == (18, True)


def test_quoted_star_and_hash_keys_are_menu_keys() -> None:
    text = VALID.replace(
        '"1": {action: agent}',
        '"1": {action: agent}\n        "*": {action: repeat}\n        "#": {action: hangup}',
    )
    menu = parse_config(text.encode(), "campaigns.yaml").campaigns[0].ivr.menu
    assert list(menu) == ["1", "*", "#", "9"]


def test_merge_keys_share_windows() -> None:
    text = VALID.replace(
        '      mon-fri: ["10:00-12:00"]\n',
        '      <<: &weekdays {mon-fri: ["10:00-12:00"]}\n      sat: ["10:00-12:00"]\n',
    )
    campaign = parse_config(text.encode(), "campaigns.yaml").campaigns[0]
    assert set(campaign.windows) == {"mon-fri", "sat"}


def test_source_records_the_line_of_keys_and_items() -> None:
    source = read_source(VALID.encode())
    assert source.lines[("company", "caller_id")] == 3
    assert source.lines[("operators", 0)] == 5
    assert source.lines[("campaigns", 0, "ivr", "menu", "9")] == 18
    assert source.line_of(("campaigns", 0, "dates", "to")) == 7


def test_problems_are_sorted_by_line() -> None:
    text = VALID.replace("kind: solicitation", "kind: x").replace('"+81312345678"', '"1"')
    assert [problem.line for problem in problems_of(text)] == [3, 10]
