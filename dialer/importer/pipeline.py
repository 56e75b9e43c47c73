"""`import_file`: a CSV file of one kind, read in chunks, checked, applied, reported."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path
from typing import Final

from sqlalchemy import Engine

from dialer.errors import DialerError
from dialer.importer.formats import FileFormat, Header, format_for, match_header
from dialer.importer.report import ImportSummary, RejectsReport, default_report_path
from dialer.importer.rows import RECORD_KEY, Issue, ParsedChunk, Record, Row, RowParser
from dialer.importer.source import CsvSource, NotCsvError, SourceError, inspect_source, read_rows
from dialer.importer.writer import ANALYZE_AFTER_ROWS, ChunkOutcome, ChunkWriter

#: Rows per chunk and transaction: large enough that per-statement costs vanish, small enough
#: that memory stays flat (a few tens of MB) and other writers get their turn often.
DEFAULT_CHUNK_ROWS: Final = 20_000
#: A file estimated to have fewer rows is applied on one connection even where the database
#: could take two: the second would save little, and ids follow the file's order.
PARALLEL_MIN_ROWS: Final = 50_000
#: Called after every chunk with (rows processed, estimated total rows).
Progress = Callable[[int, int], None]


@dataclass
class _Totals:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warnings: int = 0

    @property
    def rows(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.rejected

    def add(self, outcome: ChunkOutcome, issues: list[Issue]) -> None:
        self.inserted += outcome.inserted
        self.updated += outcome.updated
        self.unchanged += outcome.unchanged
        rejected = sum(1 for issue in issues if issue.rejected)
        self.rejected += rejected
        self.warnings += len(issues) - rejected


def import_file(
    engine: Engine,
    kind: str,
    path: Path,
    *,
    now: datetime,
    report_path: Path | None = None,
    progress: Progress | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    writers: int | None = None,
) -> ImportSummary:
    """Import the `kind` file at `path`: upsert its good rows, report the others.

    `now` (aware) dates DNC entries and bounds birthdays. The rejects report goes to
    `report_path`, by default next to the file. `writers`: connections applying shares of each
    chunk side by side, where the database allows more than one (by default as many as it
    allows for a file of `PARALLEL_MIN_ROWS` or more, else one). Raises `DialerError` for a
    file that cannot be imported at all (nothing is written then) or that stops being
    readable part-way.
    """
    if now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    file_format = format_for(kind)
    started = time.perf_counter()
    source = inspect_source(path)
    with closing(read_rows(source)) as rows:
        job = _Job(file_format, source, _header(file_format, source, next(rows, None)), now)
        report = RejectsReport(
            report_path or default_report_path(path),
            job.header.names,
            keep_empty=report_path is not None,
        )
        try:
            job.run(engine, rows, report, progress, chunk_rows, writers)
        except SourceError as error:
            raise DialerError(
                f"{error}; the {job.totals.rows:,} rows before it were imported "
                "(importing the corrected file again is safe)"
            ) from None
        finally:
            written = report.close()
    return job.summary(written, time.perf_counter() - started)


@dataclass
class _Job:
    """One import under way.

    On PostgreSQL, the next chunk is parsed while the database applies the current one: the
    apply step is a few statements during which the client only waits (without the GIL).
    And two connections apply each chunk side by side, each the rows of its share of the keys
    (`_shares`), so two server processes do the work that was one's: every occurrence of a key
    goes to the same writer, whose table of the keys seen so far then finds a later duplicate
    exactly as a single writer would, and two writers never touch the same row. Staging stays
    in the parsing thread, because COPY and executemany pass the GIL back and forth for every
    row and would crawl against a busy parser; for the same reason SQLite, whose work is done
    inside this process row by row (and which has one writer at a time), imports chunk after
    chunk on one connection.
    """

    file_format: FileFormat
    source: CsvSource
    header: Header
    now: datetime
    totals: _Totals = field(default_factory=_Totals)

    def run(
        self,
        engine: Engine,
        rows: Iterator[Row],
        report: RejectsReport,
        progress: Progress | None,
        chunk_rows: int,
        wanted_writers: int | None,
    ) -> None:
        parser = RowParser(
            self.file_format,
            self.header,
            now=self.now,
            default_reason=f"imported from {self.source.path.name}",
        )
        batches = (parser.parse(batch) for batch in _chunks(rows, chunk_rows))
        writers = [ChunkWriter.open(engine, self.file_format, self.header, self.now)]
        try:
            if writers[0].overlaps:
                for _ in range(self._companions(writers[0], wanted_writers)):
                    writers.append(
                        ChunkWriter.open(engine, self.file_format, self.header, self.now)
                    )
                self._overlapped(writers, batches, report, progress)
            else:
                for parsed in batches:
                    self._account(parsed, writers[0].write(parsed), report, progress)
        except BaseException:
            for writer in writers:
                writer.discard()
            raise
        analyze = sum(writer.written for writer in writers) >= ANALYZE_AFTER_ROWS
        try:
            writers[0].close(analyze=analyze)
        finally:
            for writer in writers[1:]:
                writer.close(analyze=False)

    def _companions(self, writer: ChunkWriter, wanted: int | None) -> int:
        """How many writers to open besides `writer`: decided once, for the whole file, since
        every chunk must share its keys among the same writers."""
        if wanted is None:
            small = self.source.estimated_rows < PARALLEL_MIN_ROWS
            wanted = 1 if small else writer.companions + 1
        return max(0, min(wanted - 1, writer.companions))

    def _overlapped(
        self,
        writers: list[ChunkWriter],
        batches: Iterator[ParsedChunk],
        report: RejectsReport,
        progress: Progress | None,
    ) -> None:
        """Parse chunk n + 1 while the database applies chunk n, each writer its share."""
        pending: _Pending | None = None
        workers = len(writers)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="import-apply") as database:
            try:
                for parsed in batches:
                    if pending is not None:
                        self._settle(pending, report, progress)
                        pending = None
                    if not parsed.records:
                        self._account(parsed, ChunkOutcome(), report, progress)
                        continue
                    applying = []
                    for writer, share in zip(writers, _shares(parsed, workers), strict=True):
                        if share.records:
                            writer.stage(share)
                            applying.append(database.submit(writer.apply, share))
                    pending = (parsed, applying)
            except SourceError:
                if pending is not None:
                    self._settle(pending, report, progress)
                raise
            if pending is not None:
                self._settle(pending, report, progress)

    def _settle(self, pending: _Pending, report: RejectsReport, progress: Progress | None) -> None:
        """Wait for every share of a chunk and account for the chunk."""
        parsed, applying = pending
        outcome = sum((share.result() for share in applying), ChunkOutcome())
        self._account(parsed, outcome, report, progress)

    def _account(
        self,
        parsed: ParsedChunk,
        outcome: ChunkOutcome,
        report: RejectsReport,
        progress: Progress | None,
    ) -> None:
        issues = _issues(parsed, outcome, self.file_format.key_label)
        report.write(issues)
        self.totals.add(outcome, issues)
        if progress is not None:
            progress(self.totals.rows, max(self.source.estimated_rows, self.totals.rows))

    def summary(self, report_path: Path | None, seconds: float) -> ImportSummary:
        totals = self.totals
        return ImportSummary(
            kind=self.file_format.kind,
            path=self.source.path,
            encoding=self.source.encoding,
            inserted=totals.inserted,
            updated=totals.updated,
            unchanged=totals.unchanged,
            rejected=totals.rejected,
            warnings=totals.warnings,
            ignored_columns=self.header.ignored,
            report_path=report_path,
            seconds=seconds,
        )


def _header(file_format: FileFormat, source: CsvSource, first: Row | None) -> Header:
    if first is None:
        raise NotCsvError(f"{source.path}: the file has no rows")
    header, missing = match_header(file_format, first[1])
    if missing:
        found = [cell[:20] for cell in first[1][:6] if cell.isprintable()]
        raise NotCsvError(
            f"{source.path}: not a CSV with the {file_format.kind} columns: "
            f"missing {', '.join(missing)} (read as {source.encoding}; "
            f"first row: {', '.join(found) or 'unreadable'})"
        )
    return header


_Pending = tuple[ParsedChunk, list[Future[ChunkOutcome]]]


def _shares(parsed: ParsedChunk, count: int) -> list[ParsedChunk]:
    """The chunk's records in `count` shares by key (records keep their order in each)."""
    if count == 1:
        return [parsed]
    shares: list[list[Record]] = [[] for _ in range(count)]
    for record in parsed.records:
        shares[hash(record[RECORD_KEY]) % count].append(record)
    return [ParsedChunk(rows=[], records=share) for share in shares]


def _chunks(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while batch := list(islice(rows, size)):
        yield batch


def _issues(parsed: ParsedChunk, outcome: ChunkOutcome, key_label: str) -> list[Issue]:
    """Every reported row of the chunk, from the parser and from the database."""
    found = outcome.earlier or outcome.rejects or outcome.warnings
    fields = dict(parsed.rows) if found else {}
    for line, first in outcome.earlier.items():
        parsed.note(line, fields[line], [_duplicate(key_label, first)], rejected=True)
    for line, row, first_in_chunk in parsed.duplicates:
        first = outcome.earlier.get(first_in_chunk, first_in_chunk)
        parsed.note(line, row, [_duplicate(key_label, first)], rejected=True)
    for line, reason in outcome.rejects.items():
        parsed.note(line, fields[line], [reason], rejected=True)
    for line, reason in outcome.warnings.items():
        parsed.note(line, fields[line], [reason], rejected=False)
    return list(parsed.issues.values())


def _duplicate(key_label: str, first: int) -> str:
    return f"duplicate {key_label} (first on line {first})"
