"""Engines, sessions and migrations for SQLite (one machine) and PostgreSQL (many).

The CLI, the worker, the web app and the tests all get their engine from `make_engine`, so the
engine-specific settings that correctness depends on live in one place. Migrations run from the
packaged `dialer/migrations` directory with a configuration built in code: `upgrade` works from
an installed package and from any working directory, with no alembic.ini to find.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

#: How long an SQLite connection waits for another writer before giving up, in milliseconds.
SQLITE_BUSY_TIMEOUT_MS = 10_000

#: A pooled PostgreSQL connection that sat unused for longer than this is pinged before use.
POOL_PING_AFTER_IDLE_S = 10.0
#: PostgreSQL connections older than this are replaced at checkout (idle timeouts on the way).
POOL_RECYCLE_S = 1800

_CHECKED_IN_AT = "dialer_checked_in_at"

_POSTGRES_DRIVERS = {"postgres", "postgresql"}


class MigrationError(RuntimeError):
    """A migration would leave the database inconsistent; nothing was committed."""


def normalize_url(url: str | URL) -> URL:
    """Parse `url`, sending bare PostgreSQL URLs (as hosting platforms give them) to psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_DRIVERS:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for `url` with the settings this application relies on.

    SQLite gets foreign keys (off by default there), WAL (readers never block the writer) and a
    busy timeout, and transactions that start with `BEGIN IMMEDIATE` (see `_sqlite_begin`).
    PostgreSQL connections are checked before use only after sitting idle (see
    `_IdlePing`), and recycled after `POOL_RECYCLE_S`. `kwargs` go to `create_engine`.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    kwargs.setdefault("pool_recycle", POOL_RECYCLE_S)
    engine = create_engine(parsed, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        ping = _IdlePing(engine, POOL_PING_AFTER_IDLE_S)
        event.listen(engine, "checkin", ping.checked_in)
        event.listen(engine, "checkout", ping.checked_out)
    return engine


class _IdlePing:
    """Ping a pooled connection before use only when it sat idle for `after_s` seconds.

    A connection goes stale while unused (a server restart or failover, an idle timeout on the
    way); one in steady use does not need a round trip on every checkout to prove it, as
    `pool_pre_ping` would spend. A connection that fails the ping is replaced before the caller
    sees it. One that breaks while in use fails that statement, and the pool then replaces every
    connection older than the failure.
    """

    def __init__(self, engine: Engine, after_s: float) -> None:
        self._dialect = engine.dialect
        self._after_s = after_s

    def checked_in(self, _dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    def checked_out(
        self, dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        checked_in_at = record.info.get(_CHECKED_IN_AT)
        if checked_in_at is None or time.monotonic() - checked_in_at < self._after_s:
            return
        try:
            self._dialect.do_ping(dbapi_connection)
        except self._dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out another.
            raise exc.DisconnectionError(f"stale pooled connection: {error}") from error


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection pragmas; the driver's own transaction handling is turned off.

    pysqlite opens transactions late (only before a write), so a read followed by a write would
    not be isolated; with `isolation_level = None` SQLAlchemy's `begin` event emits BEGIN itself.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
    finally:
        cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """Take the write lock at the start of every transaction.

    A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when another
    writer committed in between (the busy timeout does not apply to that case). The worker and the
    web process both read-then-write, so every transaction queues for the lock up front instead.
    """
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine`, whose objects stay readable after commit.

    Expiring on commit would make the next attribute access open a new transaction behind the
    caller's back: on SQLite that takes the write lock, held for as long as, say, the Twilio
    request that follows the commit of an attempt.
    """
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config() -> Config:
    """Alembic configuration pointing at the packaged migrations, built without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return config


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (head by default); a no-op when already there.

    On SQLite, foreign keys are off while migrating: Alembic alters a table there by copying it
    and dropping the original, and with foreign keys on that drop would cascade into every table
    that references it. They are checked once at the end instead, before the commit.
    """
    engine = make_engine(url)
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        event.listen(engine, "connect", _sqlite_foreign_keys_off)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            if sqlite:
                _sqlite_check_foreign_keys(connection)
    finally:
        engine.dispose()


def _sqlite_foreign_keys_off(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = OFF")
    finally:
        cursor.close()


def _sqlite_check_foreign_keys(connection: Connection) -> None:
    violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if violations:
        raise MigrationError(f"migration left {len(violations)} broken foreign keys: {violations}")


def current_revision(url: str | URL) -> str | None:
    """The revision the database at `url` is at; None when it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    """The newest revision shipped with this version of the code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def advisory_key(key: int) -> tuple[sa.ColumnElement[int], int]:
    """The two-key form of a PostgreSQL advisory lock for `key`, scoped to the schema in use.

    Advisory locks belong to the whole database, but one database may hold several dialers,
    each in a schema of its own (a staging copy beside production, or parallel test runs):
    the first key is the schema's name hashed by the server, so their jobs never exclude each
    other. `key` is folded into PostgreSQL's signed 32-bit range.
    """
    folded = key & 0xFFFFFFFF
    signed = folded - (1 << 32) if folded >= 1 << 31 else folded
    return sa.func.hashtext(sa.func.current_schema()), signed
