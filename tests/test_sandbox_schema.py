"""The sandbox's REST answers validate against Twilio's OpenAPI description.

The checker below reads the schemas of `../shared/twilio/twilio_api_v2010.json`, resolves their
`$ref`s, and is stricter than the description itself: every declared property must be present
(Twilio always sends them all, null when unknown) and no undeclared one may appear. Types,
nullability, enums, patterns, lengths and the formats the Call resource uses are checked.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from dialer.sandbox import Behaviour, Sandbox
from tests.test_sandbox_app import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    COMPANY,
    number,
    sandbox_config,
    scripted,
)

SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "twilio" / "twilio_api_v2010.json"
CALL = {"$ref": "#/components/schemas/api.v2010.account.call"}
HOLD = "<Response><Pause length='600'/></Response>"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        pytest.skip(f"Twilio's OpenAPI description is not at {SPEC_PATH}")
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


# --- the checker -----------------------------------------------------------------------------


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def problems(
    spec: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "$"
) -> list[str]:
    """Everything about `value` that `schema` does not allow; empty when it conforms."""
    schema = resolve(spec, schema)
    if value is None:
        return [] if schema.get("nullable") else [f"{where} is null"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}={value!r} is not one of {schema['enum']}"]
    kind = schema.get("type")
    if kind == "object":
        return _object_problems(spec, schema, value, where)
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where} is not an array"]
        items = schema.get("items", {})
        return [
            p for i, item in enumerate(value) for p in problems(spec, items, item, f"{where}[{i}]")
        ]
    if kind == "string":
        return _string_problems(schema, value, where)
    if kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
        return [f"{where}={value!r} is not an integer"]
    if kind == "boolean" and not isinstance(value, bool):
        return [f"{where}={value!r} is not a boolean"]
    return []


def _object_problems(
    spec: dict[str, Any], schema: dict[str, Any], value: Any, where: str
) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where} is not an object"]
    declared: dict[str, Any] | None = schema.get("properties")
    if declared is None:  # a map such as subresource_uris: names are free, values are text
        return [f"{where}.{k} is not text" for k, v in value.items() if not isinstance(v, str)]
    found = [f"{where}.{name} is missing" for name in declared if name not in value]
    found += [f"{where}.{name} is not declared" for name in value if name not in declared]
    for name, sub in declared.items():
        if name in value:
            found += problems(spec, sub, value[name], f"{where}.{name}")
    return found


def _string_problems(schema: dict[str, Any], value: Any, where: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{where}={value!r} is not text"]
    found = []
    if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", 1 << 30):
        found.append(f"{where}={value!r} has the wrong length")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        found.append(f"{where}={value!r} does not match {schema['pattern']}")
    fmt = schema.get("format")
    if fmt == "date-time-rfc-2822" and not _rfc2822_utc(value):
        found.append(f"{where}={value!r} is not an RFC 2822 date in +0000")
    if fmt == "uri" and not (value.startswith("/") or urlsplit(value).scheme in ("http", "https")):
        found.append(f"{where}={value!r} is not a URI")
    if fmt == "currency" and not re.fullmatch(r"[A-Z]{3}", value):
        found.append(f"{where}={value!r} is not a currency code")
    return found


def _rfc2822_utc(value: str) -> bool:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return parsed.tzinfo is not None and value.endswith(" +0000")


def list_schema(spec: dict[str, Any]) -> dict[str, Any]:
    operation = spec["paths"]["/2010-04-01/Accounts/{AccountSid}/Calls.json"]["get"]
    schema: dict[str, Any] = operation["responses"]["200"]["content"]["application/json"]["schema"]
    return schema


def assert_call(spec: dict[str, Any], body: Any) -> None:
    assert problems(spec, CALL, body) == []


def assert_page(spec: dict[str, Any], body: Any) -> None:
    assert problems(spec, list_schema(spec), body) == []


def example(spec: dict[str, Any], path: str, method: str, status: str, name: str) -> Any:
    answer = spec["paths"][path][method]["responses"][status]["content"]["application/json"]
    return copy.deepcopy(answer["examples"][name]["value"])


CALLS_PATH = "/2010-04-01/Accounts/{AccountSid}/Calls.json"
CALL_PATH = "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json"


def test_the_checker_accepts_twilios_own_examples(spec: dict[str, Any]) -> None:
    assert_call(spec, example(spec, CALLS_PATH, "post", "201", "create"))
    assert_call(spec, example(spec, CALL_PATH, "get", "200", "fetch"))
    assert_page(spec, example(spec, CALLS_PATH, "get", "200", "readFullPage1"))


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda body: body.pop("queue_time"), "queue_time is missing"),
        (lambda body: body.update(extra=1), "extra is not declared"),
        (lambda body: body.update(sid="CA123"), "sid='CA123' has the wrong length"),
        (lambda body: body.update(status="initiated"), "is not one of"),
        (lambda body: body.update(duration=15), "duration=15 is not text"),
        (lambda body: body.update(start_time="2010-08-31T20:36:29Z"), "not an RFC 2822 date"),
    ],
    ids=["missing", "undeclared", "bad-sid", "bad-status", "number-not-text", "iso-date"],
)
def test_the_checker_rejects_what_the_description_does_not_allow(
    spec: dict[str, Any], change: Callable[[dict[str, Any]], Any], complaint: str
) -> None:
    body = example(spec, CALL_PATH, "get", "200", "fetch")
    change(body)

    assert any(complaint in problem for problem in problems(spec, CALL, body))


# --- the sandbox's answers ---------------------------------------------------------------------


class Api:
    """Raw requests to the sandbox's REST API, for answers the provider does not show."""

    def __init__(self, base_url: str) -> None:
        self.base = f"{base_url}/2010-04-01/Accounts/{ACCOUNT_SID}"
        self.session = requests.Session()
        self.session.auth = (ACCOUNT_SID, AUTH_TOKEN)

    def create(self, to: str, **fields: str) -> requests.Response:
        form = {"To": to, "From": COMPANY, "Twiml": HOLD, **fields}
        return self.session.post(f"{self.base}/Calls.json", data=form, timeout=5)

    def fetch(self, sid: str) -> requests.Response:
        return self.session.get(f"{self.base}/Calls/{sid}.json", timeout=5)

    def update(self, sid: str, **fields: str) -> requests.Response:
        return self.session.post(f"{self.base}/Calls/{sid}.json", data=fields, timeout=5)

    def list(self, **query: str) -> requests.Response:
        return self.session.get(f"{self.base}/Calls.json", params=query, timeout=5)

    def wait_for(self, sid: str, field: str, value: str, timeout: float = 5.0) -> dict[str, Any]:
        """The call once its `field` is `value`."""
        deadline = time.monotonic() + timeout
        while True:
            body: dict[str, Any] = self.fetch(sid).json()
            if body[field] == value:
                return body
            assert time.monotonic() < deadline, f"{sid} has {field}={body[field]}, not {value}"
            time.sleep(0.01)


CALLEES = scripted(
    ringing=Behaviour(ring_seconds=500),
    live=Behaviour(ring_seconds=1),
    machine=Behaviour(outcome="machine", ring_seconds=1, detection_seconds=1),
    busy=Behaviour(outcome="busy", ring_seconds=1),
    unanswered=Behaviour(ring_seconds=30),
    failing=Behaviour(outcome="failed", ring_seconds=1),
)


@pytest.fixture
def api() -> Iterator[Api]:
    with Sandbox(sandbox_config(callee=CALLEES)) as sandbox:
        yield Api(sandbox.base_url)


def test_call_resources_validate_in_every_state(spec: dict[str, Any], api: Api) -> None:
    answers = []
    ringing = api.create(number("ringing"), Timeout="600")
    queued = api.create(number("live"))
    answers += [ringing.json(), queued.json(), api.fetch(queued.json()["sid"]).json()]
    assert (ringing.status_code, queued.json()["status"]) == (201, "queued")
    answers.append(api.wait_for(ringing.json()["sid"], "status", "ringing"))
    answers.append(api.update(ringing.json()["sid"], Status="canceled").json())
    answers.append(api.update(queued.json()["sid"], Status="canceled").json())
    sids = [
        api.create(number(name), **fields).json()["sid"]
        for name, fields in [
            ("live", {}),
            ("machine", {"MachineDetection": "Enable", "AsyncAmd": "true"}),
            ("busy", {}),
            ("unanswered", {"Timeout": "5"}),
            ("failing", {}),
        ]
    ]
    live, machine, busy, unanswered, failing = sids
    answers.append(api.wait_for(live, "status", "in-progress"))
    answers.append(api.update(live, Status="completed").json())
    for sid, status in [
        (busy, "busy"),
        (unanswered, "no-answer"),
        (failing, "failed"),
    ]:
        answers.append(api.wait_for(sid, "status", status))
    answers.append(api.wait_for(machine, "answered_by", "machine_start"))
    answers.append(api.list().json())

    for answer in answers:
        if "calls" in answer:
            assert_page(spec, answer)
        else:
            assert_call(spec, answer)
    statuses = {answer.get("status") for answer in answers}
    assert statuses >= {"queued", "ringing", "in-progress", "completed", "canceled", "busy"}
    assert statuses >= {"no-answer", "failed"}


def test_list_pages_validate_and_chain_through_next_page_uri(
    spec: dict[str, Any], api: Api
) -> None:
    created = [api.create(number("ringing"), Timeout="600").json()["sid"] for _ in range(5)]

    seen: list[str] = []
    page = api.list(To=number("ringing"), PageSize="2").json()
    while True:
        assert_page(spec, page)
        assert page["page_size"] == 2
        seen += [call["sid"] for call in page["calls"]]
        if page["next_page_uri"] is None:
            break
        page = api.session.get(api.base.split("/2010-04-01")[0] + page["next_page_uri"]).json()

    assert seen == list(reversed(created))


@pytest.mark.parametrize(
    ("send", "status", "code"),
    [
        (lambda api: api.create("09012345678"), 400, 21211),
        (lambda api: api.create(""), 400, 21201),
        (lambda api: api.fetch("CA" + "0" * 32), 404, 20404),
        (lambda api: api.update("CA" + "0" * 32, Status="completed"), 404, 20404),
        (lambda api: api.list(**{"StartTime>": "yesterday"}), 400, 20001),
    ],
    ids=["invalid-to", "missing-to", "unknown-call", "update-unknown", "bad-filter"],
)
def test_error_bodies_have_twilios_shape(
    api: Api, send: Callable[[Api], requests.Response], status: int, code: int
) -> None:
    answer = send(api)

    assert answer.status_code == status
    body = answer.json()
    assert set(body) == {"code", "message", "more_info", "status"}
    assert (body["code"], body["status"]) == (code, status)
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{code}"


def test_wrong_credentials_get_20003(api: Api) -> None:
    api.session.auth = (ACCOUNT_SID, "not-the-token")

    answer = api.list()

    assert answer.status_code == 401
    assert answer.json()["code"] == 20003
