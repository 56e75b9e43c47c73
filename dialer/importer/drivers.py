"""How rows reach each engine's staging table, and the little else that differs between them.

PostgreSQL gets binary COPY (psycopg 3's `cursor.copy()`), by far its fastest way in. SQLite
gets one `executemany` per chunk inside the chunk's transaction; its instants and dates are
written as the text `UTCDateTime` and `Date` store there (naive UTC with microseconds, ISO
dates), so imported rows compare equal to rows the ORM wrote.

Both work on the driver's own connection under a SQLAlchemy `Connection`, which keeps owning the
transactions (and, on SQLite, the `BEGIN IMMEDIATE` of `dialer.db`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any, Final

from sqlalchemy import Connection

from dialer.importer.statements import POSTGRESQL, SQLITE, STAGE, Dialect

Record = tuple[object, ...]
#: SQLite's page cache while importing (KiB, negative as PRAGMA cache_size wants it): the
#: default 2 MB makes every index insert of a large table a read.
SQLITE_IMPORT_CACHE_KIB: Final = 64 * 1024


class Driver(ABC):
    """What the chunk writer needs from an engine."""

    dialect: Dialect

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._raw: Any = connection.connection.driver_connection

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._connection.begin():
            yield

    def execute(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        cursor = self._raw.cursor()
        try:
            cursor.execute(sql, tuple(params))
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def fetch(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        cursor = self._raw.cursor()
        try:
            cursor.execute(sql, tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    @abstractmethod
    def load(self, columns: Sequence[str], types: Sequence[str], records: list[Record]) -> None:
        """Put `records` into the staging table (`types` are `statements.STAGE_COLUMNS`')."""

    @abstractmethod
    def max_id(self, table: str) -> object:
        """The parameter of `Dialect.is_new` for `table`."""

    @abstractmethod
    def instant(self, value: datetime) -> object:
        """`value` as a statement parameter."""

    @abstractmethod
    def close(self) -> None:
        """Undo per-connection settings before the connection goes back to the pool."""


class SqliteDriver(Driver):
    """SQLite: executemany into the staging table, text for instants and dates."""

    dialect = SQLITE

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self._cache_size = self.fetch("PRAGMA cache_size")[0][0]
        self.execute(f"PRAGMA cache_size = -{SQLITE_IMPORT_CACHE_KIB}")

    def load(self, columns: Sequence[str], types: Sequence[str], records: list[Record]) -> None:
        placeholders = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {STAGE} ({', '.join(columns)}) VALUES ({placeholders})"
        self._raw.executemany(sql, _adapted(types, records))

    def max_id(self, table: str) -> object:
        return self.fetch(f"SELECT coalesce(max(id), 0) FROM {table}")[0][0]

    def instant(self, value: datetime) -> object:
        return _sqlite_instant(value)

    def close(self) -> None:
        self.execute(f"PRAGMA cache_size = {int(self._cache_size)}")


class PostgresDriver(Driver):
    """PostgreSQL: binary COPY into the staging table.

    Binary rather than text: psycopg then encodes each value in C from the declared types,
    about three times faster than formatting text rows, and the server parses nothing.
    """

    dialect = POSTGRESQL

    def load(self, columns: Sequence[str], types: Sequence[str], records: list[Record]) -> None:
        sql = f"COPY {STAGE} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        cursor = self._raw.cursor()
        try:
            with cursor.copy(sql) as copy:
                copy.set_types([_POSTGRES_COPY_TYPES[logical] for logical in types])
                for record in records:
                    copy.write_row(record)
        finally:
            cursor.close()

    def max_id(self, table: str) -> object:
        raise NotImplementedError("PostgreSQL tells new rows by xmax, with no parameter")

    def instant(self, value: datetime) -> object:
        return value

    def close(self) -> None:
        """Nothing to undo: temporary tables are dropped by the writer."""


def driver_for(connection: Connection) -> Driver:
    """The driver for `connection`'s engine."""
    name = connection.dialect.name
    if name == "sqlite":
        return SqliteDriver(connection)
    if name == "postgresql":
        return PostgresDriver(connection)
    raise ValueError(f"imports support SQLite and PostgreSQL, not {name}")


def _sqlite_instant(value: datetime) -> str:
    """What `UTCDateTime` stores on SQLite: naive UTC text, always with microseconds."""
    text = value.isoformat(" ", "microseconds")
    if text.endswith("+00:00"):  # already UTC, as the value parsers return instants
        return text[:-6]
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_date(value: date) -> str:
    return value.isoformat()


_POSTGRES_COPY_TYPES: Final = {
    "int": "int4",
    "text": "text",
    "date": "date",
    "instant": "timestamptz",
    "bool": "bool",
}
_SQLITE_ADAPTERS: Final[dict[str, Callable[[Any], object]]] = {
    "instant": _sqlite_instant,
    "date": _sqlite_date,
}


def _adapted(types: Sequence[str], records: list[Record]) -> Iterator[Record] | list[Record]:
    adapters = [(i, _SQLITE_ADAPTERS[t]) for i, t in enumerate(types) if t in _SQLITE_ADAPTERS]
    if not adapters:
        return records
    return (_adapt(record, adapters) for record in records)


def _adapt(record: Record, adapters: list[tuple[int, Callable[[Any], object]]]) -> Record:
    values = list(record)
    for index, adapter in adapters:
        value = values[index]
        if value is not None:
            values[index] = adapter(value)
    return tuple(values)
