"""Column types shared by every table.

`UTCDateTime` exists because the two engines disagree about time zones: PostgreSQL keeps an
instant and hands it back in the session's zone, SQLite keeps whatever text it is given. Refusing
naive datetimes at the boundary and normalising to UTC both ways means a row reads back as the
same aware instant on either engine, and a naive value (whose meaning is a guess) never lands.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone reached the database layer: the caller has a bug."""


class UTCDateTime(TypeDecorator[datetime]):
    """An aware instant, stored in UTC, read back as an aware UTC datetime on both engines."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive values; store UTC (naive text on SQLite, timestamptz on PostgreSQL)."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(f"naive datetime refused (give it a time zone): {value!r}")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """SQLite returns naive UTC text, PostgreSQL the session's zone: both become aware UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_type(enum_class: type[enum.StrEnum], name: str) -> sa.Enum:
    """A VARCHAR with a named CHECK of the enum's values, the same on SQLite and PostgreSQL.

    Non-native enums keep migrations simple on both engines (adding a value is a CHECK change,
    not an `ALTER TYPE`); the generous length leaves room for new values without a column change.
    """
    return sa.Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        validate_strings=True,
        values_callable=_enum_values,
    )


def _enum_values(enum_class: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in enum_class]


#: Surrogate keys of the high-volume tables. SQLite only auto-numbers a column typed exactly
#: INTEGER, PostgreSQL should not run out of 32-bit ids on a log that is never pruned.
BigIntegerId: TypeEngine[int] = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: Raw callback payloads: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JsonPayload: TypeEngine[Any] = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
