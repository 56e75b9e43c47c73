"""Every validation rule of campaigns.yaml: a small file that breaks it, the line, the message.

Each case edits one spot of a minimal valid file (`BASE`, line numbers in the comments) and
expects exactly one problem, on the line of the offending key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dialer.campaigns import Config, ConfigError, Problem, load_config

BASE = """\
company:
  name: 株式会社みどり通販
  caller_id: "+81312345678"
policy:
  hours: "09:00-20:00"
  account_cps: 2
  max_concurrent_calls: 10
operators:
  - {id: sato, name: 佐藤, phone: "+81311112222", queues: [f2]}
campaigns:
  - id: f2
    name: 2回目購入のご案内
    purpose: 2回目のご案内
    kind: solicitation
    segment:
      orders_count: 1
    windows:
      mon-fri: ["10:00-12:00"]
    pacing: {mode: ivr-then-agent, cps: 1, max_concurrent: 5}
    ivr:
      greeting: "{company}でございます。{purpose}のお電話です。"
      menu:
        "1": {action: agent}
        "9": {action: opt_out}
"""
# BASE lines: 1 company, 3 caller_id, 5 hours, 6 account_cps, 9 operator, 11 campaign id,
# 14 kind, 16 segment field, 18 mon-fri window, 19 pacing, 21 greeting, 22 menu, 23-24 keys.

CAMPAIGN_COPY = BASE[BASE.index("  - id: f2") :]


def edit(old: str, new: str) -> str:
    assert old in BASE, old
    return BASE.replace(old, new, 1)


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "campaigns.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def problems_of(tmp_path: Path, text: str) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return caught.value.problems


def only_problem(tmp_path: Path, text: str) -> Problem:
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def test_base_file_is_valid(tmp_path: Path) -> None:
    config = load(tmp_path, BASE)
    assert [campaign.id for campaign in config.campaigns] == ["f2"]


CASES = [
    # --- keys and types
    (
        "unknown-key",
        "    windows:\n",
        "    windws: {}\n    windows:\n",
        17,
        "unknown key 'windws' (did you mean 'windows'?)",
    ),
    ("unknown-section", "policy:\n", "polcy:\n", 4, "unknown key 'polcy' (did you mean 'policy'?)"),
    (
        "missing-required-key",
        "    name: 2回目購入のご案内\n",
        "",
        11,
        "missing required key 'name'",
    ),
    ("number-expected", "account_cps: 2", "account_cps: fast", 6, "expected a number, got 'fast'"),
    ("text-expected", "name: 2回目購入のご案内", "name: [a, b]", 12, "expected text, got a list"),
    (
        "bool-expected",
        "    kind: solicitation\n",
        "    kind: solicitation\n    enabled: maybe\n",
        15,
        "expected true or false, got 'maybe'",
    ),
    (
        "kind-misspelt",
        "kind: solicitation",
        "kind: solicitaton",
        14,
        "(did you mean 'solicitation'?)",
    ),
    (
        "priority-out-of-range",
        "    kind: solicitation\n",
        "    kind: solicitation\n    priority: 101\n",
        15,
        "less than or equal to 100",
    ),
    ("id-not-a-slug", "{id: sato,", "{id: Sato_San,", 9, "'Sato_San' is not a valid id"),
    # --- times and windows
    ("time-out-of-range", '"10:00-12:00"', '"10:00-12:60"', 18, "minutes 00-59"),
    ("time-range-malformed", '"10:00-12:00"', '"10-12"', 18, "'10-12' is not a time range"),
    (
        "window-ends-before-start",
        '"10:00-12:00"',
        '"12:00-10:00"',
        18,
        "12:00-10:00 ends before or when it starts",
    ),
    (
        "window-overlap-same-day",
        '"10:00-12:00"',
        '"10:00-12:00", "11:00-13:00"',
        18,
        "11:00-13:00 overlaps 10:00-12:00 (mon-fri) on mon",
    ),
    (
        "window-overlap-two-day-specs",
        '      mon-fri: ["10:00-12:00"]\n',
        '      mon-fri: ["10:00-12:00"]\n      mon: ["11:30-13:00"]\n',
        19,
        "11:30-13:00 overlaps 10:00-12:00 (mon-fri) on mon",
    ),
    (
        "window-outside-policy-hours",
        '"10:00-12:00"',
        '"08:30-12:00"',
        18,
        "08:30-12:00 is outside the company's calling hours (policy.hours: 09:00-20:00)",
    ),
    (
        "window-in-nuisance-hours",
        '"10:00-12:00"',
        '"19:00-21:30"',
        18,
        "19:00-21:30 reaches into 21:00-08:00",
    ),
    (
        "policy-hours-in-nuisance-hours",
        '"09:00-20:00"',
        '"07:30-20:00"',
        5,
        "07:30-20:00 reaches into 21:00-08:00",
    ),
    ("day-unknown", "mon-fri:", "mnd-fri:", 18, "unknown day 'mnd' (did you mean 'mon'?)"),
    ("day-range-backwards", "mon-fri:", "fri-mon:", 18, "'fri-mon' runs backwards"),
    (
        "dates-end-before-start",
        "    kind: solicitation\n",
        "    kind: solicitation\n    dates:\n      from: 2027-01-31\n      to: 2026-12-01\n",
        17,
        "the last day 2026-12-01 comes before the first day 2027-01-31",
    ),
    # --- time zones, numbers, URLs, voices
    (
        "company-time-zone-unknown",
        '  caller_id: "+81312345678"\n',
        '  caller_id: "+81312345678"\n  timezone: Asia/Tokio\n',
        4,
        "unknown time zone 'Asia/Tokio' (did you mean 'Asia/Tokyo'?)",
    ),
    (
        "campaign-time-zone-unknown",
        "    kind: solicitation\n",
        "    kind: solicitation\n    timezone: Tokyo/Japan\n",
        15,
        "unknown time zone 'Tokyo/Japan'",
    ),
    (
        "caller-id-invalid",
        '"+81312345678"',
        '"+8131234"',
        3,
        "'+8131234' is not a valid phone number",
    ),
    (
        "caller-id-unknown-country",
        '"+81312345678"',
        '"+999123456"',
        3,
        "'+999123456' is not a valid phone number",
    ),
    (
        "caller-id-not-e164",
        '"+81312345678"',
        '"03-1234-5678"',
        3,
        'not in E.164 form; write it as "+81312345678"',
    ),
    ("caller-id-unquoted", '"+81312345678"', "+81312345678", 3, "write phone numbers in quotes"),
    (
        "operator-phone-invalid",
        '"+81311112222"',
        '"+8131111"',
        9,
        "'+8131111' is not a valid phone number",
    ),
    (
        "hold-music-not-http",
        '        "9": {action: opt_out}\n',
        '        "9": {action: opt_out}\n      hold: {music: ftp://example.com/hold.mp3}\n',
        25,
        "is not an http(s) URL",
    ),
    (
        "voice-not-japanese",
        "    ivr:\n",
        "    ivr:\n      voice: Polly.Joanna\n",
        21,
        "voice 'Polly.Joanna' does not speak Japanese",
    ),
    (
        "language-not-japanese",
        "    ivr:\n",
        "    ivr:\n      language: en-US\n",
        21,
        "'en-US' is not one of: ja-JP",
    ),
    (
        "machine-unknown",
        '        "9": {action: opt_out}\n',
        '        "9": {action: opt_out}\n      machine: voicemail\n',
        25,
        "expected hangup or {say: ...}",
    ),
    (
        "retry-not-a-duration",
        "    pacing:",
        "    retry: {busy: 30 minutes}\n    pacing:",
        19,
        "'30 minutes' is not a duration",
    ),
    (
        "retry-without-unit",
        "    pacing:",
        "    retry: {busy: 30}\n    pacing:",
        19,
        "30 has no unit",
    ),
    (
        "holidays-unknown",
        '  hours: "09:00-20:00"\n',
        '  hours: "09:00-20:00"\n  holidays: XX\n',
        6,
        "unknown holiday calendar 'XX'",
    ),
    (
        "holidays-yaml-boolean",
        '  hours: "09:00-20:00"\n',
        '  hours: "09:00-20:00"\n  holidays: no\n',
        6,
        "YAML reads the unquoted no as false",
    ),
    (
        "blackout-not-a-day",
        "  max_concurrent_calls: 10\n",
        '  max_concurrent_calls: 10\n  blackouts:\n    - {from: "02-30", to: "03-01", name: x}\n',
        9,
        "'02-30' is not a real day of the year",
    ),
    (
        "blackout-full-date",
        "  max_concurrent_calls: 10\n",
        "  max_concurrent_calls: 10\n  blackouts:\n    - {from: 2026-12-29, to: 01-03, name: x}\n",
        9,
        'write only month and day, "12-29"',
    ),
    # --- menu
    (
        "menu-key-twice",
        '        "9": {action: opt_out}\n',
        '        "9": {action: opt_out}\n        9: {action: opt_out, say: 失礼しました}\n',
        25,
        "duplicate key '9' (first at line 24)",
    ),
    ("menu-key-not-a-phone-key", '"9":', '"10":', 24, "'10' is not a phone key"),
    (
        "menu-action-unknown",
        "{action: opt_out}",
        "{action: optout}",
        24,
        "(did you mean 'opt_out'?)",
    ),
    # --- segment
    (
        "segment-field-unknown",
        "orders_count: 1",
        "order_count: 1",
        16,
        "unknown segment field 'order_count' (did you mean 'orders_count'?)",
    ),
    (
        "segment-operator-unknown",
        "orders_count: 1",
        "orders_count: {gtee: 1}",
        16,
        "unknown operator 'gtee' (did you mean 'gte'?)",
    ),
    # --- the law on sales calls
    (
        "greeting-without-company",
        '"{company}でございます。',
        '"みどり通販でございます。',
        21,
        "put {company} in the greeting (特定商取引法 第16条)",
    ),
    (
        "greeting-without-purpose",
        "{purpose}のお電話です。",
        "お電話です。",
        21,
        "must say why it calls",
    ),
    (
        "purpose-placeholder-without-purpose",
        "    purpose: 2回目のご案内\n",
        "",
        20,
        "uses {purpose}, but the campaign has no purpose",
    ),
    (
        "placeholder-unknown",
        "のお電話です。",
        "のお電話です。{name}様",
        21,
        "unknown placeholder {name}",
    ),
    (
        "solicitation-without-opt-out",
        "{action: opt_out}",
        "{action: hangup}",
        22,
        "action: opt_out (特定商取引法 第17条)",
    ),
    # --- pacing and operators
    (
        "cps-above-account",
        "cps: 1,",
        "cps: 3,",
        19,
        "cps 3 is above the account's limit (policy.account_cps: 2)",
    ),
    (
        "max-concurrent-above-policy",
        "max_concurrent: 5}",
        "max_concurrent: 50}",
        19,
        "max_concurrent 50 is above the company's limit (policy.max_concurrent_calls: 10)",
    ),
    (
        "queue-names-unknown-campaign",
        "queues: [f2]",
        "queues: [f2, f2x]",
        9,
        "unknown campaign 'f2x' (did you mean 'f2'?)",
    ),
    (
        "ivr-then-agent-without-operator",
        "queues: [f2]",
        "queues: []",
        19,
        "campaign 'f2' hands calls to operators, but no operator has it in queues",
    ),
    (
        "ivr-then-agent-without-agent-key",
        '"1": {action: agent}',
        '"1": {action: callback}',
        22,
        "no menu key (and no no_input.then) leads to an agent",
    ),
    (
        "agentless-with-agent-action",
        "mode: ivr-then-agent",
        "mode: agentless",
        23,
        "pacing.mode is agentless: no operator takes this call",
    ),
    ("no-caller-id-anywhere", '  caller_id: "+81312345678"\n', "", 1, "no caller_id"),
]


@pytest.mark.parametrize(
    ("old", "new", "line", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_rule_reports_the_line_and_the_reason(
    tmp_path: Path, old: str, new: str, line: int, fragment: str
) -> None:
    problem = only_problem(tmp_path, edit(old, new))
    assert (problem.line, fragment in problem.message) == (line, True), str(problem)


def test_duplicate_campaign_ids_point_at_the_second(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, BASE + CAMPAIGN_COPY)
    assert problem.line == 25
    assert "campaigns[1].id: id 'f2' is already used (line 11)" in problem.message


def test_duplicate_operator_ids_point_at_the_second(tmp_path: Path) -> None:
    operator = '  - {id: sato, name: 佐藤, phone: "+81311112222", queues: [f2]}\n'
    problem = only_problem(tmp_path, edit(operator, operator * 2))
    assert (problem.line, "id 'sato' is already used (line 9)" in problem.message) == (10, True)


def test_rfm_thresholds_must_increase(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, BASE + "rfm:\n  recency_days: [30, 20, 180, 365]\n")
    assert problem.line == 26
    assert "needs 4 increasing numbers" in problem.message


def test_rfm_thresholds_need_four_values(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, BASE + "rfm:\n  monetary_yen: [5000, 10000]\n")
    assert problem.line == 26


def test_every_problem_is_reported_at_once_sorted_by_line(tmp_path: Path) -> None:
    text = BASE.replace("kind: solicitation", "kind: sales")
    text = text.replace('"+81311112222"', '"+8131111"').replace('"+81312345678"', '"12345"')
    text = text.replace("orders_count: 1", "orders_count: {gtee: 1}")
    lines = [problem.line for problem in problems_of(tmp_path, text)]
    assert lines == [3, 9, 14, 16]


def test_cross_checks_run_even_when_another_campaign_is_broken(tmp_path: Path) -> None:
    broken = CAMPAIGN_COPY.replace("id: f2", "id: f3").replace("kind: solicitation", "kind: x")
    text = edit("cps: 1,", "cps: 3,") + broken
    problems = problems_of(tmp_path, text)
    assert [problem.line for problem in problems] == [19, 28]


def test_problem_messages_name_the_key_path(tmp_path: Path) -> None:
    problem = only_problem(tmp_path, edit('"10:00-12:00"', '"12:00-10:00"'))
    assert problem.message.startswith("campaigns[0].windows.mon-fri[0]: ")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"09:00-20:00"', '"08:00-21:00"'),
        ("{purpose}のお電話です。", "2回目のご案内のお電話です。"),
        ('"1": {action: agent}\n        "9"', "1: {action: agent}\n        9"),
        ("mon-fri:", "mon,wed,fri:"),
        ("mon-fri:", "daily:"),
        ('["10:00-12:00"]', '"10:00-12:00"'),
        ("kind: solicitation", "kind: service"),
        ("    ivr:\n", "    ivr:\n      voice: Google.ja-JP-Neural2-B\n"),
        ("    ivr:\n", "    ivr:\n      voice: Polly.Kazuha-Neural\n"),
    ],
    ids=[
        "policy-hours-08-to-21",
        "greeting-with-purpose-text",
        "menu-keys-unquoted",
        "day-list",
        "daily",
        "single-window-without-list",
        "service-needs-no-opt-out",
        "google-japanese-voice",
        "polly-neural-voice",
    ],
)
def test_accepted_variants(tmp_path: Path, old: str, new: str) -> None:
    load(tmp_path, edit(old, new))


def test_unquoted_menu_keys_become_strings(tmp_path: Path) -> None:
    config = load(tmp_path, edit('"1": {action: agent}', "1: {action: agent}"))
    assert list(config.campaign("f2").ivr.menu) == ["1", "9"]


def test_holidays_none_turns_holidays_off(tmp_path: Path) -> None:
    config = load(
        tmp_path, edit('  hours: "09:00-20:00"\n', '  hours: "09:00-20:00"\n  holidays: none\n')
    )
    assert config.policy.holiday_country is None


def test_defaults_come_from_the_schema(tmp_path: Path) -> None:
    config = load(tmp_path, BASE)
    campaign = config.campaign("f2")
    assert config.company.timezone == "Asia/Tokyo"
    assert str(config.policy.hours) == "09:00-20:00"
    assert config.policy.holiday_country == "JP"
    assert config.policy.contact_cooldown.days == 7
    assert config.rfm.recency_days == (30, 90, 180, 365)
    assert (campaign.enabled, campaign.priority, campaign.require_opt_in) == (True, 50, False)
    assert campaign.retry.failed is None
    assert campaign.ivr.voice == "Polly.Mizuki"
    assert campaign.ivr.language == "ja-JP"
    assert not campaign.ivr.machine.leaves_message
