"""Webhook throughput: signed status callbacks served by gunicorn against PostgreSQL.

    python bench/bench_webhooks.py [--calls 1500] [--clients 8] [--workers 2]

Each call gets Twilio's four status callbacks (initiated, ringing, in-progress, completed), every
one signed with the auth token for the public URL, as Twilio sends them. A request checks the
signature, appends the callback to the event log (committed), then moves the attempt forward;
`completed` also settles the call list entry. gunicorn runs as the Procfile runs it (sync
workers); the bare endpoint is `/healthz` (Flask, no database) under the same server in the same
run, which gives the ratio. The issue's target: ≥ 500 requests/s with p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from bench_dispatch import (
    ACCOUNT_SID,
    CAMPAIGNS_YAML,
    DEFAULT_POSTGRES_URL,
    OPEN_INSTANT,
    fresh_postgres,
    seed_entries,
)
from twilio.request_validator import RequestValidator

from dialer.db import make_engine
from dialer.models import UTCDateTime

TOKEN = "bench-token"
STATUSES = ("initiated", "ringing", "in-progress", "completed")
Request = tuple[str, str, bytes, dict[str, str]]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_calls(url: str, calls: int) -> None:
    """Every entry in progress with one attempt that Twilio knows by its CallSid."""
    seed_entries(url, calls)
    attempts = sa.text(
        "INSERT INTO attempts (entry_id, attempt_number, campaign_id, customer_id, phone, "
        "started_at, call_sid, status) "
        "SELECT id, 1, campaign_id, customer_id, phone, :at, "
        "'CA' || lpad(to_hex(id), 32, '0'), 'queued' FROM call_list_entries"
    ).bindparams(sa.bindparam("at", type_=UTCDateTime))
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(attempts, {"at": OPEN_INSTANT})
        connection.exec_driver_sql(
            "UPDATE call_list_entries SET state = 'in_progress', attempt_count = 1"
        )
    engine.dispose()


def _callbacks(url: str, public: str) -> list[Request]:
    """Signed status callbacks, call by call in Twilio's order."""
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT id, call_sid, phone FROM attempts ORDER BY id")
        attempts = list(rows)
    engine.dispose()
    validator = RequestValidator(TOKEN)
    requests: list[Request] = []
    for attempt_id, sid, phone in attempts:
        path = f"/twilio/status?attempt={attempt_id}"
        for sequence, status in enumerate(STATUSES):
            form = {
                "AccountSid": ACCOUNT_SID,
                "ApiVersion": "2010-04-01",
                "CallSid": sid,
                "CallStatus": status,
                "CallbackSource": "call-progress-events",
                "Direction": "outbound-api",
                "From": "+81312345678",
                "SequenceNumber": str(sequence),
                "To": phone,
                **({"CallDuration": "42", "Duration": "1"} if status == "completed" else {}),
            }
            signature = validator.compute_signature(public + path, form)
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": signature,
            }
            requests.append(("POST", path, urlencode(form).encode(), headers))
    return requests


@contextmanager
def _gunicorn(url: str, port: int, workers: int, campaigns: Path) -> Iterator[None]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DIALER_CAMPAIGNS": str(campaigns),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
        "web:create_app()",
    ]
    server = subprocess.Popen(command, env=env)
    try:
        _wait_until_up(port)
        yield
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not come up")


def _drive(port: int, requests: Sequence[Request], clients: int) -> tuple[float, list[float], int]:
    """Send every request once from `clients` threads; wall seconds, latencies, failures.

    Each client takes every `clients`-th call's callbacks in order, so one call's callbacks
    arrive in sequence, as from Twilio; different calls interleave.
    """
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()

    def client(share: Sequence[Request]) -> None:
        mine: list[float] = []
        bad = 0
        for method, path, body, headers in share:
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            response.read()
            connection.close()
            mine.append(time.perf_counter() - started)
            bad += response.status >= 300
        with lock:
            latencies.extend(mine)
            failures[0] += bad

    shares = _shares(requests, clients)
    threads = [threading.Thread(target=client, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, failures[0]


def _shares(requests: Sequence[Request], clients: int) -> list[list[Request]]:
    per_call = len(STATUSES) if requests and requests[0][0] == "POST" else 1
    calls = [requests[i : i + per_call] for i in range(0, len(requests), per_call)]
    return [[r for call in calls[k::clients] for r in call] for k in range(clients)]


def _report(label: str, seconds: float, latencies: list[float], failures: int) -> float:
    ordered = sorted(latencies)
    p99 = ordered[int(0.99 * (len(ordered) - 1))] * 1000
    rate = len(latencies) / seconds
    print(
        f"{label:<22} {len(latencies):>6} requests  {rate:8.1f} req/s  "
        f"p50 {statistics.median(ordered) * 1000:6.1f} ms  p99 {p99:6.1f} ms  "
        f"failures {failures}"
    )
    return rate


def _verify(url: str, calls: int) -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        events = connection.exec_driver_sql("SELECT count(*) FROM call_events").scalar_one()
        unapplied = connection.exec_driver_sql(
            "SELECT count(*) FROM call_events WHERE applied_at IS NULL"
        ).scalar_one()
        done = connection.exec_driver_sql(
            "SELECT count(*) FROM attempts WHERE status = 'completed' AND outcome = 'human'"
        ).scalar_one()
    engine.dispose()
    print(f"event log: {events} stored, {unapplied} unapplied; {done}/{calls} calls completed")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    )
    args = parser.parse_args(argv)
    port = _free_port()
    with (
        fresh_postgres(args.postgres_url) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        campaigns = Path(tmp) / "campaigns.yaml"
        campaigns.write_text(CAMPAIGNS_YAML.format(cps=1.0, concurrent=20), encoding="utf-8")
        _start_calls(url, args.calls)
        callbacks = _callbacks(url, f"http://127.0.0.1:{port}")
        bare = [("GET", "/healthz", b"", {})] * len(callbacks)
        with _gunicorn(url, port, args.workers, campaigns):
            _drive(port, bare[:200], args.clients)  # warm-up: imports, first connections
            bare_rate = _report("bare /healthz", *_drive(port, bare, args.clients))
            hook_rate = _report("signed /twilio/status", *_drive(port, callbacks, args.clients))
        print(f"ratio status callbacks / bare endpoint: {hook_rate / bare_rate:.2f}")
        _verify(url, args.calls)


if __name__ == "__main__":
    main()
