"""PostgreSQL connections are pinged before use only after sitting idle in the pool, and one
found dead is replaced before the caller sees it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from dialer import db
from dialer.db import make_engine


@pytest.fixture
def postgres_url(database_url: str, database_backend: str) -> str:
    if database_backend != "postgresql":
        pytest.skip("only PostgreSQL connections can go stale in the pool")
    return database_url


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Every ping of a PostgreSQL engine made while the test runs."""
    made: list[object] = []
    original = db._IdlePing.__init__

    def counting(self: db._IdlePing, engine: Engine, after_s: float) -> None:
        original(self, engine, after_s)
        ping = engine.dialect.do_ping

        def do_ping(dbapi_connection: object) -> bool:
            made.append(dbapi_connection)
            return ping(dbapi_connection)

        monkeypatch.setattr(engine.dialect, "do_ping", do_ping)

    monkeypatch.setattr(db._IdlePing, "__init__", counting)
    yield made


def backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_in_steady_use_is_not_pinged(postgres_url: str, pings: list[object]) -> None:
    engine = make_engine(postgres_url)
    try:
        pids = {backend_pid(engine) for _ in range(5)}
    finally:
        engine.dispose()
    assert len(pids) == 1
    assert pings == []


def test_an_idle_connection_is_pinged_and_a_dead_one_replaced_unseen(
    postgres_url: str, pings: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "POOL_PING_AFTER_IDLE_S", 0.0)
    engine = make_engine(postgres_url)
    admin = make_engine(postgres_url)
    try:
        first = backend_pid(engine)
        assert backend_pid(engine) == first
        assert len(pings) == 1
        with admin.begin() as connection:
            # Waits (up to 10 s) until the backend has exited.
            ended = sa.text("SELECT pg_terminate_backend(:pid, 10000)")
            assert connection.execute(ended, {"pid": first}).scalar_one()
        assert backend_pid(engine) != first
        assert len(pings) == 2
    finally:
        engine.dispose()
        admin.dispose()
