"""Webhook throughput: signed status callbacks served by gunicorn against PostgreSQL.

    python bench/bench_webhooks.py [--calls 1500] [--clients 8] [--workers N] [--runs 1]
                                   [--procfile PATH]

Each call gets Twilio's four status callbacks (initiated, ringing, in-progress, completed), every
one signed with the auth token for the public URL, as Twilio sends them. A request checks the
signature, appends the callback to the event log and moves the attempt forward (one transaction,
`dialer.callbacks.receive_event`); `completed` also settles the call list entry. gunicorn runs
with the Procfile's `web:` command line (its worker class, workers and threads; `--workers`
overrides the count), bound to a free local port; the bare endpoint is `/healthz` (Flask, no
database) under the same server in the same run, which gives the ratio. `--runs` repeats the
pair of measurements on fresh calls, since one run on a shared machine is noisy. Also printed:
the CPU time per callback of the gunicorn workers and of the PostgreSQL backends serving them
(read from /proc when PostgreSQL runs on this machine), which other load on the machine disturbs
far less than the rates. The issue's target: ≥ 500 requests/s with p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shlex
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
APPLICATION_NAME = "bench_webhooks"
PROCFILE = Path(__file__).resolve().parent.parent / "Procfile"
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


def _procfile_command(procfile: Path, port: int, workers: int | None) -> list[str]:
    """The Procfile's `web:` command, bound to `port`, with `workers` if given."""
    lines = procfile.read_text(encoding="utf-8").splitlines()
    web = next(line for line in lines if line.startswith("web:"))
    words = shlex.split(web.removeprefix("web:"))
    if words[0] != "gunicorn":
        raise SystemExit(f"{procfile}: the web process is not gunicorn: {web}")
    command = [str(Path(sys.executable).with_name("gunicorn"))]
    overrides = {"--bind": f"127.0.0.1:{port}", "--log-level": "warning"}
    if workers is not None:
        overrides["--workers"] = str(workers)
    rest = iter(words[1:])
    for word in rest:
        if word in overrides:
            next(rest)
        else:
            command.append(word)
    for option, value in overrides.items():
        command[-1:-1] = [option, value]
    return command


@contextmanager
def _gunicorn(
    url: str, port: int, campaigns: Path, procfile: Path, workers: int | None
) -> Iterator[int]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DIALER_CAMPAIGNS": str(campaigns),
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TOKEN,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    command = _procfile_command(procfile, port, workers)
    print(" ".join(shlex.quote(word) for word in command[1:]))
    # gunicorn puts its working directory first on sys.path: the checkout of this script, so
    # that a baseline checkout measures its own code.
    server = subprocess.Popen(command, env=env, cwd=PROCFILE.parent)
    try:
        _wait_until_up(port)
        yield server.pid
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


def _report(
    label: str, seconds: float, latencies: list[float], failures: int
) -> tuple[float, float]:
    """Print the figures of one measurement; its requests per second and p99 in ms."""
    ordered = sorted(latencies)
    p99 = ordered[int(0.99 * (len(ordered) - 1))] * 1000
    rate = len(latencies) / seconds
    print(
        f"{label:<22} {len(latencies):>6} requests  {rate:8.1f} req/s  "
        f"p50 {statistics.median(ordered) * 1000:6.1f} ms  p99 {p99:6.1f} ms  "
        f"failures {failures}"
    )
    return rate, p99


def _measure(
    port: int, callbacks: Sequence[Request], clients: int, cpu: _ServerCpu
) -> tuple[float, float, float]:
    """Bare endpoint, then the callbacks: callbacks req/s, their p99, and the ratio."""
    bare = [("GET", "/healthz", b"", {})] * len(callbacks)
    bare_rate, bare_p99 = _report("bare /healthz", *_drive(port, bare, clients))
    web_before, database_before, backends_before = cpu.seconds()
    rate, p99 = _report("signed /twilio/status", *_drive(port, callbacks, clients))
    web_after, database_after, backends_after = cpu.seconds()
    per_callback = 1000 / len(callbacks)
    database = (
        f"{(database_after - database_before) * per_callback:.2f} ms"
        if backends_before <= backends_after
        else "n/a (connections were closed: more threads than pooled connections?)"
    )
    print(
        f"ratio status callbacks / bare endpoint: {rate / bare_rate:.2f} req/s, "
        f"p99 {p99 / bare_p99:.1f}x; CPU per callback: gunicorn "
        f"{(web_after - web_before) * per_callback:.2f} ms, PostgreSQL {database}"
    )
    return rate, p99, rate / bare_rate


class _ServerCpu:
    """CPU seconds used so far by the gunicorn workers and their PostgreSQL backends (Linux)."""

    def __init__(self, url: str, master_pid: int) -> None:
        self._master_pid = master_pid
        self._engine = make_engine(url)

    def seconds(self) -> tuple[float, float, frozenset[int]]:
        """Workers' CPU seconds, backends' CPU seconds, and which backends these are."""
        workers = [pid for pid in _processes() if _parent(pid) == self._master_pid]
        with self._engine.connect() as connection:
            backends = frozenset(
                connection.execute(
                    sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": APPLICATION_NAME},
                ).scalars()
            )
        return _cpu_seconds(workers), _cpu_seconds(sorted(backends)), backends

    def close(self) -> None:
        self._engine.dispose()


def _processes() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _stat_fields(pid: int) -> list[str]:
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return []
    return text.rsplit(")", 1)[1].split()


def _parent(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def _cpu_seconds(pids: Sequence[int]) -> float:
    ticks = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


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
    parser.add_argument("--workers", type=int, help="default: the Procfile's")
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--procfile", type=Path, default=PROCFILE)
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
        _start_calls(url, args.calls * args.runs)
        callbacks = _callbacks(url, f"http://127.0.0.1:{port}")
        per_run = args.calls * len(STATUSES)
        results = []
        served = sa.make_url(url).update_query_dict({"application_name": APPLICATION_NAME})
        server_url = served.render_as_string(hide_password=False)
        with _gunicorn(server_url, port, campaigns, args.procfile, args.workers) as master:
            cpu = _ServerCpu(url, master)
            warm_up = [("GET", "/healthz", b"", {})] * 200
            _drive(port, warm_up, args.clients)  # imports, first connections
            for run in range(args.runs):
                share = callbacks[run * per_run : (run + 1) * per_run]
                results.append(_measure(port, share, args.clients, cpu))
            cpu.close()
        if args.runs > 1:
            rates, p99s, ratios = zip(*results, strict=True)
            print(
                f"median of {args.runs} runs: {statistics.median(rates):.1f} req/s, "
                f"p99 {statistics.median(p99s):.1f} ms, ratio {statistics.median(ratios):.2f}"
            )
        _verify(url, args.calls * args.runs)


if __name__ == "__main__":
    main()
