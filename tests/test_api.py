"""The JSON API: its documented shape (a JSON Schema) and its figures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
from sqlalchemy.orm import Session

from dialer.models import CallStatus, EntryState
from tests.conftest import LoggedIn
from tests.factories import make_attempt, make_entry

RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
COUNT = {"type": "integer", "minimum": 0}
FIGURES = {
    "list_size": COUNT,
    "remaining": COUNT,
    "suppressed": COUNT,
    "done": COUNT,
    "in_progress": COUNT,
    "in_queue": COUNT,
    "calls_today": COUNT,
    "human_answered_today": COUNT,
    "conversions_today": COUNT,
    "entered_queue_today": COUNT,
    "abandoned_today": COUNT,
    "opt_outs_today": COUNT,
    "contact_rate": RATE,
    "conversion_rate": RATE,
    "abandon_rate": RATE,
    "average_queue_wait_seconds": {"type": ["number", "null"], "minimum": 0},
    "average_handle_seconds": {"type": ["number", "null"], "minimum": 0},
}
DISPLAY = {"type": "object", "additionalProperties": {"type": "string"}}
TIME = {"type": "string", "format": "date-time"}
MAYBE_TIME = {"type": ["string", "null"], "format": "date-time"}

OVERVIEW_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["generated_at", "config_ok", "config_problems", "campaigns", "totals", "display"],
    "additionalProperties": False,
    "properties": {
        "generated_at": TIME,
        "config_ok": {"type": "boolean"},
        "config_problems": {"type": "array", "items": {"type": "string"}},
        "display": {
            "type": "object",
            "required": ["generated_at", "lang"],
            "properties": {"generated_at": {"type": "string"}, "lang": {"enum": ["ja", "en"]}},
        },
        "totals": {
            "type": "object",
            "required": [*FIGURES, "display"],
            "additionalProperties": False,
            "properties": {**FIGURES, "display": DISPLAY},
        },
        "campaigns": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "id", "name", "priority", "timezone", "state", "closed_reason",
                    "closed_detail", "next_open_at", "paused", "paused_by", "paused_at",
                    "expected_queue_wait_seconds", "held_back_by_queue", *FIGURES, "display",
                ],
                "properties": {
                    **FIGURES,
                    "id": {"type": "string"},
                    "name": {"type": ["string", "null"]},
                    "priority": {"type": ["integer", "null"]},
                    "timezone": {"type": "string"},
                    "state": {"enum": ["dialling", "paused", "closed"]},
                    "closed_reason": {
                        "enum": [
                            None, "holiday", "blackout", "no_window", "outside_hours",
                            "last_dial_margin", "no_time_left", "not_started", "finished",
                            "disabled", "config_error", "not_configured",
                        ]
                    },
                    "closed_detail": {"type": ["string", "null"]},
                    "next_open_at": MAYBE_TIME,
                    "paused": {"type": "boolean"},
                    "paused_by": {"type": ["string", "null"]},
                    "paused_at": MAYBE_TIME,
                    "expected_queue_wait_seconds": {"type": ["number", "null"], "minimum": 0},
                    "held_back_by_queue": {"type": "boolean"},
                    "display": DISPLAY,
                },
            },
        },
    },
}  # fmt: skip

HOURLY = {"type": "array", "minItems": 24, "maxItems": 24}
CHARTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "generated_at", "timezone", "days", "categories", "today_by_hour", "contact_by_hour",
        "outcomes_by_campaign", "display",
    ],
    "properties": {
        "generated_at": TIME,
        "days": {"const": 30},
        "categories": {
            "type": "array",
            "items": {"type": "object", "required": ["code", "label"]},
        },
        "today_by_hour": {
            **HOURLY,
            "items": {
                "type": "object",
                "required": ["hour", "human", "machine", "busy", "no-answer", "failed", "live"],
            },
        },
        "contact_by_hour": {
            **HOURLY,
            "items": {
                "type": "object",
                "required": ["hour", "dialled", "human", "contact_rate"],
                "properties": {"contact_rate": RATE},
            },
        },
        "outcomes_by_campaign": {
            "type": "array",
            "items": {"type": "object", "required": ["id", "name", "human"]},
        },
    },
}  # fmt: skip


def validate(document: Any, schema: dict[str, Any]) -> None:
    jsonschema.validate(document, schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture
def calls_now(session: Session) -> None:
    """Two calls today: one answered by a person (2 minutes), one busy."""
    now = datetime.now(UTC)
    for outcome, status in (("human", CallStatus.COMPLETED), ("busy", CallStatus.BUSY)):
        entry = make_entry(session, state=EntryState.DONE)
        attempt = make_attempt(session, entry, started_at=now, status=status, outcome=outcome)
        attempt.ended_at = now
        attempt.duration_seconds = 120 if outcome == "human" else None
    session.commit()


def test_overview_has_the_documented_shape(logged_in: LoggedIn, calls_now: None) -> None:
    document = logged_in("supervisor").get("/api/overview").get_json()
    validate(document, OVERVIEW_SCHEMA)
    [campaign] = document["campaigns"]
    assert campaign["id"] == "f2-followup"
    assert (campaign["calls_today"], campaign["human_answered_today"]) == (2, 1)
    assert campaign["contact_rate"] == 0.5
    assert campaign["average_handle_seconds"] == 120
    assert campaign["display"]["contact_rate"] == "50.0%"
    assert campaign["display"]["average_handle_seconds"] == "2:00"
    assert document["totals"]["calls_today"] == 2


def test_overview_with_nothing_yet(logged_in: LoggedIn) -> None:
    document = logged_in("supervisor").get("/api/overview").get_json()
    validate(document, OVERVIEW_SCHEMA)
    assert document["campaigns"][0]["contact_rate"] is None
    assert document["campaigns"][0]["display"]["contact_rate"] == "—"


def test_overview_answers_in_english_for_an_english_session(logged_in: LoggedIn) -> None:
    client = logged_in("supervisor")
    client.post("/language", data={"lang": "en"})
    document = client.get("/api/overview").get_json()
    assert document["display"]["lang"] == "en"
    assert document["campaigns"][0]["display"]["state"] in {"Dialling", "Paused", "Closed"}


def test_overview_is_never_cached(logged_in: LoggedIn) -> None:
    response = logged_in("supervisor").get("/api/overview")
    assert response.headers["Cache-Control"] == "no-store"


def test_charts_have_the_documented_shape(logged_in: LoggedIn, calls_now: None) -> None:
    document = logged_in("supervisor").get("/api/charts").get_json()
    validate(document, CHARTS_SCHEMA)
    assert sum(hour["human"] for hour in document["today_by_hour"]) == 1
    assert document["outcomes_by_campaign"][0]["name"] == "2回目購入のご案内"
    assert {category["code"] for category in document["categories"]} >= {"human", "busy"}


def test_the_api_needs_a_login(logged_in: LoggedIn) -> None:
    response = logged_in(None).get("/api/overview")
    assert response.status_code == 401
    assert response.get_json() == {"error": "login required"}
