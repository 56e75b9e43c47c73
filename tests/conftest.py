"""Shared fixtures. Every database test runs on SQLite and on PostgreSQL.

Database fixtures, from the bottom up:

- `database_backend` ("sqlite" or "postgresql", session scope): the parameter. PostgreSQL comes
  from TEST_POSTGRES_URL; when it is unreachable its tests are skipped with the reason, except
  under CI=true where that is a failure. PostgreSQL tests carry the `postgres` marker.
- `empty_database_url`: a database nobody has migrated, for tests of the migrations themselves.
- `database_url`: a migrated database, emptied after each test. The schema is migrated once per
  backend per test session; isolation comes from deleting every row afterwards, since the code
  under test commits its own transactions and a rolled-back outer transaction would not hold.
- `engine` and `session`: built with `dialer.db`, as the application builds them.

On PostgreSQL each test session works in a schema of its own (the URL sets `search_path`), so
parallel runs never collide and a crashed run leaves nothing in the way of the next; the schema is
dropped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from dialer.db import make_engine, make_session_factory, normalize_url, upgrade
from dialer.models import Base

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SQLITE = "sqlite"
POSTGRESQL = "postgresql"


def _postgres_server_url() -> URL:
    return normalize_url(os.environ.get("TEST_POSTGRES_URL") or DEFAULT_TEST_POSTGRES_URL)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _require_postgres(url: URL) -> None:
    """Skip (or, under CI, fail) when the PostgreSQL server cannot be reached."""
    engine = make_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        where = url.render_as_string(hide_password=True)
        cause = " ".join(str(error.orig).split())
        reason = f"PostgreSQL at {where} is unreachable ({cause}); set TEST_POSTGRES_URL"
        if _in_ci():
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    finally:
        engine.dispose()


@pytest.fixture(
    scope="session",
    params=[SQLITE, pytest.param(POSTGRESQL, marks=pytest.mark.postgres)],
)
def database_backend(request: pytest.FixtureRequest) -> str:
    """Which engine this test runs on."""
    backend: str = request.param
    if backend == POSTGRESQL:
        _require_postgres(_postgres_server_url())
    return backend


@contextmanager
def _fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """A URL to an empty database of `backend`, removed afterwards."""
    if backend == SQLITE:
        yield f"sqlite:///{directory / 'dialer.sqlite3'}"
        return
    with _postgres_schema(_postgres_server_url()) as url:
        yield url


@contextmanager
def _postgres_schema(server: URL) -> Iterator[str]:
    """A schema of its own on `server`, and a URL whose connections use only that schema."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            url = server.update_query_dict({"options": f"-csearch_path={schema}"})
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


@pytest.fixture
def empty_database_url(database_backend: str, tmp_path: Path) -> Iterator[str]:
    """A database that has never been migrated."""
    with _fresh_database(database_backend, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def _migrated_database(
    database_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Engine]]:
    """Migrated once per backend per session, with the engine used to empty it between tests."""
    directory = tmp_path_factory.mktemp(database_backend)
    with _fresh_database(database_backend, directory) as url:
        upgrade(url)
        cleaner = make_engine(url)
        try:
            yield url, cleaner
        finally:
            cleaner.dispose()


@pytest.fixture
def database_url(_migrated_database: tuple[str, Engine]) -> Iterator[str]:
    """A migrated database at head, with no rows; whatever the test writes is deleted after it."""
    url, cleaner = _migrated_database
    yield url
    _delete_all_rows(cleaner)


def _delete_all_rows(engine: Engine) -> None:
    """Empty every application table (not alembic_version), children before parents."""
    tables = Base.metadata.sorted_tables
    with engine.begin() as connection:
        if engine.dialect.name == POSTGRESQL:
            # A test that left a transaction open would otherwise make this wait forever.
            connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            return
        for table in reversed(tables):
            connection.execute(table.delete())


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The application's engine on the test database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session as the application opens them; closed (and rolled back if open) afterwards."""
    with make_session_factory(engine)() as session:
        yield session
