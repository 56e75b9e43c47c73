"""The dashboard on a big floor: 1,000,000 attempts over 10 campaigns in PostgreSQL.

    python bench/bench_dashboard.py [--attempts 1000000] [--campaigns 10] [--runs 15]
                                    [--keep] [--explain] [--postgres-url URL]

Generates the rows in the database itself (INSERT … SELECT generate_series: 200,000 customers
with a phone each, one call list entry per customer, five attempts per entry spread over 30 days
with 3 % of them today, inserted in time order as the log grows, key presses for the hold queue
and opt-outs, 50 calls in progress),
runs VACUUM ANALYZE, then times through the Flask test client, as a logged-in supervisor:
the overview's JSON (`/api/overview`) and page, the call log's first page (plain and
filtered), the charts' JSON and a customer page. Each figure is the median of `--runs` requests
after two warm-up requests. The ratio compares each endpoint with its read model's queries
alone (`kpis.list_counts` + `kpis.today_figures`; `calllog.search`). Targets: overview and the
call log's first page under 300 ms. With `--keep` the schema stays and later runs with the same
sizes reuse it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import yaml
from psycopg import ClientCursor

from dialer.calllog import LogFilter, search
from dialer.db import make_engine, make_session_factory, normalize_url, upgrade
from dialer.kpis import list_counts, today_figures
from dialer.read_only import read_only
from dialer.settings import Settings
from dialer.users import create_user
from web import create_app
from web.database import database

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
JST = ZoneInfo("Asia/Tokyo")
ATTEMPTS_PER_ENTRY = 5
TARGET_MS = 300.0


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="keep and reuse the schema")
    parser.add_argument("--explain", action="store_true", help="print the aggregate plans")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    )
    return parser.parse_args(argv)


@contextmanager
def _schema(args: argparse.Namespace) -> Iterator[tuple[str, bool]]:
    """A schema of its own; yields its URL and whether it already holds the data."""
    server = normalize_url(args.postgres_url)
    name = f"bench_dashboard_{args.attempts}_{args.campaigns}"
    admin = make_engine(server)
    with admin.begin() as connection:
        exists = connection.execute(
            sa.text("SELECT 1 FROM information_schema.schemata WHERE schema_name = :name"),
            {"name": name},
        ).first()
        connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{name}"')
    url = server.update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False), exists is not None and args.keep
    finally:
        if not args.keep:
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
        admin.dispose()


def campaign_ids(count: int) -> list[str]:
    return [f"campaign-{number:02d}" for number in range(count)]


def _campaigns_yaml(count: int) -> str:
    campaigns = [
        {
            "id": campaign_id,
            "name": f"ベンチ用キャンペーン {number + 1}",
            "purpose": "定期お届け便のご案内",
            "kind": "service",
            "priority": 90 - number,
            "segment": {"orders_count": {"gte": 1}},
            "windows": {"daily": ["09:00-20:00"]},
            "pacing": {"mode": "ivr-then-agent", "cps": 1.0, "max_concurrent": 5},
            "ivr": {
                "greeting": "{company}でございます。{purpose}のお電話です。",
                "menu": {"1": {"action": "agent"}, "9": {"action": "opt_out"}},
            },
        }
        for number, campaign_id in enumerate(campaign_ids(count))
    ]
    document = {
        "company": {"name": "株式会社みどり通販", "caller_id": "+81312345678"},
        "operators": [
            {"id": "sato", "name": "佐藤", "phone": "+81311112222", "queues": campaign_ids(count)}
        ],
        "campaigns": campaigns,
    }
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


_TABLES = ("customers", "customer_phones", "call_list_entries", "attempts", "key_presses")

# The rows, generated in the database. :customers, :campaigns, :today_start and :now are bound.
_GENERATE = [
    "SELECT setseed(0.42)",
    """
    INSERT INTO customers (external_id, name, name_kana, opt_in)
    SELECT 'C' || lpad(i::text, 7, '0'), '顧客 ' || i, 'コキャク ' || i, true
    FROM generate_series(1, :customers) AS i
    """,
    """
    INSERT INTO customer_phones (customer_id, preference, raw, e164, phone_class)
    SELECT id, 1, '090' || lpad((id * 7919 % 100000000)::text, 8, '0'),
           '+8190' || lpad((id * 7919 % 100000000)::text, 8, '0'), 'mobile'
    FROM customers
    """,
    """
    INSERT INTO call_list_entries (campaign_id, customer_id, state, attempt_count,
        next_attempt_at, phone, suppressed_reason, closed_reason, closed_at)
    SELECT 'campaign-' || lpad((c.id % :campaigns)::text, 2, '0'), c.id, s.state, 5,
           CASE WHEN s.state = 'pending' THEN CAST(:now AS timestamptz) + interval '1 day' END,
           p.e164,
           CASE WHEN s.state = 'suppressed' THEN 'cooldown' END,
           CASE WHEN s.state = 'done' THEN 'reached' END,
           CASE WHEN s.state = 'done' THEN CAST(:now AS timestamptz) END
    FROM customers c
    JOIN customer_phones p ON p.customer_id = c.id
    CROSS JOIN LATERAL (SELECT CASE WHEN random() < 0.80 THEN 'done'
                                    WHEN random() < 0.75 THEN 'pending'
                                    ELSE 'suppressed' END AS state) AS s
    """,
    """
    INSERT INTO attempts (entry_id, attempt_number, campaign_id, customer_id, phone, started_at,
        call_sid, status, outcome, answered_by, duration_seconds, queue_result,
        queue_time_seconds, disposition, operator_id, ended_at)
    SELECT entry_id, k, campaign_id, customer_id, phone, started_at,
           'CA' || md5(entry_id::text || '-' || k::text),
           CASE WHEN r < 0.45 THEN 'completed' WHEN r < 0.75 THEN 'no-answer'
                WHEN r < 0.90 THEN 'busy' WHEN r < 0.97 THEN 'failed' ELSE 'canceled' END,
           CASE WHEN r < 0.30 THEN 'human' WHEN r < 0.45 THEN 'machine'
                WHEN r < 0.75 THEN 'no-answer' WHEN r < 0.90 THEN 'busy'
                WHEN r < 0.97 THEN 'failed' ELSE 'canceled' END,
           CASE WHEN r < 0.30 THEN 'human' WHEN r < 0.45 THEN 'machine_start' END,
           CASE WHEN r < 0.45 THEN 20 + (r2 * 580)::int END,
           CASE WHEN r < 0.20 THEN CASE WHEN r2 < 0.85 THEN 'bridged' ELSE 'hangup' END END,
           CASE WHEN r < 0.20 THEN (r3 * 120)::int END,
           CASE WHEN r < 0.20 AND r2 < 0.85 THEN
                CASE WHEN r3 < 0.15 THEN 'converted' WHEN r3 < 0.25 THEN 'retained_skip'
                     WHEN r3 < 0.28 THEN 'refused' ELSE 'reached' END END,
           CASE WHEN r < 0.20 AND r2 < 0.85 THEN 'sato' END,
           started_at + interval '3 minutes'
    FROM (
        SELECT e.id AS entry_id, k, e.campaign_id, e.customer_id, e.phone,
               random() AS r, random() AS r2, random() AS r3,
               CASE WHEN random() < 0.03
                    THEN CAST(:today_start AS timestamptz)
                         + random() * :today_seconds * interval '1 second'
                    ELSE CAST(:now AS timestamptz) - interval '1 day'
                         - random() * interval '29 days'
               END AS started_at
        FROM call_list_entries e CROSS JOIN generate_series(1, 5) AS k
    ) AS generated
    ORDER BY started_at
    """,
    """
    INSERT INTO key_presses (attempt_id, pressed_at, step, digits, action)
    SELECT id, started_at, 'menu', '1', 'agent' FROM attempts WHERE queue_result IS NOT NULL
    """,
    """
    INSERT INTO key_presses (attempt_id, pressed_at, step, digits, action)
    SELECT id, started_at, 'menu', '9', 'opt_out' FROM attempts
    WHERE outcome = 'human' AND queue_result IS NULL AND duration_seconds % 50 = 0
    """,
    """
    INSERT INTO attempts (entry_id, attempt_number, campaign_id, customer_id, phone, started_at,
        call_sid, status)
    SELECT id, 6, campaign_id, customer_id, phone,
           CAST(:now AS timestamptz) - interval '1 minute', 'CA-live-' || id, 'in-progress'
    FROM call_list_entries WHERE state = 'pending' ORDER BY id LIMIT 50
    """,
]


def _generate(url: str, args: argparse.Namespace, now: datetime) -> None:
    entries = args.attempts // ATTEMPTS_PER_ENTRY
    today_start = datetime.combine(now.astimezone(JST).date(), clock_time(0), tzinfo=JST)
    params = {
        "customers": entries,
        "campaigns": args.campaigns,
        "now": now,
        "today_start": today_start,
        "today_seconds": (now - today_start).total_seconds(),
    }
    engine = make_engine(url)
    try:
        started = time.perf_counter()
        with engine.begin() as connection:
            for statement in _GENERATE:
                connection.execute(sa.text(statement), params)
        print(f"generated the rows in {time.perf_counter() - started:.1f} s", flush=True)
        started = time.perf_counter()
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f"VACUUM ANALYZE {', '.join(_TABLES)}")
        print(f"VACUUM ANALYZE in {time.perf_counter() - started:.1f} s", flush=True)
    finally:
        engine.dispose()


def _median_ms(action: Callable[[], Any], runs: int) -> float:
    for _ in range(2):
        action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _get(client: Any, path: str) -> Callable[[], None]:
    def fetch() -> None:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code}")

    return fetch


def _aggregates(sessions: Any, campaigns: list[str], now: datetime) -> Callable[[], None]:
    """The overview's two aggregate queries alone, as `kpis.overview` issues them."""
    start = datetime.combine(now.astimezone(JST).date(), clock_time(0), tzinfo=JST)

    def run() -> None:
        with sessions() as session, read_only(session):
            list_counts(session)
            today_figures(session, dict.fromkeys(campaigns, start), default_start=start, now=now)

    return run


def _log_page(sessions: Any, log_filter: LogFilter) -> Callable[[], None]:
    def run() -> None:
        with sessions() as session:
            search(session, log_filter, zone=JST)

    return run


def _explain(url: str, campaigns: list[str], now: datetime) -> None:
    engine = make_engine(url)
    start = datetime.combine(now.astimezone(JST).date(), clock_time(0), tzinfo=JST)
    try:
        with make_session_factory(engine)() as session, read_only(session):
            captured: list[str] = []

            @sa.event.listens_for(engine, "before_cursor_execute")
            def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
                captured.append(ClientCursor(cursor.connection).mogrify(statement, parameters))

            list_counts(session)
            today_figures(session, dict.fromkeys(campaigns, start), default_start=start, now=now)
            search(session, LogFilter(), zone=JST)
            sa.event.remove(engine, "before_cursor_execute", capture)
            with engine.connect() as connection:
                connection.exec_driver_sql("SET jit = off")
                for statement in captured:
                    explain = f"EXPLAIN (ANALYZE, BUFFERS) {statement}".replace("%", "%%")
                    plan = connection.exec_driver_sql(explain)
                    print("\n".join(row[0] for row in plan), "\n", flush=True)
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    now = datetime.now(UTC)
    campaigns = campaign_ids(args.campaigns)
    with _schema(args) as (url, reused), tempfile.TemporaryDirectory() as workdir:
        if not reused:
            upgrade(url)
            _generate(url, args, now)
        engine = make_engine(url)
        sessions = make_session_factory(engine)
        with sessions() as session:
            supervisor = session.scalar(sa.text("SELECT id FROM users WHERE username = 'bench'"))
        if supervisor is None:
            with sessions() as session:
                supervisor = create_user(
                    session, "bench", role="supervisor", password="bench-password", now=now
                ).id
        with sessions() as session:
            attempts = session.scalar(sa.text("SELECT count(*) FROM attempts"))
            today = session.scalar(
                sa.text("SELECT count(*) FROM attempts WHERE started_at >= :start"),
                {"start": datetime.combine(now.astimezone(JST).date(), clock_time(0), tzinfo=JST)},
            )
            customer = session.scalar(sa.text("SELECT external_id FROM customers LIMIT 1"))
        print(f"{attempts:,} attempts ({today:,} today), {args.campaigns} campaigns", flush=True)
        if args.explain:
            _explain(url, campaigns, now)

        path = Path(workdir) / "campaigns.yaml"
        path.write_text(_campaigns_yaml(args.campaigns), encoding="utf-8")
        settings = Settings(database_url=url, campaigns_path=path, secret_key="bench-secret")
        app = create_app(settings, {"TESTING": True})
        client = app.test_client()
        with client.session_transaction() as browser:
            browser["_user_id"] = str(supervisor)
            browser["_fresh"] = True

        aggregate = _median_ms(_aggregates(sessions, campaigns, now), args.runs)
        log_query = _median_ms(_log_page(sessions, LogFilter()), args.runs)
        rows = [
            ("GET /api/overview", "/api/overview", aggregate),
            ("GET /overview (page)", "/overview", aggregate),
            ("GET /calls (first page)", "/calls", log_query),
            ("GET /calls?campaign=…", f"/calls?campaign={campaigns[3]}", None),
            ("GET /calls?outcome=human", "/calls?outcome=human", None),
            ("GET /calls?phone=1234", "/calls?phone=1234", None),
            ("GET /calls?name=顧客 12345", "/calls?name=顧客 12345", None),
            ("GET /api/charts", "/api/charts", None),
            ("GET /customers/<id>", f"/customers/{customer}", None),
        ]
        print(f"\nmedian of {args.runs} runs (target: overview and call log < {TARGET_MS:.0f} ms)")
        print(f"  {'overview aggregates alone (2 queries)':<40} {aggregate:8.1f} ms")
        print(f"  {'call log first page query alone':<40} {log_query:8.1f} ms")
        for label, path_, baseline in rows:
            median = _median_ms(_get(client, path_), args.runs)
            ratio = f"  {median / baseline:4.2f}× the queries alone" if baseline else ""
            print(f"  {label:<40} {median:8.1f} ms{ratio}", flush=True)
        database(app).engine.dispose()
        engine.dispose()


if __name__ == "__main__":
    main()
