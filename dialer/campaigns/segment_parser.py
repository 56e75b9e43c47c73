"""Reads a campaign's `segment:` mapping into the tree of `dialer.campaigns.segments`.

The parser collects every mistake with its key path instead of stopping at the first, so that
`dialer check` can show them all with their lines.
"""

from __future__ import annotations

from typing import Any

from dialer.campaigns.problems import Issue, Loc, describe, did_you_mean
from dialer.campaigns.segments import (
    FIELDS,
    ORDERABLE,
    ORDERED_KINDS,
    AllOf,
    AnyOf,
    Between,
    Compare,
    Condition,
    FieldRef,
    Not,
    OneOf,
    Op,
    OrderKey,
    RelativeMonth,
    Segment,
    SegmentField,
    SubscriptionStatus,
    Value,
    ValueKind,
)

_GROUPS = ("all", "any", "not")
_TOP_ONLY = ("order_by", "limit")
_OPERATORS = ("equals", "gt", "gte", "lt", "lte", "between", "in", "not")
_MAILING_EXAMPLE = "{mailing: winter-dm-2026, between: [3, 10]}"


class SegmentError(Exception):
    """The segment has mistakes; `issues` are located relative to the `segment:` value."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(issue.message for issue in issues))
        self.issues = issues


def parse_segment(data: Any) -> Segment:
    """Parse a `segment:` mapping; raise `SegmentError` listing every mistake."""
    parser = _Parser()
    segment = parser.segment(data)
    if parser.issues:
        raise SegmentError(parser.issues)
    return segment


class _Parser:
    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def fail(self, loc: Loc, message: str) -> None:
        self.issues.append(Issue(loc, message))

    def segment(self, data: Any) -> Segment:
        if not isinstance(data, dict):
            self.fail(
                (), f"expected a mapping of conditions (all:, any:, a field), got {describe(data)}"
            )
            return Segment(AllOf(()))
        conditions = {key: value for key, value in data.items() if key not in _TOP_ONLY}
        if not conditions:
            self.fail((), "has no condition; write `all: []` to call every customer")
        return Segment(
            where=self.conditions(conditions, ()),
            order_by=self.order_by(data["order_by"]) if "order_by" in data else (),
            limit=self.limit(data["limit"]) if "limit" in data else None,
        )

    def conditions(self, mapping: dict[str, Any], loc: Loc) -> Condition:
        parsed = [self.entry(key, value, (*loc, key)) for key, value in mapping.items()]
        found = [condition for condition in parsed if condition is not None]
        return found[0] if len(found) == 1 else AllOf(tuple(found))

    def entry(self, key: str, value: Any, loc: Loc) -> Condition | None:
        if key in ("all", "any"):
            return self.group(key, value, loc)
        if key == "not":
            inner = self.condition(value, loc)
            return Not(inner) if inner is not None else None
        if key in FIELDS:
            return self.leaf(SegmentField(key), value, loc)
        if key in _TOP_ONLY:
            self.fail(loc, f"{key} belongs at the top of segment:, next to the conditions")
            return None
        suggestion = did_you_mean(key, [*FIELDS, *_GROUPS])
        self.fail(loc, f"unknown segment field '{key}'{suggestion}")
        return None

    def group(self, key: str, value: Any, loc: Loc) -> Condition | None:
        if not isinstance(value, list):
            self.fail(loc, f"{key}: expects a list of conditions, got {describe(value)}")
            return None
        if key == "any" and not value:
            self.fail(loc, "any: [] matches nobody; give at least one condition")
        parsed = [self.condition(item, (*loc, index)) for index, item in enumerate(value)]
        found = tuple(condition for condition in parsed if condition is not None)
        return AllOf(found) if key == "all" else AnyOf(found)

    def condition(self, value: Any, loc: Loc) -> Condition | None:
        if isinstance(value, dict) and value:
            return self.conditions(value, loc)
        self.fail(loc, f"expected a condition such as {{orders_count: 1}}, got {describe(value)}")
        return None

    def leaf(self, field: SegmentField, value: Any, loc: Loc) -> Condition | None:
        if not isinstance(value, dict):
            ref = FieldRef(field, self.mailing(field, {}, loc))
            parsed = self.value(FIELDS[field], value, loc)
            return Compare(ref, Op.EQUALS, parsed) if parsed is not None else None
        operators = dict(value)
        ref = FieldRef(field, self.mailing(field, operators, loc))
        if not operators:
            self.fail(loc, f"needs an operator: {', '.join(_OPERATORS)}")
            return None
        return self.operators(ref, operators, loc)

    def mailing(self, field: SegmentField, operators: dict[str, Any], loc: Loc) -> str | None:
        name = operators.pop("mailing", None)
        if field is not SegmentField.DAYS_SINCE_MAILING:
            if name is not None:
                self.fail((*loc, "mailing"), "only days_since_mailing takes a mailing")
            return None
        if name is None:
            self.fail(loc, f"days_since_mailing needs the mailing's name: {_MAILING_EXAMPLE}")
        elif not isinstance(name, str) or not name.strip():
            self.fail((*loc, "mailing"), f"expected a mailing name, got {describe(name)}")
        return name if isinstance(name, str) else None

    def operators(self, ref: FieldRef, operators: dict[str, Any], loc: Loc) -> Condition | None:
        parsed = [self.operator(ref, op, value, (*loc, op)) for op, value in operators.items()]
        found = [condition for condition in parsed if condition is not None]
        if not found:
            return None
        return found[0] if len(found) == 1 else AllOf(tuple(found))

    def operator(self, ref: FieldRef, op: str, value: Any, loc: Loc) -> Condition | None:
        kind = FIELDS[ref.field]
        if op == "not":
            inner = self.negated(ref, value, loc)
            return Not(inner) if inner is not None else None
        if op == "in":
            return self.one_of(ref, value, loc)
        if op not in _OPERATORS:
            self.fail(loc, f"unknown operator '{op}'{did_you_mean(op, _OPERATORS)}")
            return None
        if op != "equals" and kind not in ORDERED_KINDS:
            self.fail(loc, f"{ref.field} cannot be compared with {op}; use equals, in or not")
            return None
        if op == "between":
            return self.between(ref, value, loc)
        parsed = self.value(kind, value, loc)
        return Compare(ref, Op(op), parsed) if parsed is not None else None

    def negated(self, ref: FieldRef, value: Any, loc: Loc) -> Condition | None:
        if isinstance(value, dict):
            return self.operators(ref, dict(value), loc)
        parsed = self.value(FIELDS[ref.field], value, loc)
        return Compare(ref, Op.EQUALS, parsed) if parsed is not None else None

    def one_of(self, ref: FieldRef, value: Any, loc: Loc) -> Condition | None:
        if not isinstance(value, list) or not value:
            self.fail(loc, f"in: expects a non-empty list, got {describe(value)}")
            return None
        kind = FIELDS[ref.field]
        parsed = [self.value(kind, item, (*loc, index)) for index, item in enumerate(value)]
        values = tuple(item for item in parsed if item is not None)
        return OneOf(ref, values) if len(values) == len(value) else None

    def between(self, ref: FieldRef, value: Any, loc: Loc) -> Condition | None:
        if not isinstance(value, list) or len(value) != 2:
            self.fail(loc, f"between: expects two numbers [low, high], got {describe(value)}")
            return None
        kind = FIELDS[ref.field]
        low, high = (self.value(kind, item, (*loc, index)) for index, item in enumerate(value))
        if not isinstance(low, int | float) or not isinstance(high, int | float):
            return None
        if low > high:
            self.fail(loc, f"between: [{low}, {high}] is empty; write the lower bound first")
            return None
        return Between(ref, low, high)

    def value(self, kind: ValueKind, value: Any, loc: Loc) -> Value | None:
        parsed = _value(kind, value)
        if parsed is None:
            self.fail(loc, _value_problem(kind, value))
        return parsed

    def order_by(self, value: Any) -> tuple[OrderKey, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            self.fail(
                ("order_by",),
                f"expected a list such as [lifetime_value desc], got {describe(value)}",
            )
            return ()
        keys = [self.order_key(item, ("order_by", index)) for index, item in enumerate(items)]
        return tuple(key for key in keys if key is not None)

    def order_key(self, item: Any, loc: Loc) -> OrderKey | None:
        words = item.split() if isinstance(item, str) else []
        direction = words[1].lower() if len(words) == 2 else "asc"
        if not 1 <= len(words) <= 2 or direction not in ("asc", "desc"):
            self.fail(loc, f"expected 'field' or 'field desc', got {describe(item)}")
            return None
        if words[0] not in ORDERABLE:
            known = "a field that cannot sort" if words[0] in FIELDS else "unknown field"
            suggestion = did_you_mean(words[0], ORDERABLE)
            self.fail(loc, f"order_by: {known} '{words[0]}'{suggestion}")
            return None
        return OrderKey(SegmentField(words[0]), descending=direction == "desc")

    def limit(self, value: Any) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        self.fail(
            ("limit",), f"expected a whole number of customers, 1 or more, got {describe(value)}"
        )
        return None


def _value(kind: ValueKind, value: Any) -> Value | None:
    """`value` as the field kind wants it, or None when it does not fit."""
    if isinstance(value, bool):
        return None
    if kind is ValueKind.COUNT:
        return value if isinstance(value, int) and value >= 0 else None
    if kind is ValueKind.YEN:
        return value if isinstance(value, int | float) and value >= 0 else None
    if kind is ValueKind.SCORE:
        return value if isinstance(value, int) and 1 <= value <= 5 else None
    if kind is ValueKind.SKU:
        return value if isinstance(value, str) and value.strip() else None
    if kind is ValueKind.MONTH:
        if isinstance(value, int):
            return value if 1 <= value <= 12 else None
        return RelativeMonth(value) if value in tuple(RelativeMonth) else None
    return SubscriptionStatus(value) if value in tuple(SubscriptionStatus) else None


def _value_problem(kind: ValueKind, value: Any) -> str:
    message = f"expected {kind.value}, got {describe(value)}"
    if kind is ValueKind.STATUS:
        choices = [status.value for status in SubscriptionStatus]
        return f"{message}{did_you_mean(value, choices)}; one of: {', '.join(choices)}"
    if kind is ValueKind.SKU and isinstance(value, int | float):
        return f'{message}; write SKUs in quotes, e.g. "{value}"'
    return message
