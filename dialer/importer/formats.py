"""The five file kinds: their columns, Japanese header aliases and how each cell is read.

A header names a column when, compared without case, spaces, ``_`` or ``-`` and after folding
full-width characters, it equals the canonical name or one of its aliases: ``Customer ID``,
``顧客ＩＤ`` and ``顧客番号`` all mean `customer_id`. Columns the kind does not know are ignored
(and listed in the summary). A column absent from the header leaves what the database holds for
it untouched; a column present with an empty cell means "no value".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Final

from dialer.errors import DialerError
from dialer.importer import values

Converter = Callable[[str], object]


class UnknownKindError(DialerError):
    """An import kind was named that does not exist."""


@dataclass(frozen=True)
class Column:
    """One column of a kind's file."""

    name: str
    #: The Japanese header, shown next to `name` in messages.
    label: str
    aliases: tuple[str, ...]
    #: Turns the stripped, non-empty cell into its value, raising ValueError with the reason;
    #: None keeps the text for the row parser (phone numbers, judged by its `PhoneJudge`).
    convert: Converter | None
    #: The header must have this column.
    in_header: bool = False
    #: A row with an empty cell here is rejected.
    value_required: bool = False
    #: A bad value only drops the value with a warning (the row is still imported).
    warn_only: bool = False

    def describe(self) -> str:
        return f"{self.name} ({self.label})"


@dataclass(frozen=True)
class FileFormat:
    """What one kind of file holds."""

    kind: str
    columns: tuple[Column, ...]
    #: How a duplicate row is named in the report: "order_id", "customer_id + mailing".
    key_label: str
    #: The header must have at least one of these (DNC: a number or a customer).
    one_of: tuple[str, ...] = ()
    _index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.name: i for i, c in enumerate(self.columns)})

    def position(self, name: str) -> int:
        """Where column `name` sits in a row's values."""
        return self._index[name]

    def column(self, name: str) -> Column:
        return self.columns[self._index[name]]


@dataclass(frozen=True)
class Header:
    """A file's header row, matched to a `FileFormat`."""

    names: tuple[str, ...]
    #: (field index in the file, column position in the format) for each recognised column.
    plan: tuple[tuple[int, int], ...]
    ignored: tuple[str, ...]

    def has(self, file_format: FileFormat, name: str) -> bool:
        position = file_format.position(name)
        return any(slot == position for _, slot in self.plan)


def header_key(text: str) -> str:
    """The form in which header cells are compared."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _HEADER_NOISE.sub("", folded)


_HEADER_NOISE: Final = re.compile(r"[\s_\-]+")


def format_for(kind: str) -> FileFormat:
    """The format of `kind` (customers, orders, subscriptions, mailings, dnc)."""
    try:
        return FORMATS[kind]
    except KeyError:
        known = ", ".join(FORMATS)
        raise UnknownKindError(f"unknown import kind {kind!r} (one of: {known})") from None


def match_header(file_format: FileFormat, cells: Sequence[str]) -> tuple[Header, list[str]]:
    """The header, and what is missing from it (empty when the file is usable).

    When two cells name the same column, the first wins and the other is ignored.
    """
    lookup = _aliases(file_format)
    plan: list[tuple[int, int]] = []
    seen: set[int] = set()
    ignored: list[str] = []
    for index, cell in enumerate(cells):
        position = lookup.get(header_key(cell))
        if position is None or position in seen:
            if cell.strip():
                ignored.append(cell.strip())
            continue
        seen.add(position)
        plan.append((index, position))
    header = Header(tuple(cells), tuple(plan), tuple(ignored))
    return header, _missing(file_format, seen)


def _missing(file_format: FileFormat, present: set[int]) -> list[str]:
    missing = [
        c.describe() for i, c in enumerate(file_format.columns) if c.in_header and i not in present
    ]
    if file_format.one_of and not any(
        file_format.position(n) in present for n in file_format.one_of
    ):
        missing.append(" or ".join(file_format.column(n).describe() for n in file_format.one_of))
    return missing


def _aliases(file_format: FileFormat) -> dict[str, int]:
    return {
        header_key(alias): position
        for position, column in enumerate(file_format.columns)
        for alias in (column.name, *column.aliases)
    }


_ident = values.identifier
_CUSTOMER_ID_ALIASES = ("顧客ID", "顧客番号", "顧客コード", "会員ID", "会員番号")
_SKU_ALIASES = ("商品コード", "SKU", "品番")


def _key(name: str, label: str, aliases: tuple[str, ...]) -> Column:
    return Column(name, label, aliases, _ident, in_header=True, value_required=True)


def _customer_ref(*, required: bool = True) -> Column:
    return Column(
        "customer_id",
        "顧客ID",
        _CUSTOMER_ID_ALIASES,
        _ident,
        in_header=required,
        value_required=required,
    )


def _phone_column(name: str, label: str, aliases: tuple[str, ...]) -> Column:
    return Column(name, label, aliases, None)


CUSTOMERS: Final = FileFormat(
    "customers",
    (
        _customer_ref(),
        Column(
            "name",
            "氏名",
            ("氏名", "名前", "顧客名", "お名前"),
            partial(values.plain_text, max_length=200),
            in_header=True,
            value_required=True,
        ),
        Column(
            "name_kana",
            "フリガナ",
            ("フリガナ", "氏名カナ", "カナ", "ふりがな", "氏名(カナ)", "氏名フリガナ", "kana"),
            values.kana,
            warn_only=True,
        ),
        _phone_column("phone", "電話番号", ("電話番号", "電話", "TEL", "phone1", "電話番号1")),
        _phone_column(
            "phone2", "電話番号2", ("携帯電話", "電話番号2", "携帯電話番号", "携帯", "TEL2")
        ),
        Column(
            "birthday",
            "生年月日",
            ("生年月日", "誕生日", "birthdate", "birth_date"),
            values.calendar_date,
            warn_only=True,
        ),
        Column(
            "opt_in",
            "電話連絡同意",
            ("同意", "電話連絡同意", "opt-in", "電話連絡可否"),
            values.consent,
            warn_only=True,
        ),
    ),
    key_label="customer_id",
)

ORDERS: Final = FileFormat(
    "orders",
    (
        _key("order_id", "受注ID", ("受注ID", "注文番号", "受注番号", "注文ID")),
        _customer_ref(),
        Column(
            "ordered_at",
            "注文日",
            ("注文日", "受注日", "注文日時", "受注日時", "order_date"),
            values.tokyo_instant,
            in_header=True,
            value_required=True,
        ),
        Column(
            "amount",
            "金額",
            ("金額", "合計金額", "購入金額", "受注金額", "注文金額"),
            values.amount_yen,
            in_header=True,
            value_required=True,
        ),
        _key("sku", "商品コード", _SKU_ALIASES),
        Column(
            "channel",
            "販路",
            ("販路", "チャネル", "受注経路"),
            partial(values.plain_text, max_length=32),
            warn_only=True,
        ),
    ),
    key_label="order_id",
)

SUBSCRIPTIONS: Final = FileFormat(
    "subscriptions",
    (
        _key("subscription_id", "定期ID", ("定期ID", "定期番号", "定期受注番号")),
        _customer_ref(),
        _key("sku", "商品コード", _SKU_ALIASES),
        Column(
            "cycle_days",
            "お届け周期",
            ("お届け周期", "周期(日)", "周期", "お届け間隔"),
            values.cycle_days,
            in_header=True,
            value_required=True,
        ),
        Column(
            "status",
            "ステータス",
            ("ステータス", "状態"),
            values.subscription_status,
            in_header=True,
            value_required=True,
        ),
        Column(
            "next_delivery",
            "次回お届け日",
            ("次回お届け日", "次回発送日", "次回お届け予定日"),
            values.calendar_date,
        ),
    ),
    key_label="subscription_id",
)

MAILINGS: Final = FileFormat(
    "mailings",
    (
        _customer_ref(),
        Column(
            "mailing",
            "DM名",
            ("DM名", "施策名", "mailing_name"),
            partial(values.plain_text, max_length=100),
            in_header=True,
            value_required=True,
        ),
        Column(
            "sent_at",
            "送付日",
            ("送付日", "発送日", "送付日時"),
            values.tokyo_instant,
            in_header=True,
            value_required=True,
        ),
    ),
    key_label="customer_id + mailing",
)

DNC: Final = FileFormat(
    "dnc",
    (
        _phone_column("phone", "電話番号", ("電話番号", "電話", "TEL")),
        _customer_ref(required=False),
        # Too long a reason must not cost a do-not-call entry: it is dropped with a warning.
        Column(
            "reason", "理由", ("理由",), partial(values.plain_text, max_length=200), warn_only=True
        ),
    ),
    key_label="phone + customer_id",
    one_of=("phone", "customer_id"),
)

FORMATS: Final[Mapping[str, FileFormat]] = {
    f.kind: f for f in (CUSTOMERS, ORDERS, SUBSCRIPTIONS, MAILINGS, DNC)
}
KINDS: Final = tuple(FORMATS)
