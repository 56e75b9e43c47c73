"""Reading an input file: encodings, delimiters, physical line numbers; and the progress bar."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from dialer.importer.progress import ProgressBar, render
from dialer.importer.source import inspect_source, read_rows


def write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "file.csv"
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("data", "codec", "encoding"),
    [
        ("id,名前\n1,山田\n".encode(), "utf-8-sig", "UTF-8"),
        ("id,名前\n1,山田\n".encode("utf-8-sig"), "utf-8-sig", "UTF-8 with BOM"),
        ("id,名前\n1,髙橋①\n".encode("cp932"), "cp932", "Shift_JIS (CP932)"),
        (b"id,name\n1,plain ascii\n", "utf-8-sig", "UTF-8"),
    ],
    ids=["utf-8", "utf-8-bom", "cp932", "ascii"],
)
def test_the_encoding_is_detected(tmp_path: Path, data: bytes, codec: str, encoding: str) -> None:
    source = inspect_source(write(tmp_path, data))

    assert (source.codec, source.encoding) == (codec, encoding)
    assert next(read_rows(source))[1][0] == "id"


def test_cp932_text_after_the_first_megabyte_is_still_detected(tmp_path: Path) -> None:
    data = b"id,name\n" + b"1,ascii only\n" * 100_000 + "2,山田\n".encode("cp932")

    source = inspect_source(write(tmp_path, data))

    assert source.codec == "cp932"
    assert list(read_rows(source))[-1] == (100_002, ["2", "山田"])


def test_rows_start_on_their_physical_line(tmp_path: Path) -> None:
    data = b'h1,h2\r\n\r\na,"two\r\nlines"\r\nb,"three\nmixed\rendings"\nc,d'

    rows = list(read_rows(inspect_source(write(tmp_path, data))))

    assert [(line, fields[0]) for line, fields in rows] == [(1, "h1"), (3, "a"), (5, "b"), (8, "c")]


def test_line_count_estimates_rows_for_progress(tmp_path: Path) -> None:
    source = inspect_source(write(tmp_path, b"h\n1\n2\n3"))

    assert (source.lines, source.estimated_rows) == (4, 3)


def test_a_tab_separated_header_switches_the_delimiter(tmp_path: Path) -> None:
    source = inspect_source(write(tmp_path, b"id\tname, with comma\tphone\n1\tx\t0\n"))

    assert source.delimiter == "\t"
    assert next(read_rows(source))[1] == ["id", "name, with comma", "phone"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_draws_on_a_terminal_and_ends_its_line() -> None:
    stream = _Terminal()
    ticks = iter([0.0, 2.0, 4.0])

    with ProgressBar("orders", stream, clock=lambda: next(ticks)) as bar:
        bar(50_000, 200_000)
        bar(200_000, 200_000)

    frames = stream.getvalue().split("\r")[1:]
    assert frames[0] == render("orders", 50_000, 200_000, 2.0)
    assert frames[1] == render("orders", 200_000, 200_000, 4.0) + "\n"


def test_the_bar_is_silent_when_output_is_not_a_terminal() -> None:
    stream = io.StringIO()

    with ProgressBar("orders", stream) as bar:
        bar(1, 2)

    assert stream.getvalue() == ""


def test_a_frame_shows_share_rows_and_rate() -> None:
    assert render("orders", 100_000, 400_000, 2.0) == (
        "orders [########----------------------]  25%  100,000 rows  50,000 rows/s"
    )
