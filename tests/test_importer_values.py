"""Cell values as Japanese exports write them: dates (和暦 too), yen, cycles, statuses, consent."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from dialer.importer import values
from dialer.importer.formats import FORMATS, format_for, header_key, match_header
from dialer.importer.values import (
    amount_yen,
    calendar_date,
    consent,
    cycle_days,
    identifier,
    kana,
    subscription_status,
    tokyo_instant,
)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-23",
        "2026/11/23",
        "2026.11.23",
        "20261123",
        "２０２６/１１/２３",
        "2026年11月23日",
        "令和8年11月23日",
        "R8.11.23",
        "2026/11/23 0:00",
        " 2026/11/23 ",
    ],
)
def test_dates_in_every_common_spelling(text: str) -> None:
    assert calendar_date(text) == date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026/1/5", date(2026, 1, 5)),
        ("昭和55年5月17日", date(1980, 5, 17)),
        ("S55.5.17", date(1980, 5, 17)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("H1/1/8", date(1989, 1, 8)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("大正15年12月24日", date(1926, 12, 24)),
    ],
    ids=["unpadded", "showa", "showa-letter", "heisei-gannen", "heisei-letter", "reiwa", "taisho"],
)
def test_unpadded_and_era_dates(text: str, expected: date) -> None:
    assert calendar_date(text) == expected


@pytest.mark.parametrize("text", ["2026-02-30", "2026/13/01", "23/11/2026", "55年5月17日", "x"])
def test_impossible_or_unreadable_dates_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a date"):
        calendar_date(text)


def test_a_time_without_zone_is_tokyo_time_stored_as_utc() -> None:
    assert tokyo_instant("2026/11/23 10:05") == datetime(2026, 11, 23, 1, 5, tzinfo=UTC)


def test_a_date_alone_is_midnight_in_tokyo() -> None:
    assert tokyo_instant("2026-11-23") == datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["2026-11-23T10:05:00+09:00", "2026-11-23T01:05:00Z", "2026-11-22T20:05:00-05:00"]
)
def test_an_explicit_offset_is_kept(text: str) -> None:
    assert tokyo_instant(text) == datetime(2026, 11, 23, 1, 5, tzinfo=UTC)


def test_seconds_and_fractions_are_read() -> None:
    expected = datetime(2026, 11, 23, 1, 5, 9, 250000, tzinfo=UTC)
    assert tokyo_instant("2026-11-23 10:05:09.25") == expected


def test_an_impossible_time_is_refused() -> None:
    with pytest.raises(ValueError, match="time of day"):
        tokyo_instant("2026/11/23 25:00")


@pytest.mark.parametrize(
    "text", ["12800", "¥12,800", "￥12,800", "12800円", "１２８００", "12,800.00", "\\12,800"]
)
def test_amounts_in_yen(text: str) -> None:
    assert amount_yen(text) == 12800


@pytest.mark.parametrize("text", ["-100", "△100", "▲1,000"])
def test_negative_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="negative"):
        amount_yen(text)


@pytest.mark.parametrize("text", ["12.5", "abc", "1,2a", "99999999999"])
def test_fractional_unreadable_and_huge_amounts_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        amount_yen(text)


@pytest.mark.parametrize(
    ("text", "days"), [("30", 30), ("30日", 30), ("２週", 14), ("1ヶ月", 30), ("3か月", 90)]
)
def test_delivery_cycles(text: str, days: int) -> None:
    assert cycle_days(text) == days


@pytest.mark.parametrize("text", ["0", "monthly", "-30"])
def test_bad_cycles_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        cycle_days(text)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("継続", "active"),
        ("有効", "active"),
        ("Active", "active"),
        ("休止", "paused"),
        ("一時停止", "paused"),
        ("解約申請", "cancel_requested"),
        ("解約希望", "cancel_requested"),
        ("解約", "cancelled"),
        ("解約済", "cancelled"),
        ("canceled", "cancelled"),
    ],
)
def test_statuses_in_japanese_and_english(text: str, status: str) -> None:
    assert subscription_status(text) == status


def test_an_unknown_status_names_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match="継続, 休止, 解約申請, 解約"):
        subscription_status("保留")


@pytest.mark.parametrize("text", ["1", "true", "TRUE", "yes", "はい", "同意", "○"])
def test_consent_yes(text: str) -> None:
    assert consent(text) is True


@pytest.mark.parametrize("text", ["0", "false", "no", "いいえ", "拒否", "×"])
def test_consent_no(text: str) -> None:
    assert consent(text) is False


def test_consent_refuses_anything_else() -> None:
    with pytest.raises(ValueError, match="yes/no"):
        consent("たぶん")


@pytest.mark.parametrize("text", ["ﾔﾏﾀﾞ ﾀﾛｳ", "やまだ たろう", "ヤマダ タロウ"])
def test_readings_become_full_width_katakana(text: str) -> None:
    assert kana(text) == "ヤマダ タロウ"


def test_full_width_ids_are_the_same_ids() -> None:
    assert identifier("Ｃ００１") == "C001"


def test_ids_longer_than_the_column_are_refused() -> None:
    with pytest.raises(ValueError, match="longer than 64"):
        identifier("C" * 65)


def test_tokyo_is_the_zone_of_zoneless_times() -> None:
    assert str(values.TOKYO) == "Asia/Tokyo"


# Headers


@pytest.mark.parametrize(
    "cell", ["customer_id", "Customer ID", " CUSTOMER-ID ", "顧客ID", "顧客ＩＤ"]
)
def test_header_spellings_meet_in_one_key(cell: str) -> None:
    assert header_key(cell) == header_key("customer_id") or header_key(cell) == header_key("顧客ID")


def test_japanese_headers_are_recognised_and_extras_ignored() -> None:
    header, missing = match_header(
        format_for("orders"), ["受注番号", "顧客番号", "注文日時", "購入金額", "品番", "備考"]
    )
    assert missing == []
    assert header.ignored == ("備考",)
    assert len(header.plan) == 5


def test_a_header_without_required_columns_says_which_are_missing() -> None:
    _, missing = match_header(format_for("orders"), ["order_id", "amount"])
    assert missing == [
        "customer_id (顧客ID)",
        "ordered_at (注文日)",
        "sku (商品コード)",
    ]


def test_dnc_needs_a_number_or_a_customer_column() -> None:
    _, missing = match_header(format_for("dnc"), ["reason"])
    assert missing == ["phone (電話番号) or customer_id (顧客ID)"]


@pytest.mark.parametrize("kind", list(FORMATS))
def test_no_alias_means_two_columns_of_one_kind(kind: str) -> None:
    keys = [
        key
        for column in FORMATS[kind].columns
        for key in {header_key(alias) for alias in (column.name, *column.aliases)}
    ]
    assert len(keys) == len(set(keys))
