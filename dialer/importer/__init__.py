"""CSV import of a shop's customers, orders, subscriptions, mailings and do-not-call list.

`dialer import KIND FILE` calls `import_file`, prints `summary_lines` and draws a
`ProgressBar`. The pieces, in the order a file goes through them:

- `source`: encoding (UTF-8 with or without BOM, else CP932), delimiter, rows and line numbers;
  a file that cannot be an import file is one `DialerError`, before anything is written.
- `formats`: each kind's columns and Japanese header aliases; `values`: cell parsers (dates in
  many spellings and 和暦, yen amounts, 継続/休止/解約 statuses, consent flags); `phone_cache`:
  `dialer.phones` verdicts at import speed.
- `rows`: good rows become staging records, bad ones issues with their line and reason.
- `statements`, `drivers`, `writer`: per chunk, binary COPY (PostgreSQL) or executemany
  (SQLite) into a temporary table, then set-based duplicate and customer checks and upserts,
  in one transaction per chunk (on PostgreSQL, a large file's chunks are shared by key between
  two connections that apply them side by side).
- `report`: the rejects report and the summary; `pipeline`: `import_file` itself.

Decisions worth knowing when reading a report:
- Rows are upserted by the shop's ids (mailings by customer and mailing name; DNC entries are
  only ever added, never repeated while one is in force), so importing a file again inserts
  nothing and updates nothing; only changed rows count as updated.
- A customer whose number may not be dialled is imported with the number stored as refused,
  and reported as a warning: they exist, have orders, and call lists can say why they are not
  called. The same goes for an unreadable birthday or consent flag (imported as unknown).
- A DNC row whose customer is unknown but whose number is readable is kept for the number:
  losing a refusal is worse than losing its link to a customer record.
- Times without a zone are Tokyo time; everything is stored as UTC.
"""

from dialer.importer.formats import KINDS, UnknownKindError
from dialer.importer.pipeline import DEFAULT_CHUNK_ROWS, Progress, import_file
from dialer.importer.progress import ProgressBar
from dialer.importer.report import ImportSummary, default_report_path, summary_lines
from dialer.importer.source import NotCsvError, SourceError

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "KINDS",
    "ImportSummary",
    "NotCsvError",
    "Progress",
    "ProgressBar",
    "SourceError",
    "UnknownKindError",
    "default_report_path",
    "import_file",
    "summary_lines",
]
