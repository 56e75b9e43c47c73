"""Cell values as Japanese shop exports write them, read into typed values.

Every parser takes the stripped, non-empty text of one cell and returns the value or raises
`ValueError` with a message for the person who will fix the file. They are called once per cell
of files with millions of rows, so the common spellings are matched first and cheaply.

Times without a zone (`ordered_at`, `sent_at`) are Tokyo wall-clock time, as every Japanese shop
system writes them; a time with an explicit offset (ISO 8601, ``Z``) keeps it. Instants come back
aware, in UTC.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Final
from zoneinfo import ZoneInfo

from dialer.models import SubscriptionStatus

TOKYO: Final = ZoneInfo("Asia/Tokyo")
#: PostgreSQL's INTEGER, the type of amounts and cycles.
MAX_INTEGER: Final = 2**31 - 1

_YMD = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})"
    r"(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,6}))?)?)?"
)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_KANJI = re.compile(
    r"(明治|大正|昭和|平成|令和|[MTSHR])?\s*(元|\d{1,4})\s*[年./-]\s*(\d{1,2})\s*[月./-]\s*(\d{1,2})"
    r"\s*日?(?:\s*(\d{1,2})\s*[:時]\s*(\d{1,2})\s*分?(?:\s*[:]?\s*(\d{1,2})\s*秒?)?)?"
)
#: First year of each era (明治 1868 … 令和 2019); 昭和55年 is 1926 + 55 - 1.
_ERAS: Final[Mapping[str, int]] = {
    "明治": 1868,
    "M": 1868,
    "大正": 1912,
    "T": 1912,
    "昭和": 1926,
    "S": 1926,
    "平成": 1989,
    "H": 1989,
    "令和": 2019,
    "R": 2019,
}
_MIDNIGHT: Final = time(0, 0)

# Yen marks, including the backslash that is 0x5C, shown as ¥ in Shift_JIS fonts.
_AMOUNT_NOISE = str.maketrans("", "", "¥\\円,  ")
_NEGATIVE_MARKS: Final = ("-", "△", "▲", "−")
_AMOUNT = re.compile(r"(\d+)(?:\.0*)?")
_CYCLE_UNIT_DAYS: Final[Mapping[str | None, int]] = {
    None: 1,
    "日": 1,
    "日毎": 1,
    "日ごと": 1,
    "週": 7,
    "週間": 7,
    "週毎": 7,
    "週ごと": 7,
    # A monthly 定期便 is booked as 30 days by Japanese cart systems, and so here.
    "ヶ月": 30,
    "か月": 30,
    "カ月": 30,
    "ヵ月": 30,
    "ケ月": 30,
    "ヶ月毎": 30,
    "ヶ月ごと": 30,
}
_CYCLE: Final = re.compile(
    r"(\d+)(" + "|".join(sorted(filter(None, _CYCLE_UNIT_DAYS), key=len, reverse=True)) + ")?"
)

_STATUSES: Final[Mapping[str, SubscriptionStatus]] = {
    "active": SubscriptionStatus.ACTIVE,
    "継続": SubscriptionStatus.ACTIVE,
    "継続中": SubscriptionStatus.ACTIVE,
    "有効": SubscriptionStatus.ACTIVE,
    "契約中": SubscriptionStatus.ACTIVE,
    "paused": SubscriptionStatus.PAUSED,
    "休止": SubscriptionStatus.PAUSED,
    "休止中": SubscriptionStatus.PAUSED,
    "一時停止": SubscriptionStatus.PAUSED,
    "一時休止": SubscriptionStatus.PAUSED,
    "cancel_requested": SubscriptionStatus.CANCEL_REQUESTED,
    "解約申請": SubscriptionStatus.CANCEL_REQUESTED,
    "解約申請中": SubscriptionStatus.CANCEL_REQUESTED,
    "解約希望": SubscriptionStatus.CANCEL_REQUESTED,
    "解約予定": SubscriptionStatus.CANCEL_REQUESTED,
    "cancelled": SubscriptionStatus.CANCELLED,
    "canceled": SubscriptionStatus.CANCELLED,
    "解約": SubscriptionStatus.CANCELLED,
    "解約済": SubscriptionStatus.CANCELLED,
    "解約済み": SubscriptionStatus.CANCELLED,
}

_YES: Final = frozenset(
    [
        "1",
        "true",
        "yes",
        "y",
        "はい",
        "同意",
        "同意する",
        "同意あり",
        "可",
        "許可",
        "○",
        "◯",
        "有",
        "あり",
    ]
)
_NO: Final = frozenset(
    [
        "0",
        "false",
        "no",
        "n",
        "いいえ",
        "拒否",
        "不可",
        "否",
        "同意しない",
        "同意なし",
        "×",
        "無",
        "なし",
    ]
)

# Hiragana (ぁ U+3041 … ゖ U+3096) to katakana: the voice reads katakana.
_HIRAGANA_TO_KATAKANA: Final = {code: code + 0x60 for code in range(0x3041, 0x3097)}


def fold(text: str) -> str:
    """Full-width letters, digits and signs to their plain forms, as Excel users type both."""
    return text if text.isascii() else unicodedata.normalize("NFKC", text)


def identifier(text: str, max_length: int = 64) -> str:
    """A shop's id or SKU: `１２３` and `123` are the same customer."""
    value = text if text.isascii() else unicodedata.normalize("NFKC", text).strip()
    if len(value) > max_length:
        raise ValueError(f"longer than {max_length} characters")
    return value


def plain_text(text: str, max_length: int) -> str:
    """Free text kept as written (names, mailing names), only checked against the column size."""
    _check_length(text, max_length)
    return text


def kana(text: str, max_length: int = 200) -> str:
    """A name's reading in full-width katakana, whatever kana the file used (ﾔﾏﾀﾞ, やまだ)."""
    value = unicodedata.normalize("NFKC", text).translate(_HIRAGANA_TO_KATAKANA)
    _check_length(value, max_length)
    return value


def calendar_date(text: str) -> date:
    """A date: 2026-11-23, 2026/1/5, 20261123, 2026年11月23日, 令和8年11月23日, S55.5.17.

    A time of day after the date (Excel writes date cells as ``2026/11/23 0:00``) is ignored.
    """
    return _read_date_time(text)[0]


def tokyo_instant(text: str) -> datetime:
    """A point in time, aware and in UTC; without an offset it is Tokyo time."""
    if "+" in text or text.endswith(("Z", "z")) or text.count("-") > 2:
        return _with_offset(text)
    day, clock = _read_date_time(text)
    return datetime.combine(day, clock, TOKYO).astimezone(UTC)


def amount_yen(text: str) -> int:
    """Whole yen: "¥12,800", "12800円", "１２８００", "12800.00"; never negative."""
    if text.isdigit() and text.isascii():
        return _bounded(int(text), text)
    value = fold(text).translate(_AMOUNT_NOISE)
    if value.startswith(_NEGATIVE_MARKS):
        raise ValueError(f"negative amount {text!r}")
    match = _AMOUNT.fullmatch(value)
    if match is None:
        raise ValueError(f"not an amount in yen: {text!r}")
    return _bounded(int(match.group(1)), text)


def cycle_days(text: str) -> int:
    """A delivery cycle in days: "30", "30日", "2週", "1ヶ月" (30 days)."""
    match = _CYCLE.fullmatch(fold(text).replace(" ", ""))
    if match is None:
        raise ValueError(f"not a cycle in days: {text!r}")
    days = int(match.group(1)) * _CYCLE_UNIT_DAYS[match.group(2)]
    if days <= 0:
        raise ValueError(f"cycle must be at least one day: {text!r}")
    return _bounded(days, text)


def subscription_status(text: str) -> str:
    """A status in English or as Japanese cart systems name it (継続, 休止, 解約申請, 解約)."""
    status = _STATUSES.get(fold(text).strip().casefold())
    if status is None:
        raise ValueError(
            f"unknown status {text!r} (use 継続, 休止, 解約申請, 解約 or "
            "active, paused, cancel_requested, cancelled)"
        )
    return status.value


def consent(text: str) -> bool:
    """Yes or no in the many ways exports spell it (1/0, true/false, はい/いいえ, 同意/拒否)."""
    value = fold(text).strip().casefold()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise ValueError(f"not a yes/no value: {text!r}")


def _read_date_time(text: str) -> tuple[date, time]:
    value = fold(text).strip()
    match = _YMD.fullmatch(value) or _KANJI.fullmatch(value)
    if match is not None:
        return _from_groups(match, text)
    match = _COMPACT.fullmatch(value)
    if match is not None:
        return _date(int(match[1]), int(match[2]), int(match[3]), text), _MIDNIGHT
    raise ValueError(f"not a date: {text!r}")


def _from_groups(match: re.Match[str], text: str) -> tuple[date, time]:
    groups = match.groups()
    if match.re is _KANJI:
        era, year_text = groups[0], groups[1]
        year = 1 if year_text == "元" else int(year_text)
        if era is not None:
            year += _ERAS[era] - 1
        elif year < 1000:
            raise ValueError(f"not a date (year without an era): {text!r}")
        rest = groups[2:]
    else:
        year, rest = int(groups[0]), groups[1:]
    day = _date(year, int(rest[0]), int(rest[1]), text)
    if rest[2] is None:
        return day, _MIDNIGHT
    try:
        fraction = rest[5] if len(rest) > 5 and rest[5] else "0"
        clock = time(int(rest[2]), int(rest[3]), int(rest[4] or 0), int(fraction.ljust(6, "0")))
    except ValueError:
        raise ValueError(f"not a time of day: {text!r}") from None
    return day, clock


def _date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"not a date: {text!r}") from None


def _with_offset(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(fold(text).strip())
    except ValueError:
        raise ValueError(f"not a date and time: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=TOKYO)
    return value.astimezone(UTC)


def _bounded(value: int, text: str) -> int:
    if value > MAX_INTEGER:
        raise ValueError(f"too large: {text!r}")
    return value


def _check_length(value: str, max_length: int) -> None:
    if len(value) > max_length:
        raise ValueError(f"longer than {max_length} characters")
