"""Engines and migrations: `dialer db upgrade` builds exactly the models' schema, on each engine."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.orm import Session

from dialer.db import (
    alembic_config,
    current_revision,
    head_revision,
    make_engine,
    make_session_factory,
    normalize_url,
    upgrade,
)
from dialer.models import Base, Customer


def _table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


MODEL_TABLES = {table.name for table in Base.metadata.sorted_tables}


def test_upgrade_from_empty_creates_every_model_table(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    assert _table_names(empty_database_url) == MODEL_TABLES | {"alembic_version"}


def test_upgrade_records_the_head_revision(empty_database_url: str) -> None:
    assert current_revision(empty_database_url) is None
    upgrade(empty_database_url)
    assert current_revision(empty_database_url) == head_revision()


def test_upgrade_twice_is_a_no_op_that_keeps_the_data(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with make_session_factory(engine).begin() as session:
            session.add(Customer(external_id="C1", name="佐藤 花子"))
        upgrade(empty_database_url)
        with make_session_factory(engine)() as session:
            assert session.scalars(sa.select(Customer.external_id)).all() == ["C1"]
    finally:
        engine.dispose()
    assert current_revision(empty_database_url) == head_revision()


def test_upgrade_works_from_any_working_directory(
    empty_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    upgrade(empty_database_url)
    assert current_revision(empty_database_url) == head_revision()


def test_downgrade_to_base_removes_every_model_table(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
    finally:
        engine.dispose()
    assert _table_names(empty_database_url) == {"alembic_version"}


def test_migration_and_models_agree(engine: sa.Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migration_creates_the_models_check_constraints(engine: sa.Engine) -> None:
    """Alembic does not compare CHECK constraints, so compare their names here."""
    inspector = sa.inspect(engine)
    for table in Base.metadata.sorted_tables:
        in_models = {
            str(constraint.name)
            for constraint in table.constraints
            if isinstance(constraint, sa.CheckConstraint)
        }
        in_database = {check["name"] for check in inspector.get_check_constraints(table.name)}
        assert in_database == in_models, table.name


@pytest.mark.parametrize(
    "given",
    [
        "postgres://dialer:secret@db.example:5432/dialer",
        "postgresql://dialer:secret@db.example:5432/dialer",
        "postgresql+psycopg://dialer:secret@db.example:5432/dialer",
    ],
)
def test_postgres_urls_are_sent_to_psycopg_3(given: str) -> None:
    url = normalize_url(given)
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.password, url.host, url.database) == (
        "dialer",
        "secret",
        "db.example",
        "dialer",
    )


def test_sqlite_urls_are_left_as_given() -> None:
    assert str(normalize_url("sqlite:///dialer.sqlite3")) == "sqlite:///dialer.sqlite3"


def test_sqlite_engine_enforces_foreign_keys_with_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}")
    try:
        with engine.connect() as connection:

            def pragma(name: str) -> object:
                return connection.exec_driver_sql(f"PRAGMA {name}").scalar()

            assert pragma("foreign_keys") == 1
            assert pragma("journal_mode") == "wal"
            assert pragma("busy_timeout") == 10_000
    finally:
        engine.dispose()


def test_sqlite_transaction_holds_the_write_lock_from_its_first_read(tmp_path: Path) -> None:
    """Read-then-write transactions queue for the lock instead of failing half-way."""
    path = tmp_path / "locks.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1").scalar()
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()
    finally:
        engine.dispose()


def test_session_objects_stay_readable_after_commit(engine: sa.Engine) -> None:
    with make_session_factory(engine)() as session:
        customer = Customer(external_id="C1", name="佐藤 花子")
        session.add(customer)
        session.commit()
    assert customer.name == "佐藤 花子"
    assert customer.created_at.tzinfo is not None


def test_updated_at_is_readable_after_an_update_commits(engine: sa.Engine) -> None:
    factory = make_session_factory(engine)
    with factory() as session:
        customer = Customer(external_id="C1", name="佐藤 花子")
        session.add(customer)
        session.commit()
        customer.name = "佐藤 華子"
        session.commit()
    assert customer.updated_at.tzinfo is not None


def test_every_test_starts_with_empty_tables(session: Session) -> None:
    """Other tests in this run have committed rows; the fixtures must have deleted them all."""
    for table in Base.metadata.sorted_tables:
        count = session.scalar(sa.select(sa.func.count()).select_from(table))
        assert count == 0, table.name
