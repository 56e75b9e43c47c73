"""Dispatch overhead: calls/s and CPU ms per call of one worker on PostgreSQL.

    python bench/bench_dispatch.py [--entries 3000] [--batch-size 50] [--postgres-url URL]

Twilio is a small HTTP server on 127.0.0.1, in a process of its own, that answers every create
at once (201 and a queued call), so the figures are the dispatcher's own: claim, check every
rule, take pacing permits, commit, place the call through the real `TwilioProvider` (the
official SDK over HTTP), and record its CallSid. The limits are set far above what one worker
reaches, so pacing never makes a call wait. CPU time is this process's (the dispatcher and its
database driver), not the fake Twilio's nor PostgreSQL's. The issue's target: ≥ 200 calls/s.

`bench_pacing.py` reuses the fake Twilio, the database set-up and the clock from here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any, ClassVar
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from dialer.campaigns import Config, parse_config
from dialer.db import make_engine, make_session_factory, normalize_url, upgrade
from dialer.dispatch import DispatchOptions, dispatch_tick
from dialer.models import CallListEntry, Customer, CustomerPhone, EntryState
from dialer.settings import Settings
from dialer.telephony.twilio import TwilioProvider

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ACCOUNT_SID = "AC" + "b" * 32
#: A Monday at 10:00 in Tokyo: the benchmarks' clock starts here and runs at real speed.
OPEN_INSTANT = datetime(2026, 11, 2, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))

CAMPAIGNS_YAML = """\
company: {{name: 株式会社みどり通販, caller_id: "+81312345678"}}
policy:
  hours: "09:00-20:00"
  holidays: none
  max_attempts_per_customer_week: 10
  account_cps: {cps}
  max_concurrent_calls: {concurrent}
operators: [{{id: sato, name: 佐藤, phone: "+81311112222", queues: []}}]
campaigns:
  - id: bench
    name: ベンチマーク
    purpose: 定期お届け便のご案内
    kind: service
    segment: {{orders_count: 1}}
    windows: {{daily: ["09:00-20:00"]}}
    pacing: {{mode: agentless, cps: {cps}, max_concurrent: {concurrent}}}
    ivr:
      greeting: "{{company}}でございます。{{purpose}}のお電話です。"
      menu: {{"9": {{action: opt_out}}}}
"""


def bench_config(*, cps: float, concurrent: int) -> Config:
    """One agentless campaign open all day, with these limits for it and the account."""
    text = CAMPAIGNS_YAML.format(cps=float(cps), concurrent=concurrent)
    return parse_config(text.encode(), "bench-campaigns.yaml")


# --- Twilio that answers at once ---------------------------------------------------------------


class _TwilioHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    sids = itertools.count(1)
    arrivals: ClassVar[list[tuple[float, str]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        form = dict(parse_qsl(self.rfile.read(length).decode()))
        self.arrivals.append((time.time(), form.get("To", "")))
        now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        call = {
            "sid": f"CA{next(self.sids):032x}",
            "to": form.get("To", ""),
            "from": form.get("From", ""),
            "status": "queued",
            "date_created": now,
            "account_sid": ACCOUNT_SID,
        }
        self._answer(201, call)

    def do_GET(self) -> None:
        if self.path == "/_arrivals":
            self._answer(200, [list(arrival) for arrival in self.arrivals])
            return
        self._answer(200, {"calls": [], "next_page_uri": None, "page": 0, "page_size": 50})

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _serve(ready: Connection) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TwilioHandler)
    ready.send(server.server_address[1])
    server.serve_forever()


@contextmanager
def fake_twilio() -> Iterator[str]:
    """The base URL of a Twilio that answers every create at once, in its own process."""
    receiver, sender = multiprocessing.Pipe(duplex=False)
    process = multiprocessing.Process(target=_serve, args=(sender,), daemon=True)
    process.start()
    try:
        yield f"http://127.0.0.1:{receiver.recv()}"
    finally:
        process.terminate()
        process.join()


def arrivals(base_url: str) -> list[tuple[float, str]]:
    """When each create reached the fake Twilio (its wall clock), and for which number."""
    import requests  # type: ignore[import-untyped,unused-ignore]

    answer = requests.get(f"{base_url}/_arrivals", timeout=10)
    return [(float(at), str(to)) for at, to in answer.json()]


# --- the database ------------------------------------------------------------------------------


@contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    """A migrated schema of its own on `server_url`, dropped afterwards."""
    server = normalize_url(server_url)
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = server.update_query_dict({"options": f"-csearch_path={schema}"})
    text = url.render_as_string(hide_password=False)
    try:
        upgrade(text)
        yield text
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def seed_entries(url: str, count: int, *, campaign_id: str = "bench") -> None:
    """`count` customers with one mobile number each, all due in `campaign_id`."""
    engine = make_engine(url)
    due = OPEN_INSTANT - timedelta(hours=1)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(Customer),
            [
                {"id": n, "external_id": f"B{n:07d}", "name": "ベンチ 太郎", "opt_in": True}
                for n in range(1, count + 1)
            ],
        )
        connection.execute(
            sa.insert(CustomerPhone),
            [
                {
                    "customer_id": n,
                    "preference": 1,
                    "raw": f"090{n:08d}",
                    "e164": f"+8190{n:08d}",
                    "phone_class": "mobile",
                }
                for n in range(1, count + 1)
            ],
        )
        connection.execute(
            sa.insert(CallListEntry),
            [
                {
                    "campaign_id": campaign_id,
                    "customer_id": n,
                    "state": EntryState.PENDING,
                    "priority": 0,
                    "next_attempt_at": due,
                    "phone": f"+8190{n:08d}",
                }
                for n in range(1, count + 1)
            ],
        )
    engine.dispose()


def settings_for(url: str, twilio_base_url: str) -> Settings:
    return Settings(
        database_url=url,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token="bench-token",
        twilio_api_base_url=twilio_base_url,
        public_base_url="https://dialer.example.jp",
    )


class BenchClock:
    """`OPEN_INSTANT` plus the wall-clock time elapsed since `started` (shared by processes)."""

    def __init__(self, started: float) -> None:
        self.started = started

    def __call__(self) -> datetime:
        return OPEN_INSTANT + timedelta(seconds=time.time() - self.started)

    def wait_until(self, slot: datetime, _now: datetime) -> timedelta:
        delay = (slot - self()).total_seconds()
        if delay > 0:
            time.sleep(delay)
        return max(self() - slot, timedelta(0))


# --- the measurement ---------------------------------------------------------------------------


def measure(url: str, twilio_base_url: str, *, entries: int, batch_size: int) -> dict[str, float]:
    settings = settings_for(url, twilio_base_url)
    config = bench_config(cps=100_000, concurrent=1_000_000)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    provider = TwilioProvider.from_settings(settings)
    clock = BenchClock(time.time())
    options = DispatchOptions(batch_size=batch_size, wait_until=clock.wait_until)

    def tick() -> int:
        result = dispatch_tick(sessions, config, provider, settings, now=clock(), options=options)
        return result.placed

    warm_up = tick()  # connections, SDK and statement caches
    placed = 0
    wall, cpu = time.perf_counter(), time.process_time()
    while placed < entries - warm_up:
        placed_now = tick()
        if placed_now == 0:
            break
        placed += placed_now
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    engine.dispose()
    return {
        "calls": placed,
        "seconds": wall,
        "calls_per_second": placed / wall,
        "cpu_ms_per_call": 1000 * cpu / placed,
        "wall_ms_per_call": 1000 * wall / placed,
    }


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    with fake_twilio() as twilio_base_url, fresh_postgres(args.postgres_url) as url:
        seed_entries(url, args.entries)
        figures = measure(url, twilio_base_url, entries=args.entries, batch_size=args.batch_size)
    print(f"dispatch, one worker, PostgreSQL, batch {args.batch_size}")
    print(f"  calls placed       {figures['calls']:>10.0f}")
    print(f"  elapsed            {figures['seconds']:>10.2f} s")
    print(f"  calls/s            {figures['calls_per_second']:>10.1f}   (target >= 200)")
    print(f"  CPU ms per call    {figures['cpu_ms_per_call']:>10.2f}")
    print(f"  wall ms per call   {figures['wall_ms_per_call']:>10.2f}")


if __name__ == "__main__":
    main()
