"""The invariants of DESIGN.md checked after a load run, against the database and the sandbox.

Each check is read from what happened, not from what the code meant to do: the attempt rows,
the entries, the event log, and the calls the sandbox really placed, with their simulated
times.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from load_timing import CallbackKey

from dialer.calendar import CallingRules, is_callable
from dialer.campaigns import Config, calling_rules
from dialer.models import Attempt
from dialer.models.pacing import live_attempt_condition
from dialer.sandbox import CallView

FOREVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"  {'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


@dataclass(frozen=True)
class AttemptRow:
    id: int
    entry_id: int
    campaign_id: str
    phone: str
    started_at: datetime
    ended_at: datetime | None
    call_sid: str | None
    outcome: str | None


def read_attempts(engine: sa.Engine) -> list[AttemptRow]:
    query = sa.select(
        Attempt.id,
        Attempt.entry_id,
        Attempt.campaign_id,
        Attempt.phone,
        Attempt.started_at,
        Attempt.ended_at,
        Attempt.call_sid,
        Attempt.outcome,
    )
    with engine.connect() as connection:
        return [AttemptRow(*row) for row in connection.execute(query)]


def overlapping(spans: Mapping[Hashable, list[tuple[datetime, datetime]]]) -> list[Hashable]:
    """The keys with two spans that overlap (a span without an end lasts forever)."""
    found = []
    for key, intervals in spans.items():
        latest: datetime | None = None
        for start, end in sorted(intervals):
            if latest is not None and start < latest:
                found.append(key)
                break
            latest = end if latest is None else max(latest, end)
    return found


def double_dials(attempts: Sequence[AttemptRow], calls: Sequence[CallView]) -> list[Check]:
    by_entry: dict[Hashable, list[tuple[datetime, datetime]]] = defaultdict(list)
    by_phone: dict[Hashable, list[tuple[datetime, datetime]]] = defaultdict(list)
    for row in attempts:
        span = (row.started_at, row.ended_at or FOREVER)
        by_entry[row.entry_id].append(span)
        if row.call_sid is not None:
            by_phone[row.phone].append(span)
    by_number: dict[Hashable, list[tuple[datetime, datetime]]] = defaultdict(list)
    for call in calls:
        by_number[call.to].append((call.date_created, call.end_time or FOREVER))
    entries, phones, numbers = (overlapping(spans) for spans in (by_entry, by_phone, by_number))
    return [
        Check(
            "no two attempts of one entry overlap",
            not entries,
            f"{len(entries)} entries of {len(by_entry):,} with overlapping attempts"
            + _examples(entries),
        ),
        Check(
            "no two placed attempts to one phone overlap",
            not phones,
            f"{len(phones)} phones of {len(by_phone):,}" + _examples(phones),
        ),
        Check(
            "no two live calls to one number (sandbox)",
            not numbers,
            f"{len(numbers)} numbers of {len(by_number):,} called twice at once"
            + _examples(numbers),
        ),
    ]


def explain_numbers(
    attempts: Sequence[AttemptRow], calls: Sequence[CallView], count: int = 3
) -> list[str]:
    """For the first `count` numbers the sandbox called twice at once: its calls and the
    attempts to it, side by side (simulated UTC times)."""
    by_number: dict[Hashable, list[tuple[datetime, datetime]]] = defaultdict(list)
    for call in calls:
        by_number[call.to].append((call.date_created, call.end_time or FOREVER))
    lines = []
    for number in overlapping(by_number)[:count]:
        lines.append(f"    number {number}:")
        for call in sorted((c for c in calls if c.to == number), key=lambda c: c.date_created):
            lines.append(
                f"      call {call.sid} created {call.date_created:%H:%M:%S.%f} "
                f"ended {_time(call.end_time)} {call.status}"
            )
        for row in sorted((r for r in attempts if r.phone == number), key=lambda r: r.id):
            lines.append(
                f"      attempt {row.id} entry {row.entry_id} started "
                f"{row.started_at:%H:%M:%S.%f} ended {_time(row.ended_at)} "
                f"outcome {row.outcome} sid {row.call_sid}"
            )
    return lines


def _time(at: datetime | None) -> str:
    return "-" if at is None else f"{at:%H:%M:%S.%f}"


def calendar(
    config: Config, attempts: Sequence[AttemptRow], calls: Sequence[CallView]
) -> list[Check]:
    rules: dict[str, CallingRules] = {c.id: calling_rules(config, c.id) for c in config.campaigns}
    outside = [
        row.id for row in attempts if not is_callable(rules[row.campaign_id], row.started_at)
    ]
    campaign_of = {row.call_sid: row.campaign_id for row in attempts if row.call_sid}
    created_outside = [
        call.sid
        for call in calls
        if call.sid in campaign_of
        and not is_callable(rules[campaign_of[call.sid]], call.date_created)
    ]
    return [
        Check(
            "every attempt started when its campaign may call",
            not outside,
            f"{len(outside)} of {len(attempts):,} attempts outside the calendar"
            + _examples(outside),
        ),
        Check(
            "every call created when its campaign may call (sandbox's time)",
            not created_outside,
            f"{len(created_outside)} of {len(calls):,} calls" + _examples(created_outside),
        ),
    ]


def entries_settled(engine: sa.Engine) -> list[Check]:
    states_query = sa.text(
        "SELECT state, count(*), count(*) FILTER (WHERE next_attempt_at IS NULL) "
        "FROM call_list_entries GROUP BY state ORDER BY state"
    )
    live_query = sa.select(sa.func.count()).select_from(Attempt).where(live_attempt_condition())
    with engine.connect() as connection:
        states = {
            state: (count, undated) for state, count, undated in connection.execute(states_query)
        }
        live = connection.scalar(live_query) or 0
    in_progress = states.get("in_progress", (0, 0))[0]
    undated = states.get("pending", (0, 0))[1]
    summary = ", ".join(f"{state} {count:,}" for state, (count, _) in states.items())
    return [
        Check(
            "every entry terminal or due",
            in_progress == 0 and undated == 0,
            f"{in_progress} in_progress, {undated} pending without next_attempt_at ({summary})",
        ),
        Check("no attempt left live", live == 0, f"{live} attempts without a final status"),
    ]


def callbacks_logged(engine: sa.Engine, accepted: Counter[CallbackKey]) -> list[Check]:
    query = sa.text(
        "SELECT kind, coalesce(payload->>'CallSid', ''),"
        " coalesce(payload->>'SequenceNumber', ''), coalesce(payload->>'CallStatus', ''),"
        " coalesce(payload->>'AnsweredBy', ''), count(*),"
        " count(*) FILTER (WHERE applied_at IS NULL) FROM call_events GROUP BY 1, 2, 3, 4, 5"
    )
    stored: Counter[CallbackKey] = Counter()
    unapplied = 0
    with engine.connect() as connection:
        for kind, sid, sequence, status, answered_by, count, pending in connection.execute(query):
            stored[(kind, sid, sequence, status, answered_by)] = count
            unapplied += pending
    missing = {key: n - stored[key] for key, n in accepted.items() if stored[key] < n}
    sent, rows = sum(accepted.values()), sum(stored.values())
    return [
        Check(
            "every callback the app accepted is in call_events",
            not missing,
            f"{sum(missing.values())} of {sent:,} accepted callbacks missing "
            f"({rows:,} rows stored)" + _examples(list(missing)),
        ),
        Check("every stored callback applied", unapplied == 0, f"{unapplied} unapplied"),
    ]


def calls_owned(
    attempts: Sequence[AttemptRow], calls: Sequence[CallView], operator_phones: frozenset[str]
) -> list[Check]:
    owned = {row.call_sid for row in attempts if row.call_sid}
    to_customers = [call for call in calls if call.to not in operator_phones]
    orphans = [call.sid for call in to_customers if call.sid not in owned]
    placed = {call.sid for call in calls}
    invented = [row.id for row in attempts if row.call_sid and row.call_sid not in placed]
    legs = len(calls) - len(to_customers)
    return [
        Check(
            "every call the sandbox placed to a customer belongs to an attempt",
            not orphans,
            f"{len(orphans)} of {len(to_customers):,} calls unknown to the database "
            f"(and {legs} calls to operators' phones)" + _examples(orphans),
        ),
        Check(
            "every attempt's CallSid is a call the sandbox placed",
            not invented,
            f"{len(invented)} attempts" + _examples(invented),
        ),
    ]


def peak_concurrency(calls: Iterable[CallView]) -> int:
    """The most calls alive at once, by the sandbox's times (created to ended)."""
    edges: list[tuple[datetime, int]] = []
    for call in calls:
        edges.append((call.date_created, 1))
        edges.append((call.end_time or FOREVER, -1))
    peak = alive = 0
    for _, step in sorted(edges, key=lambda edge: (edge[0], edge[1])):
        alive += step
        peak = max(peak, alive)
    return peak


def all_checks(
    engine: sa.Engine,
    config: Config,
    calls: Sequence[CallView],
    accepted: Counter[CallbackKey],
) -> list[Check]:
    attempts = read_attempts(engine)
    operator_phones = frozenset(o.phone for o in config.operators if o.phone)
    customers = [call for call in calls if call.to not in operator_phones]
    peak = peak_concurrency(customers)
    limit = config.policy.max_concurrent_calls
    return [
        *double_dials(attempts, customers),
        *calendar(config, attempts, customers),
        *entries_settled(engine),
        *callbacks_logged(engine, accepted),
        *calls_owned(attempts, calls, operator_phones),
        Check(
            "live calls never above policy.max_concurrent_calls (sandbox)",
            peak <= limit,
            f"peak {peak} (limit {limit})",
        ),
    ]


def _examples(items: Sequence[object], count: int = 3) -> str:
    return f"; e.g. {', '.join(map(str, items[:count]))}" if items else ""
