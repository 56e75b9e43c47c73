"""What an import tells its user: the rejects report file and the summary.

The report lists every row that was rejected or imported with a warning: its line in the file,
``rejected`` or ``warning``, the reasons, then the row's own fields under the file's own header,
so that the people who produced the export can find and fix each row. It is written in UTF-8
with a BOM, which Excel needs to show Japanese text from a CSV file, and streamed as chunks are
processed, so a file with a million bad rows costs no memory. By default it sits next to the
input (``orders.csv`` → ``orders.rejects.csv``) and is removed again when there was nothing to
report, so an old report never describes a newer import.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from dialer.errors import DialerError
from dialer.importer.rows import Issue

REPORT_COLUMNS = ("line", "status", "reason")
REJECTED = "rejected"
WARNING = "warning"


def default_report_path(path: Path) -> Path:
    """``orders.csv`` → ``orders.rejects.csv``, in the same directory."""
    return path.with_name(f"{path.stem}.rejects.csv")


class RejectsReport:
    """The report file, opened before the import starts so that an unwritable path fails early."""

    def __init__(self, path: Path, header: Sequence[str], *, keep_empty: bool) -> None:
        self.path = path
        self.rejected = 0
        self.warnings = 0
        self._keep_empty = keep_empty
        try:
            self._handle: TextIO = path.open("w", encoding="utf-8-sig", newline="")
        except OSError as error:
            reason = error.strerror or str(error)
            raise DialerError(f"cannot write the rejects report {path}: {reason}") from None
        self._writer = csv.writer(self._handle)
        self._writer.writerow([*REPORT_COLUMNS, *header])

    def write(self, issues: Iterable[Issue]) -> None:
        """Add the issues of one chunk, in line order."""
        for issue in sorted(issues, key=lambda issue: issue.line):
            status = REJECTED if issue.rejected else WARNING
            self._writer.writerow([issue.line, status, "; ".join(issue.reasons), *issue.fields])
            if issue.rejected:
                self.rejected += 1
            else:
                self.warnings += 1

    @property
    def empty(self) -> bool:
        return self.rejected == 0 and self.warnings == 0

    def close(self) -> Path | None:
        """Finish the file; the path of the report, or None when there was nothing to report."""
        self._handle.close()
        if self.empty and not self._keep_empty:
            self.path.unlink(missing_ok=True)
            return None
        return self.path


@dataclass(frozen=True)
class ImportSummary:
    """The outcome of one import. Every data row is counted exactly once in the first four."""

    kind: str
    path: Path
    encoding: str
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    #: Rows imported with a warning (a refused phone, an unreadable birthday …), also counted
    #: as inserted, updated or unchanged.
    warnings: int
    ignored_columns: tuple[str, ...]
    report_path: Path | None
    seconds: float

    @property
    def rows(self) -> int:
        return self.inserted + self.updated + self.unchanged + self.rejected

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def summary_lines(summary: ImportSummary) -> list[str]:
    """The summary as the CLI prints it."""
    lines = [
        f"{summary.path} ({summary.kind}, {summary.encoding}): {summary.rows:,} rows "
        f"in {summary.seconds:.1f} s, {summary.rows_per_second:,.0f} rows/s",
        *_counts(summary),
    ]
    if summary.ignored_columns:
        lines.append(f"  ignored columns: {', '.join(summary.ignored_columns)}")
    if summary.report_path is not None:
        lines.append(f"  report: {summary.report_path}")
    return lines


def _counts(summary: ImportSummary) -> list[str]:
    counts = [
        ("inserted", summary.inserted, ""),
        ("updated", summary.updated, ""),
        ("unchanged", summary.unchanged, ""),
        ("rejected", summary.rejected, ""),
        ("warnings", summary.warnings, " (imported; see the report)" if summary.warnings else ""),
    ]
    width = max(len(f"{count:,}") for _, count, _ in counts)
    return [f"  {name:<11}{count:>{width},}{note}" for name, count, note in counts]
