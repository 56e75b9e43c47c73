"""How `dialer lists build` reports: counts per campaign, per reason, as text and as JSON."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialer.lists import BuildResult, Skipped
from dialer.lists_report import (
    build_results_as_json,
    build_results_as_text,
    display_width,
    japanese_datetime,
    table,
)
from dialer.suppression import SuppressionReason
from tests.factories import JST, make_lists_config

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=JST)


def results() -> list[BuildResult]:
    suppressed = dict.fromkeys(SuppressionReason, 0) | {
        SuppressionReason.DNC: 2,
        SuppressionReason.COOLDOWN: 5,
    }
    return [
        BuildResult("finished", skipped=Skipped.ENDED),
        BuildResult(
            "f2-followup",
            in_segment=20,
            new=3,
            kept=17,
            retired=1,
            suppressed=suppressed,
            pending=13,
            due_at=NOW + timedelta(hours=1),
        ),
    ]


def test_text_names_each_campaign_and_the_reasons_that_hold_someone() -> None:
    text = build_results_as_text(results())

    assert "finished: 更新なし: 実施期間終了 (ended)" in text
    assert "f2-followup: セグメント 20 件 / 発信待ち 13 件 / 停止中 7 件" in text
    assert "発信禁止リスト登録 (dnc): 2" in text
    assert "接触後の待機期間中 (cooldown): 5" in text
    assert "weekly_cap" not in text


def test_json_lists_every_reason_in_precedence_order_with_zeros() -> None:
    skipped, built = build_results_as_json(results(), make_lists_config())

    assert skipped["skipped"] == "ended" and skipped["due_at"] is None
    assert built == {
        "campaign": "f2-followup",
        "skipped": None,
        "in_segment": 20,
        "new": 3,
        "kept": 17,
        "kept_outside_segment": 0,
        "revived": 0,
        "retired": 1,
        "unsuppressed": 0,
        "suppressed": {
            "dnc": 2,
            "refused": 0,
            "no_consent": 0,
            "no_dialable_phone": 0,
            "cooldown": 5,
            "weekly_cap": 0,
            "higher_priority": 0,
        },
        "pending": 13,
        "due_at": "2026-12-01T11:00:00+09:00",
    }


def test_times_read_the_japanese_way_in_the_given_zone() -> None:
    morning_in_utc = datetime(2026, 11, 30, 7, 5, tzinfo=UTC)
    assert japanese_datetime(morning_in_utc, JST) == "2026年11月30日(月) 16:05"


def test_tables_line_up_by_display_width() -> None:
    lines = table([("氏名", "件数"), ("山田 太郎", "3"), ("Li", "12")], numeric=frozenset({1}))

    assert display_width("山田 太郎") == 9
    assert [display_width(line) for line in lines] == [15, 15, 15]
    assert lines[1].endswith(" 3") and lines[2].endswith("12")
