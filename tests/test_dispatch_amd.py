"""How the dispatcher asks for answering machine detection: always in the background
(`AsyncAmd`), so that a person never waits in silence; a campaign that leaves a message on
machines asks for the end of the machine's greeting (`DetectMessageEnd`), the others for the
first verdict (`Enable`). Form fields as Twilio's HTTP API receives them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.conftest import PUBLIC_BASE_URL, FakeTwilio, Tick
from tests.factories import dispatch_campaign, make_dispatch_config, make_entry

SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "twilio" / "twilio_api_v2010.json"
AMD_FIELDS = (
    "MachineDetection",
    "AsyncAmd",
    "AsyncAmdStatusCallback",
    "AsyncAmdStatusCallbackMethod",
)


def amd_fields(form: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: value for name, value in form.items() if name in AMD_FIELDS}


def test_a_campaign_leaving_a_message_detects_the_beep_in_the_background(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    make_entry(session)
    session.commit()

    tick(make_dispatch_config(dispatch_campaign(leaves_message=True)))

    [form] = fake_twilio.creates
    attempt_id = form["Url"][0].rsplit("/", 1)[-1]
    assert amd_fields(form) == {
        "MachineDetection": ["DetectMessageEnd"],
        "AsyncAmd": ["true"],
        "AsyncAmdStatusCallback": [f"{PUBLIC_BASE_URL}/twilio/amd?attempt={attempt_id}"],
        "AsyncAmdStatusCallbackMethod": ["POST"],
    }


def test_a_campaign_hanging_up_on_machines_detects_asynchronously(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    make_entry(session)
    session.commit()

    tick(make_dispatch_config(dispatch_campaign(leaves_message=False)))

    [form] = fake_twilio.creates
    attempt_id = form["Url"][0].rsplit("/", 1)[-1]
    assert amd_fields(form) == {
        "MachineDetection": ["Enable"],
        "AsyncAmd": ["true"],
        "AsyncAmdStatusCallback": [f"{PUBLIC_BASE_URL}/twilio/amd?attempt={attempt_id}"],
        "AsyncAmdStatusCallbackMethod": ["POST"],
    }


def test_the_amd_fields_and_values_are_twilios(
    session: Session, fake_twilio: FakeTwilio, tick: Tick
) -> None:
    if not SPEC_PATH.is_file():
        pytest.skip(f"Twilio's OpenAPI description is not at {SPEC_PATH}")
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    operation = next(
        op
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and op.get("operationId") == "CreateCall"
    )
    properties = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"][
        "properties"
    ]
    make_entry(session)
    session.commit()

    tick(make_dispatch_config(dispatch_campaign(leaves_message=True)))

    [form] = fake_twilio.creates
    assert set(form) <= set(properties)
    assert set(AMD_FIELDS) <= set(properties)
    assert "DetectMessageEnd" in json.dumps(properties["MachineDetection"])
