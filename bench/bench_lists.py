"""List build against hand-written SQL: the F2 and dormant campaigns on SQLite and PostgreSQL.

    python bench/bench_lists.py [--customers 200000] [--orders 1000000] [--engines ...]
                                [--repeat 3] [--workdir DIR] [--keep]

Builds a seeded synthetic shop (`dialer.synthetic`, imported with `dialer.importer`, DNC list
included) once per engine, adds a contact history (every 20th customer called three days ago by
another campaign, every 40th reached), and refreshes the statistics. Then, each in a fresh
process: every list built once, for the peak RSS of a process that builds them; then per
campaign, in rounds, the hand-written statements computing the same member set and the full
build of its list from empty (`dialer.lists.build_list`: segment, suppression, entries
written) back to back, so that both see the same load and caches (best of `--repeat`; the
faster hand-written form is the baseline), and the rebuild over unchanged data.

The issue's targets, for F2 and dormant: full build within 2× of the hand-written statement,
peak RSS under 300 MB. A third campaign, every buyer, is not a target: it shows how the build
scales when the list is as large as the shop. The line says MEMBERS DIFFER if the list does not
hold exactly the hand-written member set.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from shop_db import HAND_SQL as SHARED_HAND_SQL
from shop_db import customers_in, in_child, load_shop, peak_rss_mb, shop_arguments, shop_database

from dialer.campaigns import Config, parse_config
from dialer.db import make_engine
from dialer.lists import build_list
from dialer.models import CallListEntry, UTCDateTime
from dialer.segment_sql.days import DayCounter
from dialer.synthetic import DEFAULT_AS_OF

NAME = "bench_lists"
KINDS = ("customers", "orders", "subscriptions", "mailings", "dnc")
JST = ZoneInfo("Asia/Tokyo")
NOW = datetime.combine(DEFAULT_AS_OF, clock_time(9, 0), tzinfo=JST)
HISTORY = "earlier-campaign"

CAMPAIGNS_YAML = """\
company: {name: 株式会社みどり通販, caller_id: "+81312345678"}
operators:
  - id: sato
    name: 佐藤
    phone: "+81311112222"
    queues: [f2-followup, dormant-reactivation, all-buyers]
campaigns:
  - id: f2-followup
    name: 2回目購入のご案内
    purpose: 定期お届け便のご案内
    kind: solicitation
    priority: 80
    segment:
      all:
        - orders_count: 1
        - first_order_days_ago: {between: [14, 45]}
        - not: {subscription_status: {in: [active, paused]}}
      order_by: [first_order_value desc]
    windows: {mon-fri: ["10:00-12:00", "13:00-19:00"]}
    ivr: &ivr
      greeting: "{company}でございます。{purpose}のお電話です。"
      menu: {"1": {action: agent}, "9": {action: opt_out}}
  - id: dormant-reactivation
    name: 休眠顧客 掘り起こし
    purpose: 新商品のご案内
    kind: solicitation
    priority: 60
    segment:
      all:
        - orders_count: {gte: 2}
        - last_order_days_ago: {gt: 180}
        - not: {subscription_status: active}
      order_by: [lifetime_value desc, last_order_days_ago]
      limit: 1000
    windows: {mon-fri: ["10:00-12:00", "13:00-18:00"]}
    ivr: *ivr
  - id: all-buyers
    name: 全購入者
    purpose: 新商品のご案内
    kind: solicitation
    priority: 40
    segment:
      orders_count: {gte: 1}
      order_by: [lifetime_value desc]
    windows: {mon-fri: ["10:00-12:00", "13:00-18:00"]}
    ivr: *ivr
"""

#: The shared baselines, and one for a list that holds the whole shop.
HAND_SQL: dict[str, tuple[str, ...]] = {
    **SHARED_HAND_SQL,
    "all-buyers": (
        """
        SELECT customer_id FROM orders GROUP BY customer_id
        ORDER BY sum(amount) DESC, customer_id
        """,
    ),
}


def _hand_params(campaign_id: str) -> dict[str, datetime]:
    days = DayCounter(NOW, JST)
    if campaign_id == "f2-followup":
        return {"oldest": days.start_of_day(45), "newest": days.start_of_day(13)}
    if campaign_id == "dormant-reactivation":
        return {"cutoff": days.start_of_day(180)}
    return {}


@dataclass(frozen=True)
class Comparison:
    """One campaign: its build and rebuild against the hand-written statements, same run."""

    campaign_id: str
    build_seconds: float
    rebuild_seconds: float
    hand_seconds: float
    in_segment: int
    pending: int
    suppressed: int
    same_members: bool


def _config() -> Config:
    return parse_config(CAMPAIGNS_YAML.encode(), "bench campaigns")


def _add_history(engine: sa.Engine) -> None:
    """Every 20th customer called three days ago by another campaign; every 40th reached."""
    called = NOW - timedelta(days=3)
    entries = sa.text(
        "INSERT INTO call_list_entries (campaign_id, customer_id, state, priority, "
        "attempt_count, last_attempt_at, last_outcome, closed_reason, closed_at) "
        "SELECT :campaign, id, 'done', 0, 1, :at, 'no-answer', 'max_attempts', :at "
        "FROM customers WHERE id % 20 = 0"
    ).bindparams(sa.bindparam("at", type_=UTCDateTime))
    attempts = sa.text(
        "INSERT INTO attempts (entry_id, attempt_number, campaign_id, customer_id, phone, "
        "started_at, answered_by, outcome) "
        "SELECT id, 1, campaign_id, customer_id, '+819000000000', :at, "
        "CASE WHEN customer_id % 40 = 0 THEN 'human' END, "
        "CASE WHEN customer_id % 40 = 0 THEN 'human' ELSE 'no-answer' END "
        "FROM call_list_entries WHERE campaign_id = :campaign"
    ).bindparams(sa.bindparam("at", type_=UTCDateTime))
    with engine.begin() as connection:
        connection.execute(entries, {"campaign": HISTORY, "at": called})
        connection.execute(attempts, {"campaign": HISTORY, "at": called})


def _clear_lists(engine: sa.Engine, campaign_ids: Sequence[str]) -> None:
    """Empty the lists for the next round; on PostgreSQL also vacuum, as autovacuum would after
    such a delete (a real list is never emptied at once, and the dead index entries would slow
    the next build's lookups by customer)."""
    with engine.begin() as connection:
        connection.execute(
            sa.delete(CallListEntry).where(CallListEntry.campaign_id.in_(campaign_ids))
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE call_list_entries")


def _listed(engine: sa.Engine, campaign_id: str) -> frozenset[int]:
    """The customers the list holds for its segment (pending or suppressed)."""
    query = sa.select(CallListEntry.customer_id).where(
        CallListEntry.campaign_id == campaign_id,
        CallListEntry.state.in_(("pending", "suppressed")),
    )
    with engine.connect() as connection:
        return frozenset(connection.execute(query).scalars())


def _statements(campaign_id: str) -> list[tuple[sa.TextClause, dict[str, datetime]]]:
    params = _hand_params(campaign_id)
    types = [sa.bindparam(name, type_=UTCDateTime) for name in params]
    return [(sa.text(sql).bindparams(*types), params) for sql in HAND_SQL[campaign_id]]


def _compare_in_child(url: str, campaign_id: str, repeat: int) -> Comparison:
    """Runs in a fresh process. Each round times the hand-written statements and then the full
    build from an empty list, back to back, so that both see the same machine and caches;
    then the rebuilds over unchanged data. The list is left built for the campaigns after it."""
    engine = make_engine(url)
    config = _config()
    build = rebuild = hand = float("inf")
    members: list[frozenset[int]] = []
    try:
        for _ in range(repeat):
            members = []
            for statement, params in _statements(campaign_id):
                with engine.connect() as connection:
                    started = time.perf_counter()
                    rows = connection.execute(statement, params)
                    members.append(frozenset(row[0] for row in rows))
                    hand = min(hand, time.perf_counter() - started)
            _clear_lists(engine, [campaign_id])
            started = time.perf_counter()
            build_list(engine, config, campaign_id, now=NOW)
            build = min(build, time.perf_counter() - started)
        for _ in range(repeat):
            started = time.perf_counter()
            result = build_list(engine, config, campaign_id, now=NOW)
            rebuild = min(rebuild, time.perf_counter() - started)
        listed = _listed(engine, campaign_id)
    finally:
        engine.dispose()
    return Comparison(
        campaign_id,
        build,
        rebuild,
        hand,
        result.in_segment,
        result.pending,
        result.suppressed_total,
        all(listed == found for found in members),
    )


def _peak_in_child(url: str) -> float:
    """Runs in a fresh process: every list built once from empty; the process's peak RSS."""
    engine = make_engine(url)
    config = _config()
    ids = [campaign.id for campaign in config.campaigns]
    try:
        _clear_lists(engine, ids)
        for campaign_id in ids:
            build_list(engine, config, campaign_id, now=NOW)
        return peak_rss_mb()
    finally:
        _clear_lists(engine, ids)
        engine.dispose()


def _bench_engine(engine_name: str, args: argparse.Namespace, directory: Path) -> None:
    with shop_database(NAME, engine_name, args, directory) as url:
        if customers_in(url) != args.customers:
            print(f"{engine_name}: loading the shop", flush=True)
            load_shop(url, NAME, args, directory, KINDS, after_import=_add_history)
        peak = in_child(_peak_in_child, url)
        ids = [campaign.id for campaign in _config().campaigns]
        _clear_lists_at(url, ids)
        for campaign_id in ids:
            found = in_child(_compare_in_child, url, campaign_id, args.repeat)
            print(
                f"{engine_name:<10} {campaign_id:<20} {found.in_segment:>9,} members "
                f"({found.pending:,} pending, {found.suppressed:,} suppressed)  "
                f"build {found.build_seconds:7.3f} s  hand-written {found.hand_seconds:7.3f} s  "
                f"ratio {found.build_seconds / found.hand_seconds:5.2f}  "
                f"rebuild {found.rebuild_seconds:7.3f} s  peak RSS {peak:4.0f} MB  "
                f"{'same members' if found.same_members else 'MEMBERS DIFFER'}",
                flush=True,
            )
        _clear_lists_at(url, ids)


def _clear_lists_at(url: str, campaign_ids: Sequence[str]) -> None:
    engine = make_engine(url)
    try:
        _clear_lists(engine, campaign_ids)
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    args = shop_arguments((__doc__ or "").splitlines()[0], argv)
    print(
        f"shop: {args.customers:,} customers, {args.orders:,} orders, "
        f"{args.subscriptions:,} subscriptions (seed {args.seed}); now {NOW:%Y-%m-%d %H:%M %Z}"
    )
    with tempfile.TemporaryDirectory(prefix=f"{NAME}_") as temporary:
        directory = args.workdir or Path(temporary)
        directory.mkdir(parents=True, exist_ok=True)
        for engine_name in args.engines.split(","):
            _bench_engine(engine_name, args, directory)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
