"""The dashboard's languages: every message translated, dates and numbers as people read them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask, session

from dialer.dispositions import Disposition
from dialer.outcome_codes import ClosedReason
from tests.factories import JST
from web.i18n import day, gettext, label, number, percent, seconds, when
from web.translations.ja import MESSAGES
from web.translations.labels import LABELS

WEB = Path(__file__).resolve().parent.parent / "web"
_MESSAGE = re.compile(r"""(?<![\w.])_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def written_messages() -> set[str]:
    """Every `_("…")` in the templates and the views (the catalog itself left out)."""
    sources = [*WEB.glob("templates/**/*.html"), *WEB.glob("**/*.py")]
    found = set()
    for path in sources:
        if "translations" in path.parts:
            continue
        for match in _MESSAGE.finditer(path.read_text(encoding="utf-8")):
            found.add(match.group(1) if match.group(1) is not None else match.group(2))
    return found


def test_every_message_has_its_japanese() -> None:
    messages = written_messages()
    assert len(messages) > 100
    assert sorted(messages - MESSAGES.keys()) == []


def test_every_label_has_its_japanese() -> None:
    english = {text for vocabulary in LABELS.values() for text in vocabulary.values()}
    assert sorted(english - MESSAGES.keys()) == []


def test_every_stored_disposition_and_closed_reason_has_a_label() -> None:
    """The call log and the customer page show these codes; none may surface raw."""
    assert {d.value for d in Disposition} <= LABELS["disposition"].keys()
    assert {r.value for r in ClosedReason} <= LABELS["closed_reason"].keys()


def test_placeholders_survive_translation() -> None:
    for english, japanese in MESSAGES.items():
        assert set(re.findall(r"%\(\w+\)s", english)) == set(re.findall(r"%\(\w+\)s", japanese)), (
            english
        )


Choose = Callable[[str], None]


@pytest.fixture
def choose(dashboard: Flask) -> Iterator[Choose]:
    """Inside a request of the dashboard: `choose("en")` picks the session's language."""
    with dashboard.test_request_context("/"):

        def pick(code: str) -> None:
            session["lang"] = code

        yield pick


AT = datetime(2026, 11, 24, 10, 15, tzinfo=JST)  # a Tuesday


def test_japanese_forms(choose: Choose) -> None:
    choose("ja")
    assert when(AT, JST) == "2026年11月24日(火) 10:15"
    assert day(date(2026, 11, 24)) == "2026年11月24日(火)"
    assert gettext("Overview") == "概要"
    assert label("outcome", "no-answer") == "不在"
    assert gettext("Paused %(name)s.", name="F2") == "「F2」を一時停止しました。"


def test_english_forms(choose: Choose) -> None:
    choose("en")
    assert when(AT, JST) == "Tue 24 Nov 2026 10:15"
    assert gettext("Overview") == "Overview"
    assert label("outcome", "no-answer") == "No answer"


def test_times_are_read_in_the_zone_given(choose: Choose) -> None:
    choose("ja")
    assert when(AT, ZoneInfo("America/New_York")) == "2026年11月23日(月) 20:15"


def test_unknown_codes_are_shown_as_they_are(choose: Choose) -> None:
    choose("ja")
    assert label("outcome", "something_new") == "something_new"
    assert label("outcome", None) == "—"


def test_numbers_rates_and_durations() -> None:
    assert number(1234567) == "1,234,567"
    assert percent(0.4193) == "41.9%"
    assert percent(None) == "—"
    assert seconds(83) == "1:23"
    assert seconds(3725) == "1:02:05"
    assert seconds(None) == "—"
