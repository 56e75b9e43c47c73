"""`dialer check` as a user runs it: exit code 2 and `PATH:LINE: message` lines, or OK."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dialer.cli import main

ROOT = Path(__file__).resolve().parents[1]

BAD = """\
company:
  name: 株式会社みどり通販
  caller_id: "+8100"
campaigns:
  - id: f2
    name: x
    kind: solicitaton
    windws: {}
"""


def test_check_bad_file_exits_2_with_one_line_per_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "campaigns.yaml"
    bad.write_text(BAD, encoding="utf-8")
    assert main(["check", str(bad)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert all(re.fullmatch(rf"{re.escape(str(bad))}:\d+: .+", line) for line in lines), lines
    assert any(line.startswith(f"{bad}:3: company.caller_id: ") for line in lines)
    assert any(line.startswith(f"{bad}:7: campaigns[0].kind: 'solicitaton'") for line in lines)
    assert any(line.startswith(f"{bad}:8: campaigns[0]: unknown key 'windws'") for line in lines)
    assert "Traceback" not in "\n".join(lines)


def test_check_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.yaml"
    assert main(["check", str(missing)]) == 2
    assert capsys.readouterr().err == f"{missing}: file not found\n"


def test_check_project_sample_exits_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["check", "campaigns.yaml"]) == 0
    assert capsys.readouterr().out == "campaigns.yaml: OK (7 campaigns)\n"


def test_calendar_of_unknown_campaign_is_a_clean_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("DIALER_CAMPAIGNS", raising=False)
    code = main(["calendar", "f2-folowup", "--from", "2026-12-01", "--to", "2026-12-02"])
    assert code == 2
    assert "did you mean 'f2-followup'?" in capsys.readouterr().err
