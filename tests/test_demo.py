"""`dialer demo`: the afternoon it picks, its directory, its clock, and one whole run.

The run test starts the real thing (the sandbox in the test's subprocess, the web app and the
worker in processes of their own) on a small shop, then holds the figures it printed and wrote
against the attempts in its database. The demo is the embedded default by definition: SQLite.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.calendar import is_callable
from dialer.campaigns import calling_rules, load_config
from dialer.db import make_engine
from dialer.demo.clock import DemoClock
from dialer.demo.day import NoOpenTimeError, demo_start
from dialer.demo.workspace import MARKER, WorkspaceError, prepare
from dialer.dispatch import clock_waiter
from dialer.models import Attempt, CallEvent, CallListEntry, EntryState
from dialer.sandbox.clock import SimClock
from tests.factories import make_config

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "campaigns.yaml"
TOKYO = ZoneInfo("Asia/Tokyo")


# --- the afternoon --------------------------------------------------------------------------


def test_the_sample_afternoon_opens_every_campaign_at_once() -> None:
    config = load_config(SAMPLE)
    start = demo_start(config, date(2026, 11, 23))  # 勤労感謝の日, a Monday
    local = start.astimezone(TOKYO)
    assert local.date() > date(2026, 11, 23)
    assert local.weekday() < 5
    for campaign in config.campaigns:
        rules = calling_rules(config, campaign.id)
        for minutes in (0, 30, 59):
            assert is_callable(rules, start + timedelta(minutes=minutes)), campaign.id


@settings(max_examples=25, deadline=None)
@given(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)))
def test_the_start_is_open_for_an_hour_and_never_before_today(today: date) -> None:
    config = make_config()
    start = demo_start(config, today)
    assert start.astimezone(TOKYO).date() >= today
    rules = calling_rules(config, config.campaigns[0].id)
    assert is_callable(rules, start)
    assert is_callable(rules, start + timedelta(minutes=59))


def test_a_configuration_that_never_opens_is_refused_with_a_reason() -> None:
    config = make_config(dates=(date(2020, 1, 1), date(2020, 1, 31)))
    with pytest.raises(NoOpenTimeError, match="no campaign"):
        demo_start(config, date(2026, 12, 1))


# --- the directory --------------------------------------------------------------------------


def test_a_directory_the_demo_did_not_make_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(WorkspaceError, match="not made by `dialer demo`"):
        prepare(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_previous_demo_is_cleared(tmp_path: Path) -> None:
    first = prepare(tmp_path / "demo")
    (first.directory / "dialer.sqlite3").write_text("old")
    second = prepare(tmp_path / "demo")
    assert sorted(path.name for path in second.directory.iterdir()) == [MARKER]


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "demo").write_text("")
    with pytest.raises(WorkspaceError, match="is a file"):
        prepare(tmp_path / "demo")


# --- the clock ------------------------------------------------------------------------------


def test_every_process_reads_the_same_simulated_time_and_it_stops_at_the_end() -> None:
    origin = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    real = [100.0]
    sim = SimClock(60.0, origin, monotonic=lambda: real[0])
    spec = DemoClock.of(sim, until=origin + timedelta(minutes=2))
    rebuilt = SimClock(spec.speed, spec.origin, monotonic=lambda: real[0], start=spec.start)
    real[0] = 101.0
    assert rebuilt.now() == sim.now() == origin + timedelta(minutes=1)
    time_now = spec.clock()
    assert time_now() == spec.until  # the real monotonic clock is far past `start`


def test_the_waiter_sleeps_simulated_seconds_divided_by_the_speed() -> None:
    sim = SimClock(100.0)
    wait = clock_waiter(sim.now, speed=100.0)
    slot = sim.now() + timedelta(seconds=20)  # 0.2 s of real time
    began = time.monotonic()
    late = wait(slot, sim.now())
    assert time.monotonic() - began < 2.0
    assert late >= timedelta(0)
    assert sim.now() >= slot


# --- one whole run --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`dialer demo --exit` on a small shop; its directory and what it printed."""
    directory = tmp_path_factory.mktemp("demo") / "demo"
    command = [
        sys.executable, "-m", "dialer", "demo", "--campaigns", str(SAMPLE), "--dir",
        str(directory), "--customers", "300", "--speed", "200", "--hours", "1", "--port", "0",
        "--exit",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return directory, done.stdout


def test_the_demo_prints_the_kpis_and_the_dashboard(demo_run: tuple[Path, str]) -> None:
    _, printed = demo_run
    for label in (
        "発信数",
        "接続率",
        "成約率",
        "放棄呼率",
        "平均処理時間",
        "ダッシュボード: http://",
    ):
        assert label in printed


def test_every_sample_campaign_has_someone_to_call(demo_run: tuple[Path, str]) -> None:
    _, printed = demo_run
    pending = dict(re.findall(r"^  ([a-z0-9-]+): 発信待ち ([\d,]+) 件$", printed, re.MULTILINE))
    campaigns = {campaign.id for campaign in load_config(SAMPLE).campaigns}
    assert set(pending) == campaigns
    assert all(int(count.replace(",", "")) > 0 for count in pending.values()), pending


def test_the_reported_kpis_are_the_attempts_in_the_database(demo_run: tuple[Path, str]) -> None:
    directory, printed = demo_run
    summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    engine = make_engine(f"sqlite:///{directory / 'dialer.sqlite3'}")
    try:
        with engine.connect() as db:
            dialled = db.scalar(
                sa.select(sa.func.count()).where(
                    sa.or_(Attempt.outcome.is_(None), Attempt.outcome != "canceled")
                )
            )
            human = db.scalar(sa.select(sa.func.count()).where(Attempt.outcome == "human"))
            unsettled = db.scalar(sa.select(sa.func.count()).where(Attempt.ended_at.is_(None)))
            in_progress = db.scalar(
                sa.select(sa.func.count()).where(CallListEntry.state == EntryState.IN_PROGRESS)
            )
            unapplied = db.scalar(sa.select(sa.func.count()).where(CallEvent.applied_at.is_(None)))
            per_campaign = dict(
                db.execute(
                    sa.select(Attempt.campaign_id, sa.func.count()).group_by(Attempt.campaign_id)
                ).all()
            )
    finally:
        engine.dispose()
    totals = summary["totals"]
    assert dialled and dialled >= 20
    assert totals["dialled"] == dialled
    assert totals["human"] == human
    assert totals["live"] == 0 and unsettled == 0 and in_progress == 0
    assert unapplied == 0
    assert {
        cid: row["dialled"] for cid, row in summary["campaigns"].items() if row["dialled"]
    } == per_campaign
    assert f"発信数        {dialled:,}" in printed


# --- stopping -------------------------------------------------------------------------------


def test_sigterm_while_dialling_stops_the_web_app_and_the_worker_too(tmp_path: Path) -> None:
    """A service manager stops the demo with SIGTERM: the processes it started go with it, and
    nothing is left serving the port or dialling."""
    port = _free_port()
    command = [
        sys.executable, "-m", "dialer", "demo", "--campaigns", str(SAMPLE), "--dir",
        str(tmp_path / "demo"), "--customers", "200", "--speed", "20", "--port", str(port),
    ]  # fmt: skip
    demo = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert demo.stdout is not None
        for line in demo.stdout:
            if "発信を開始します" in line:
                break
        else:
            pytest.fail(f"the demo ended before dialling: {demo.wait()} {demo.stderr}")
        assert _serving(port)
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
        assert not _serving(port)
        assert _group_ends(demo.pid, within=10.0)  # the worker is gone too
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(demo.pid, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serving(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _group_ends(group: int, *, within: float) -> bool:
    """Whether no process of the group is left within `within` seconds (multiprocessing's
    resource tracker leaves a moment after its parent)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False
