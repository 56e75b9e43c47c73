"""Opening a shop's CSV file: which encoding, which delimiter, and its rows with line numbers.

Japanese shops export UTF-8 (with or without the BOM Excel's "CSV UTF-8" writes) or Shift_JIS,
which in practice means Microsoft's CP932 (Excel's plain "CSV", with ①, ㈱, and NEC's extra
kanji). The whole file is validated as strict UTF-8 first, since a UTF-8 file that is not valid
is rare while CP932 bytes are almost never valid UTF-8; failing that as CP932. Validating before
the first row is imported is what lets a file of the wrong kind (an image, a workbook, UTF-16
text) fail as one clear error with nothing written. The same pass counts lines for the progress
bar; it reads the file at disk speed.

Line numbers are physical lines with the header on line 1, as an editor shows them: a quoted
field that spans lines makes the next row start further down, which `csv.reader.line_num`
follows.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Final

from dialer.errors import DialerError

Row = tuple[int, list[str]]
_BLOCK: Final = 1 << 20
_BOM: Final = codecs.BOM_UTF8
_SIGNATURES: Final = (
    (b"PK\x03\x04", "a ZIP archive, such as an Excel workbook (.xlsx): save it as CSV"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls): save it as CSV"),
    (codecs.BOM_UTF16_LE, "UTF-16 text (Excel's Unicode text): save it as CSV UTF-8"),
    (codecs.BOM_UTF16_BE, "UTF-16 text: save it as CSV UTF-8"),
    (b"%PDF", "a PDF document"),
)


class NotCsvError(DialerError):
    """The file cannot be an import file at all; nothing was imported."""


class SourceError(DialerError):
    """The file stopped being readable CSV part-way through."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: unreadable CSV ({problem})")
        self.line = line


@dataclass(frozen=True)
class CsvSource:
    """A validated input file."""

    path: Path
    #: Python codec: utf-8-sig (also reads BOM-less UTF-8) or cp932.
    codec: str
    #: For people: "UTF-8", "UTF-8 with BOM" or "Shift_JIS (CP932)".
    encoding: str
    delimiter: str
    lines: int

    @property
    def estimated_rows(self) -> int:
        """Data rows, assuming no field spans lines (for progress only)."""
        return max(self.lines - 1, 0)


def inspect_source(path: Path) -> CsvSource:
    """Check that `path` is text in a supported encoding; find its delimiter and line count."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_BLOCK)
            _refuse_binary(path, head)
            codec, lines = _detect_codec(path, head, handle)
    except OSError as error:
        raise NotCsvError(f"{path}: cannot read the file ({error.strerror or error})") from None
    encoding = {"cp932": "Shift_JIS (CP932)"}.get(codec, "UTF-8")
    if head.startswith(_BOM):
        encoding = "UTF-8 with BOM"
    first_line = head.split(b"\n", 1)[0].decode(codec, errors="replace")
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    return CsvSource(path, codec, encoding, delimiter, lines)


def read_rows(source: CsvSource) -> Generator[Row, None, None]:
    """Every non-blank record, header included, with the line it starts on."""
    with source.path.open(encoding=source.codec, newline="") as handle:
        reader = csv.reader(handle, delimiter=source.delimiter)
        end = 0
        try:
            for fields in reader:
                start, end = end + 1, reader.line_num
                if any(fields):
                    yield start, fields
        except csv.Error as error:
            raise SourceError(source.path, reader.line_num, str(error)) from None


def _refuse_binary(path: Path, head: bytes) -> None:
    if not head:
        raise NotCsvError(f"{path}: the file is empty")
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise NotCsvError(f"{path}: not a CSV file but {what}")
    if b"\x00" in head:
        raise NotCsvError(f"{path}: not a CSV file (binary content, such as an image)")


def _detect_codec(path: Path, head: bytes, handle: BinaryIO) -> tuple[str, int]:
    for codec in ("utf-8-sig", "cp932"):
        handle.seek(len(head))
        lines = _validate(path, codec, head, handle)
        if lines is not None:
            return codec, lines
    raise NotCsvError(f"{path}: not a text file in UTF-8 or Shift_JIS (CP932)")


def _validate(path: Path, codec: str, head: bytes, handle: BinaryIO) -> int | None:
    """The number of lines if the whole file decodes as `codec`, else None."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    block, offset, newlines, last = head, 0, 0, b""
    while block:
        if b"\x00" in block:
            raise NotCsvError(f"{path}: not a CSV file (NUL bytes near byte {offset})")
        try:
            decoder.decode(block)
        except UnicodeDecodeError:
            return None
        newlines += block.count(b"\n")
        offset, last = offset + len(block), block
        block = handle.read(_BLOCK)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    return newlines + (0 if last.endswith(b"\n") else 1)
