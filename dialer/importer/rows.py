"""Rows of a file, checked and turned into staging records, a chunk at a time.

What a row needs in order to mean anything (its id, the values of required columns, a readable
date or amount) rejects it when wrong. For a customer, what only describes them (a phone number
that may not be dialled, an unreadable birthday or consent flag) does not: the customer exists,
has orders, and must be found by later imports and by "why was this person not called?". They
are imported without the bad value, or with the number stored as refused
(`CustomerPhone.refusal_reason`), and the row is reported as a warning.

Duplicates: the first well-formed occurrence of a key in the file is the row; every later one is
rejected. This module sees one chunk; earlier chunks are checked in the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Final

from dialer.importer.formats import FileFormat, Header
from dialer.importer.phone_cache import PhoneJudge, PhoneVerdict
from dialer.importer.values import TOKYO
from dialer.phones import Refusal

#: A staging record: (line, key, then the kind's columns; see `statements.STAGE_COLUMNS`).
Record = tuple[object, ...]
#: Where a record holds its key.
RECORD_KEY: Final = 1
Row = tuple[int, list[str]]
#: Separates the parts of a composite key; not a character anyone types.
KEY_SEPARATOR: Final = "\x1f"
_RAW_PHONE_LENGTH: Final = 64
_NO_PHONE: Final = (None, None, None, None)


@dataclass
class Issue:
    """A reported row: rejected, or imported with warnings."""

    line: int
    fields: Sequence[str]
    reasons: list[str]
    rejected: bool


@dataclass
class ParsedChunk:
    """One chunk of rows, parsed."""

    rows: list[Row]
    records: list[Record] = field(default_factory=list)
    issues: dict[int, Issue] = field(default_factory=dict)
    #: Later occurrences of a key within this chunk: (line, fields, line of the first one).
    duplicates: list[tuple[int, list[str], int]] = field(default_factory=list)

    def note(self, line: int, fields: Sequence[str], reasons: list[str], *, rejected: bool) -> None:
        """Record problems with a row, merging them with any already noted."""
        issue = self.issues.get(line)
        if issue is None:
            self.issues[line] = Issue(line, fields, reasons, rejected)
        else:
            issue.reasons.extend(reasons)
            issue.rejected = issue.rejected or rejected


Assembler = Callable[[int, list[object], list[str], list[str]], Record | None]


class RowParser:
    """Parses the rows of one file; `parse` is called once per chunk."""

    def __init__(
        self, file_format: FileFormat, header: Header, *, now: datetime, default_reason: str
    ) -> None:
        self._format = file_format
        self._width = len(header.names)
        self._plan = [
            (index, position, file_format.columns[position]) for index, position in header.plan
        ]
        self._phones = PhoneJudge()
        self._today = now.astimezone(TOKYO).date()
        self._default_reason = default_reason
        assemblers: dict[str, Assembler] = {
            "customers": self._customer,
            "orders": _order,
            "subscriptions": _subscription,
            "mailings": _mailing,
            "dnc": self._dnc,
        }
        self._assemble = assemblers[file_format.kind]

    def parse(self, rows: list[Row]) -> ParsedChunk:
        """Check every row of the chunk; good ones become records, bad ones issues."""
        chunk = ParsedChunk(rows)
        first_lines: dict[str, int] = {}
        for line, fields in rows:
            record = self._parse_row(chunk, line, fields)
            if record is None:
                continue
            key = record[1]
            assert isinstance(key, str)
            first = first_lines.setdefault(key, line)
            if first == line:
                chunk.records.append(record)
            else:
                chunk.duplicates.append((line, fields, first))
        return chunk

    def _parse_row(self, chunk: ParsedChunk, line: int, fields: list[str]) -> Record | None:
        if len(fields) != self._width:
            reason = f"wrong column count: {len(fields)} fields, the header has {self._width}"
            chunk.note(line, fields, [reason], rejected=True)
            return None
        problems: list[str] = []
        warnings: list[str] = []
        values = self._values(fields, problems, warnings)
        record = None if problems else self._assemble(line, values, problems, warnings)
        if problems:
            chunk.note(line, fields, problems + warnings, rejected=True)
            return None
        if warnings:
            chunk.note(line, fields, warnings, rejected=False)
        return record

    def _values(self, fields: list[str], problems: list[str], warnings: list[str]) -> list[object]:
        values: list[object] = [None] * len(self._format.columns)
        for index, position, column in self._plan:
            text = fields[index].strip()
            if not text:
                if column.value_required:
                    problems.append(f"missing {column.describe()}")
                continue
            if column.convert is None:
                values[position] = text
                continue
            try:
                values[position] = column.convert(text)
            except ValueError as error:
                if column.warn_only:
                    warnings.append(f"{column.name}: {error} (left empty)")
                else:
                    problems.append(f"{column.name}: {error}")
        return values

    def _customer(
        self, line: int, values: list[object], problems: list[str], warnings: list[str]
    ) -> Record:
        customer_id, name, name_kana, phone, phone2, birthday, opt_in = values
        if isinstance(birthday, date) and not (
            birthday.year >= _OLDEST and birthday <= self._today
        ):
            warnings.append(f"birthday: not a plausible birthday {birthday} (left empty)")
            birthday = None
        return (
            line,
            customer_id,
            name,
            name_kana,
            birthday,
            opt_in,
            *self._phone("phone", phone, warnings),
            *self._phone("phone2", phone2, warnings),
        )

    def _phone(self, column: str, raw: object, warnings: list[str]) -> tuple[object, ...]:
        """(raw, e164, class, refusal) for `CustomerPhone`, warning when it may not be dialled."""
        if raw is None:
            return _NO_PHONE
        assert isinstance(raw, str)
        verdict = self._phones.judge(raw)
        if verdict.refusal is not None:
            warnings.append(refusal_reason(column, verdict))
        return (raw[:_RAW_PHONE_LENGTH], *verdict)

    def _dnc(
        self, line: int, values: list[object], problems: list[str], warnings: list[str]
    ) -> Record | None:
        raw, customer_id, reason = values
        if raw is None and customer_id is None:
            problems.append("missing phone (電話番号) or customer_id (顧客ID)")
            return None
        e164 = None
        if raw is not None:
            assert isinstance(raw, str)
            verdict = self._phones.judge(raw)
            e164 = verdict.e164
            if e164 is None and customer_id is None:
                problems.append(refusal_reason("phone", verdict))
                return None
            if e164 is None:
                warnings.append(f"{refusal_reason('phone', verdict)} (added for the customer only)")
        key = f"{e164 or ''}{KEY_SEPARATOR}{customer_id or ''}"
        return (line, key, e164, customer_id, reason or self._default_reason)


_OLDEST: Final = 1900


def refusal_reason(column: str, verdict: PhoneVerdict) -> str:
    """How a refused number is reported: "phone: フリーダイヤル（0120・0800） [toll_free]"."""
    refusal = Refusal(verdict.refusal or Refusal.INVALID)
    return f"{column}: {refusal.label_ja} [{refusal.value}]"


def _order(line: int, values: list[object], problems: list[str], warnings: list[str]) -> Record:
    order_id, customer_id, ordered_at, amount, sku, channel = values
    return (line, order_id, customer_id, ordered_at, amount, sku, channel)


def _subscription(
    line: int, values: list[object], problems: list[str], warnings: list[str]
) -> Record:
    subscription_id, customer_id, sku, cycle, status, next_delivery = values
    return (line, subscription_id, customer_id, sku, cycle, status, next_delivery)


def _mailing(line: int, values: list[object], problems: list[str], warnings: list[str]) -> Record:
    customer_id, mailing, sent_at = values
    key = f"{customer_id}{KEY_SEPARATOR}{mailing}"
    return (line, key, customer_id, mailing, sent_at)
