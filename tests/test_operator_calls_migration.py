"""Migration 0005: the operator calls' table arrives on a database with calls in it, and leaves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command

from dialer.db import alembic_config, current_revision, make_engine, upgrade

BEFORE = "0004_dispositions"
REVISION = "0005_operator_calls"
AT = "2026-11-02 01:00:00+00:00"


@pytest.fixture
def engine_at_0004(empty_database_url: str) -> Iterator[sa.Engine]:
    """A database at 0004 holding one call."""
    upgrade(empty_database_url, BEFORE)
    engine = make_engine(empty_database_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO customers (id, external_id, name) VALUES (1, 'C1', '山田 太郎')")
        )
        connection.execute(
            sa.text(
                "INSERT INTO call_list_entries (id, campaign_id, customer_id, state, phone) "
                "VALUES (1, 'f2-followup', 1, 'in_progress', '+819012345678')"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO attempts (id, entry_id, attempt_number, campaign_id, customer_id, "
                "phone, started_at, status) VALUES (1, 1, 1, 'f2-followup', 1, "
                "'+819012345678', :at, 'in-progress')"
            ),
            {"at": AT},
        )
    yield engine
    engine.dispose()


def index_names(engine: sa.Engine, table: str) -> set[str]:
    if engine.dialect.name == "sqlite":
        # SQLAlchemy does not report a partial index's predicate on SQLite; ask the catalogue.
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t"),
                {"t": table},
            )
            return {name for (name,) in rows if not name.startswith("sqlite_")}
    return {index["name"] for index in sa.inspect(engine).get_indexes(table) if index["name"]}


def test_upgrade_creates_the_table_with_its_indexes(
    engine_at_0004: sa.Engine, empty_database_url: str
) -> None:
    upgrade(empty_database_url, REVISION)

    assert current_revision(empty_database_url) == REVISION
    columns = {
        column["name"] for column in sa.inspect(engine_at_0004).get_columns("operator_calls")
    }
    assert columns == {
        "id",
        "operator_id",
        "campaign_id",
        "call_sid",
        "status",
        "started_at",
        "ended_at",
        "attempt_id",
        "error_code",
    }
    assert index_names(engine_at_0004, "operator_calls") >= {
        "ix_operator_calls_live",
        "ix_operator_calls_attempt_id",
    }


def test_an_operator_call_outlives_its_attempt_as_null(
    engine_at_0004: sa.Engine, empty_database_url: str
) -> None:
    upgrade(empty_database_url, REVISION)
    with engine_at_0004.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO operator_calls (id, operator_id, campaign_id, call_sid, status, "
                "started_at, attempt_id) VALUES (1, 'sato', 'f2-followup', 'CA1', 'in-progress', "
                ":at, 1)"
            ),
            {"at": AT},
        )
        connection.execute(sa.text("DELETE FROM attempts WHERE id = 1"))
    with engine_at_0004.connect() as connection:
        row = connection.execute(sa.text("SELECT operator_id, attempt_id FROM operator_calls"))
        assert tuple(row.one()) == ("sato", None)


def test_two_operator_calls_cannot_share_a_call_sid_nor_a_bad_status(
    engine_at_0004: sa.Engine, empty_database_url: str
) -> None:
    upgrade(empty_database_url, REVISION)
    insert = sa.text(
        "INSERT INTO operator_calls (operator_id, campaign_id, call_sid, status, started_at) "
        "VALUES ('sato', 'f2-followup', :sid, :status, :at)"
    )
    with engine_at_0004.begin() as connection:
        connection.execute(insert, {"sid": "CA1", "status": "queued", "at": AT})
        connection.execute(insert, {"sid": None, "status": None, "at": AT})
        connection.execute(insert, {"sid": None, "status": None, "at": AT})
    for sid, status in (("CA1", "queued"), ("CA2", "lunch")):
        with pytest.raises(sa.exc.IntegrityError), engine_at_0004.begin() as connection:
            connection.execute(insert, {"sid": sid, "status": status, "at": AT})


def test_downgrade_removes_only_the_table(
    engine_at_0004: sa.Engine, empty_database_url: str
) -> None:
    upgrade(empty_database_url, REVISION)
    with engine_at_0004.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, BEFORE)

    assert current_revision(empty_database_url) == BEFORE
    assert "operator_calls" not in sa.inspect(engine_at_0004).get_table_names()
    with engine_at_0004.connect() as connection:
        status = connection.execute(sa.text("SELECT status FROM attempts")).scalar()
    assert status == "in-progress"
