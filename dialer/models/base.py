"""The declarative base, with a constraint naming convention.

Named constraints are what make migrations stable across engines: SQLite can only alter a table
by rebuilding it (Alembic's batch mode), and that needs every constraint to have the same, known
name on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from dialer.models.types import UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The database's clock, so that bulk imports (COPY, INSERT … SELECT) get the same defaults
#: as ORM inserts. It is UTC on SQLite and an instant on PostgreSQL.
NOW = sa.text("CURRENT_TIMESTAMP")


class Base(DeclarativeBase):
    """Base of every model; its metadata is what the migrations must reproduce."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Timestamped:
    """`created_at` and `updated_at`, both set by the database.

    Eager defaults fetch them back (RETURNING) as part of each INSERT and UPDATE, so they are
    readable after the commit without a reload: sessions do not expire on commit.
    """

    __mapper_args__: ClassVar[dict[str, Any]] = {"eager_defaults": True}

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, server_default=NOW)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, server_default=NOW, onupdate=sa.func.current_timestamp()
    )
