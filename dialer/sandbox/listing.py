"""ListCall: which calls a query selects, and how they are cut into pages.

Filters: `To`, `From`, `Status`, `ParentCallSid`, and `StartTime`/`EndTime` with `=`, `>` (on or
after) and `<` (before). A date (`2026-11-02`) compares with the call's UTC day; a date-time
(ISO 8601 as the SDK sends it, or RFC 2822) with its time to the second. Calls come newest
first. Pages follow Twilio's form: `PageSize` (default 50, at most 1000), `Page`, and a
`PageToken` in `next_page_uri`/`previous_page_uri` that keeps paging stable while calls are
being created.
"""

from __future__ import annotations

import operator as operators
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from dialer.sandbox.calls import Call

DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 1000
PAGING_FIELDS: Final = frozenset({"Page", "PageSize", "PageToken"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class QueryError(ValueError):
    """A query parameter the API cannot read; the message says which."""


Predicate = Callable[[Call], bool]


def selector(query: MultiDict[str, str]) -> Predicate:
    """One predicate for all the filters in `query`."""
    tests: list[Predicate] = []
    if "To" in query:
        to = _number(query["To"])
        tests.append(lambda call: call.options.to == to)
    if "From" in query:
        from_ = _number(query["From"])
        tests.append(lambda call: call.options.from_ == from_)
    if "Status" in query:
        status = query["Status"]
        tests.append(lambda call: call.status.resource_value == status)
    if "ParentCallSid" in query:
        tests.append(lambda call: False)
    for name, attribute in (("StartTime", "start_time"), ("EndTime", "end_time")):
        for operator in ("", ">", "<"):
            key = name + operator
            if key in query:
                tests.append(_time_test(attribute, operator, _instant(key, query[key])))
    return lambda call: all(test(call) for test in tests)


def _number(value: str) -> str:
    """A number as given; a `+` that arrived unescaped (as a space) is put back."""
    value = value.strip()
    return "+" + value if value.isdigit() else value


def _instant(key: str, value: str) -> date | datetime:
    value = value.strip()
    if _DATE.match(value):
        return date.fromisoformat(value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError) as exc:
            raise QueryError(f"{key} is not a date or a date and time: {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _time_test(attribute: str, operator: str, bound: date | datetime) -> Predicate:
    compare = {">": operators.ge, "<": operators.lt, "": operators.eq}[operator]

    def test(call: Call) -> bool:
        at: datetime | None = getattr(call, attribute)
        if at is None:
            return False
        moment = at.astimezone(UTC).replace(microsecond=0)
        if isinstance(bound, datetime):
            return bool(compare(moment, bound))
        return bool(compare(moment.date(), bound))

    return test


@dataclass(frozen=True)
class PageRequest:
    size: int
    number: int
    token: str | None

    @classmethod
    def from_query(cls, query: MultiDict[str, str]) -> PageRequest:
        size = _whole(query, "PageSize", DEFAULT_PAGE_SIZE)
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise QueryError(f"PageSize must be 1-{MAX_PAGE_SIZE}, not {size}")
        return cls(size, _whole(query, "Page", 0), query.get("PageToken") or None)

    def window(self, sids: Sequence[str]) -> tuple[int, int]:
        """The [start, stop) slice of `sids` this page covers."""
        if self.token is not None and self.token[2:] in sids:
            anchor = sids.index(self.token[2:])
            if self.token.startswith("PA"):
                return anchor + 1, min(anchor + 1 + self.size, len(sids))
            if self.token.startswith("PB"):
                return max(0, anchor - self.size), anchor
        start = min(self.number * self.size, len(sids))
        return start, min(start + self.size, len(sids))


def _whole(query: MultiDict[str, str], key: str, default: int) -> int:
    value = query.get(key)
    if value is None:
        return default
    if not value.isdigit():
        raise QueryError(f"{key} must be a whole number, not {value!r}")
    return int(value)


def page(
    path: str,
    query: MultiDict[str, str],
    calls: Sequence[Call],
    resource: Callable[[Call], dict[str, Any]],
) -> dict[str, Any]:
    """The ListCallResponse for `calls` (already filtered, newest first)."""
    request = PageRequest.from_query(query)
    filters = [(key, value) for key, value in query.items(multi=True) if key not in PAGING_FIELDS]
    sids = [call.sid for call in calls]
    start, stop = request.window(sids)
    shown = calls[start:stop]

    def uri(number: int, token: str | None = None) -> str:
        pairs = [*filters, ("PageSize", str(request.size)), ("Page", str(number))]
        if token is not None:
            pairs.append(("PageToken", token))
        return f"{path}?{urlencode(pairs)}"

    return {
        "calls": [resource(call) for call in shown],
        "end": max(start + len(shown) - 1, 0),
        "first_page_uri": uri(0),
        "next_page_uri": uri(request.number + 1, "PA" + sids[stop - 1])
        if stop < len(sids) and shown
        else None,
        "page": request.number,
        "page_size": request.size,
        "previous_page_uri": uri(request.number - 1, "PB" + sids[start])
        if request.number > 0 and shown
        else None,
        "start": start,
        "uri": uri(request.number, request.token),
    }
