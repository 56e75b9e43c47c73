"""Migration 0004: the disposition columns arrive on a database with calls in it, and leave."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command

from dialer.db import alembic_config, current_revision, make_engine, upgrade

BEFORE = "0003_dashboard"
REVISION = "0004_dispositions"
NEW_COLUMNS = {"dispositioned_by", "callback_at"}


@pytest.fixture
def engine_at_0003(empty_database_url: str) -> Iterator[sa.Engine]:
    """A database at 0003 holding one dispositioned call."""
    upgrade(empty_database_url, BEFORE)
    engine = make_engine(empty_database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO customers (id, external_id, name) VALUES (1, 'C1', '山田 太郎')")
        )
        connection.execute(
            sa.text(
                "INSERT INTO call_list_entries (id, campaign_id, customer_id, state, "
                "closed_reason, closed_at) VALUES (1, 'cancel-save', 1, 'done', 'reached', "
                ":at)"
            ),
            {"at": "2026-11-02 01:05:00+00:00"},
        )
        connection.execute(
            sa.text(
                "INSERT INTO attempts (id, entry_id, attempt_number, campaign_id, customer_id, "
                "phone, started_at, disposition, operator_id) VALUES (1, 1, 1, 'cancel-save', "
                "1, '+819012345678', :at, 'retained_skip', 'suzuki')"
            ),
            {"at": "2026-11-02 01:00:00+00:00"},
        )
    yield engine
    engine.dispose()


def attempt_columns(engine: sa.Engine) -> set[str]:
    return {column["name"] for column in sa.inspect(engine).get_columns("attempts")}


def attempt_indexes(engine: sa.Engine) -> set[str]:
    if engine.dialect.name == "sqlite":
        # SQLAlchemy skips expression indexes when reflecting SQLite; ask the catalogue.
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"),
                {"t": "attempts"},
            )
            return {name for (name,) in rows if not name.startswith("sqlite_")}
    return {index["name"] for index in sa.inspect(engine).get_indexes("attempts") if index["name"]}


def test_upgrade_adds_the_columns_and_keeps_calls_and_indexes(
    engine_at_0003: sa.Engine, empty_database_url: str
) -> None:
    indexes = attempt_indexes(engine_at_0003)
    assert {"ix_attempts_phone_tail", "ix_attempts_live"} <= indexes
    assert not NEW_COLUMNS & attempt_columns(engine_at_0003)

    upgrade(empty_database_url, REVISION)

    assert current_revision(empty_database_url) == REVISION
    assert attempt_columns(engine_at_0003) >= NEW_COLUMNS
    assert attempt_indexes(engine_at_0003) == indexes
    with engine_at_0003.connect() as connection:
        row = connection.execute(
            sa.text("SELECT disposition, operator_id, dispositioned_by, callback_at FROM attempts")
        ).one()
    assert tuple(row) == ("retained_skip", "suzuki", None, None)


def test_downgrade_removes_only_the_new_columns(
    engine_at_0003: sa.Engine, empty_database_url: str
) -> None:
    upgrade(empty_database_url, REVISION)
    with engine_at_0003.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, BEFORE)

    assert current_revision(empty_database_url) == BEFORE
    assert not NEW_COLUMNS & attempt_columns(engine_at_0003)
    with engine_at_0003.connect() as connection:
        disposition = connection.execute(sa.text("SELECT disposition FROM attempts")).scalar()
    assert disposition == "retained_skip"
