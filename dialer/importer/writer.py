"""Applying a chunk of parsed rows to the database, one transaction per chunk.

A transaction per chunk, not per file: SQLite has one writer at a time, and the dialer's worker
and web process must get their turn between the chunks of a million-row import rather than time
out behind it. An import stopped part-way leaves whole chunks in place (where two writers share
each chunk by key, whole shares of one), and importing the file again finishes it: imports are
idempotent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from sqlalchemy import Connection, Engine, RootTransaction

from dialer.importer.drivers import driver_for
from dialer.importer.formats import FileFormat, Header
from dialer.importer.rows import ParsedChunk
from dialer.importer.statements import STAGE_COLUMNS, Returns, Write, statements_for

#: Rows written by one import after which the tables' planner statistics are refreshed:
#: PostgreSQL would otherwise plan the next import's joins for the tables as they were.
ANALYZE_AFTER_ROWS: Final = 10_000


@dataclass
class ChunkOutcome:
    """What the database made of a chunk's good rows."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    #: Rows whose key an earlier chunk had: line → line of the first occurrence.
    earlier: dict[int, int] = field(default_factory=dict)
    #: Further rejected rows (unknown customer): line → reason.
    rejects: dict[int, str] = field(default_factory=dict)
    #: Rows imported with a warning: line → reason.
    warnings: dict[int, str] = field(default_factory=dict)

    def __add__(self, other: ChunkOutcome) -> ChunkOutcome:
        """Both shares of one chunk (`pipeline`), as one outcome."""
        return ChunkOutcome(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            {**self.earlier, **other.earlier},
            {**self.rejects, **other.rejects},
            {**self.warnings, **other.warnings},
        )


class ChunkWriter:
    """Stages, checks and applies the chunks of one file, on a connection of its own."""

    def __init__(
        self, connection: Connection, file_format: FileFormat, header: Header, now: datetime
    ) -> None:
        self._connection = connection
        self._driver = driver_for(connection)
        self._sql = statements_for(self._driver.dialect, file_format, header)
        self._types = tuple(type_ for _, type_ in STAGE_COLUMNS[file_format.kind])
        self._params = {"now": self._driver.instant(now)}
        self._written = 0
        self._transaction: RootTransaction | None = None
        with self._driver.transaction():
            for sql in self._sql.setup:
                self._driver.execute(sql)

    @classmethod
    def open(
        cls, engine: Engine, file_format: FileFormat, header: Header, now: datetime
    ) -> ChunkWriter:
        connection = engine.connect()
        try:
            return cls(connection, file_format, header, now)
        except BaseException:
            connection.close()
            raise

    @property
    def written(self) -> int:
        """Rows this writer inserted or updated."""
        return self._written

    def close(self, *, analyze: bool | None = None) -> None:
        """Drop the temporary tables; refresh planner statistics after a large import (by
        default, one this writer wrote; `analyze` decides for writers that share a file)."""
        if analyze is None:
            analyze = self._written >= ANALYZE_AFTER_ROWS
        try:
            self._teardown(analyze=analyze)
        finally:
            self._connection.close()

    def discard(self) -> None:
        """Clean up after a failure without hiding it.

        A connection that cannot be cleaned (PostgreSQL gone, say) is closed for good instead,
        which drops its temporary tables too; the caller re-raises the original error.
        """
        try:
            self._teardown(analyze=False)
        except Exception:
            self._connection.invalidate()
        finally:
            self._connection.close()

    def _teardown(self, *, analyze: bool) -> None:
        with self._driver.transaction():
            for sql in self._sql.teardown:
                self._driver.execute(sql)
            if analyze:
                for sql in self._sql.analyze:
                    self._driver.execute(sql)
        self._driver.close()

    @property
    def overlaps(self) -> bool:
        """Whether `apply` may run in another thread while the next chunk is parsed."""
        return self._driver.dialect.overlaps

    @property
    def companions(self) -> int:
        """How many more writers (connections) may apply shares of the same chunks."""
        return self._driver.dialect.writers - 1

    def write(self, chunk: ParsedChunk) -> ChunkOutcome:
        """Stage and apply a chunk; the counts and the rows the database rejected."""
        if not chunk.records:
            return ChunkOutcome()
        self.stage(chunk)
        return self.apply(chunk)

    def stage(self, chunk: ParsedChunk) -> None:
        """Open the chunk's transaction and load its records into the staging table.

        Loading is Python work row by row; it belongs to the thread that parses.
        """
        self._transaction = self._connection.begin()
        for sql in self._driver.dialect.chunk_settings:
            self._driver.execute(sql)
        self._driver.load(self._sql.load_columns, self._types, chunk.records)

    def apply(self, chunk: ParsedChunk) -> ChunkOutcome:
        """Check and apply the staged chunk, and commit: a few statements, database time."""
        transaction, self._transaction = self._transaction, None
        assert transaction is not None, "apply() without stage()"
        outcome = ChunkOutcome()
        try:
            staged = len(chunk.records) - self._drop_earlier(len(chunk.records), outcome)
            staged -= self._drop_unknown(outcome)
            self._apply(outcome, staged)
            self._driver.execute(self._sql.clear)
            transaction.commit()
        except BaseException:
            transaction.rollback()
            raise
        self._written += outcome.inserted + outcome.updated
        return outcome

    def _drop_earlier(self, staged: int, outcome: ChunkOutcome) -> int:
        """Remember the chunk's keys; drop and note rows whose key an earlier chunk had."""
        if self._driver.execute(self._sql.remember) == staged:
            return 0
        outcome.earlier = dict(self._driver.fetch(self._sql.find_earlier))
        self._driver.execute(self._sql.drop_earlier)
        return len(outcome.earlier)

    def _drop_unknown(self, outcome: ChunkOutcome) -> int:
        if self._sql.resolve is None:
            return 0
        self._driver.execute(self._sql.resolve)
        assert self._sql.find_unknown is not None and self._sql.drop_unknown is not None
        unknown = self._driver.fetch(self._sql.find_unknown)
        if not unknown:
            return 0
        for line, customer_id, kept in unknown:
            if kept:
                outcome.warnings[line] = (
                    f"unknown customer {customer_id} (added for the number only)"
                )
            else:
                outcome.rejects[line] = f"unknown customer {customer_id}"
        self._driver.execute(self._sql.drop_unknown)
        return len(outcome.rejects)

    def _apply(self, outcome: ChunkOutcome, staged: int) -> None:
        changed: set[int] = set()
        for write in self._sql.writes:
            if write.returns is Returns.NOTHING:
                self._driver.execute(write.sql, self._write_params(write))
                continue
            rows = self._driver.fetch(write.sql, self._write_params(write))
            if write.returns is Returns.NEW_IDS:
                outcome.inserted += sum(1 for _, is_new in rows if is_new)
            changed.update(row[0] for row in rows)
        outcome.updated = len(changed) - outcome.inserted
        outcome.unchanged = staged - outcome.inserted - outcome.updated

    def _write_params(self, write: Write) -> list[object]:
        params = [self._params[name] for name in write.params]
        if write.returns is Returns.NEW_IDS and self._driver.dialect.is_new_takes_max_id:
            params.append(self._driver.max_id(write.table))
        return params
