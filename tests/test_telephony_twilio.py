"""The Twilio provider against Twilio's HTTP API, mocked with `responses` at the HTTP layer.

Request fields are checked against Twilio's OpenAPI description of the 2010-04-01 API and the
response bodies are that description's own examples, so both directions follow Twilio's shapes.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
from responses import matchers

from dialer.settings import Settings
from dialer.telephony import (
    AmbiguousOutcomeError,
    AuthenticationError,
    CallRequest,
    InvalidNumberError,
    ProviderUnavailableError,
    RateLimitError,
    RejectedError,
    TelephonyError,
)
from dialer.telephony.twilio import TwilioConfigError, TwilioProvider

SPEC_PATH = Path(__file__).resolve().parents[2] / "shared" / "twilio" / "twilio_api_v2010.json"
# The account of the spec's examples, so that their page URIs name the same account.
ACCOUNT_SID = "AC" + "a" * 32
AUTH_TOKEN = "tok-3f9c1e-never-in-logs"
CALL_SID = "CA" + "a" * 32
BASE = "https://api.twilio.com"
CUSTOMER = "+819012345678"
COMPANY = "+81312345678"
PUBLIC = "https://dialer.example.jp"
CALLS_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
CALL_PATH = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{CALL_SID}.json"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        pytest.skip(f"Twilio's OpenAPI description is not at {SPEC_PATH}")
    loaded: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def provider() -> TwilioProvider:
    return TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, BASE)


@pytest.fixture
def call_body(spec: dict[str, Any]) -> dict[str, Any]:
    return example(spec, "FetchCall", "fetch")


def amd_request() -> CallRequest:
    return CallRequest(
        to=CUSTOMER,
        from_=COMPANY,
        url=f"{PUBLIC}/twilio/voice/42",
        status_callback=f"{PUBLIC}/twilio/status",
        timeout=25,
        machine_detection="DetectMessageEnd",
        machine_detection_timeout=30,
        async_amd=True,
        async_amd_status_callback=f"{PUBLIC}/twilio/amd",
    )


def plain_request() -> CallRequest:
    return CallRequest(
        to=CUSTOMER,
        from_=COMPANY,
        url=f"{PUBLIC}/twilio/voice/43",
        status_callback=f"{PUBLIC}/twilio/status",
    )


# --- reading the OpenAPI description ---------------------------------------------------------


def operation(spec: dict[str, Any], operation_id: str) -> dict[str, Any]:
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op
    raise KeyError(operation_id)


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def example(spec: dict[str, Any], operation_id: str, name: str) -> dict[str, Any]:
    for answer in operation(spec, operation_id)["responses"].values():
        examples = answer.get("content", {}).get("application/json", {}).get("examples", {})
        if name in examples:
            return copy.deepcopy(examples[name]["value"])
    raise KeyError(f"{operation_id} has no example {name!r}")


def form_schema(spec: dict[str, Any], operation_id: str) -> dict[str, Any]:
    body = operation(spec, operation_id)["requestBody"]
    return resolve(spec, body["content"]["application/x-www-form-urlencoded"]["schema"])


def assert_value_conforms(schema: dict[str, Any], value: str) -> None:
    if "enum" in schema:
        assert value in schema["enum"]
    if schema.get("type") == "integer":
        assert value.isdigit(), value
    if schema.get("type") == "boolean":
        assert value in ("true", "false")
    if schema.get("format") == "uri":
        parts = urlsplit(value)
        assert parts.scheme in ("http", "https") and parts.netloc, value


def assert_conforms(spec: dict[str, Any], operation_id: str, fields: dict[str, list[str]]) -> None:
    """Every field is declared, every required one is sent, each value fits its schema."""
    schema = form_schema(spec, operation_id)
    declared = schema["properties"]
    assert set(fields) <= set(declared), set(fields) - set(declared)
    assert set(schema.get("required", [])) <= set(fields)
    for name, values in fields.items():
        prop = resolve(spec, declared[name])
        if prop.get("type") == "array":
            item = resolve(spec, prop.get("items", {}))
        else:
            assert len(values) == 1, f"{name} sent {len(values)} times"
            item = prop
        for value in values:
            assert_value_conforms(item, value)


def sent_form(call: Any) -> dict[str, list[str]]:
    body = call.request.body
    text = body.decode() if isinstance(body, bytes) else body
    return parse_qs(text, keep_blank_values=True, strict_parsing=True)


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    more_info = f"https://www.twilio.com/docs/errors/{code}"
    return {"code": code, "message": message, "more_info": more_info, "status": status}


# --- placing a call --------------------------------------------------------------------------


def test_place_call_posts_exactly_the_expected_fields(
    http: responses.RequestsMock, provider: TwilioProvider, spec: dict[str, Any]
) -> None:
    http.post(BASE + CALLS_PATH, json=example(spec, "CreateCall", "create"), status=201)

    provider.place_call(amd_request())

    assert sent_form(http.calls[0]) == {
        "To": [CUSTOMER],
        "From": [COMPANY],
        "Url": [f"{PUBLIC}/twilio/voice/42"],
        "Method": ["POST"],
        "StatusCallback": [f"{PUBLIC}/twilio/status"],
        "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
        "StatusCallbackMethod": ["POST"],
        "Timeout": ["25"],
        "MachineDetection": ["DetectMessageEnd"],
        "MachineDetectionTimeout": ["30"],
        "AsyncAmd": ["true"],
        "AsyncAmdStatusCallback": [f"{PUBLIC}/twilio/amd"],
        "AsyncAmdStatusCallbackMethod": ["POST"],
    }


def test_place_call_authenticates_with_account_sid_and_token(
    http: responses.RequestsMock, provider: TwilioProvider, spec: dict[str, Any]
) -> None:
    http.post(BASE + CALLS_PATH, json=example(spec, "CreateCall", "create"), status=201)

    provider.place_call(plain_request())

    credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    assert http.calls[0].request.headers["Authorization"] == f"Basic {credentials}"


def test_place_call_without_amd_sends_no_amd_fields(
    http: responses.RequestsMock, provider: TwilioProvider, spec: dict[str, Any]
) -> None:
    http.post(BASE + CALLS_PATH, json=example(spec, "CreateCall", "create"), status=201)

    provider.place_call(plain_request())

    sent = sent_form(http.calls[0])
    assert not {name for name in sent if "Amd" in name or "MachineDetection" in name}
    assert sent["Timeout"] == ["60"]


@pytest.mark.parametrize("request_", [amd_request(), plain_request()], ids=["amd", "plain"])
def test_place_call_fields_conform_to_create_call(
    http: responses.RequestsMock,
    provider: TwilioProvider,
    spec: dict[str, Any],
    request_: CallRequest,
) -> None:
    http.post(BASE + CALLS_PATH, json=example(spec, "CreateCall", "create"), status=201)

    provider.place_call(request_)

    sent = sent_form(http.calls[0])
    assert_conforms(spec, "CreateCall", sent)
    events = spec["components"]["schemas"].get("call_enum_event", {}).get("enum")
    if events is not None:
        assert set(sent["StatusCallbackEvent"]) <= set(events)


def test_place_call_reads_the_created_call(
    http: responses.RequestsMock, provider: TwilioProvider, spec: dict[str, Any]
) -> None:
    http.post(BASE + CALLS_PATH, json=example(spec, "CreateCall", "create"), status=201)

    call = provider.place_call(amd_request())

    assert call.sid == CALL_SID
    assert (call.to, call.from_) == ("+14158675309", "+14158675308")
    assert call.status == "completed" and call.is_final
    assert call.date_created == datetime(2010, 8, 31, 20, 36, 28, tzinfo=UTC)
    assert call.start_time == datetime(2010, 8, 31, 20, 36, 29, tzinfo=UTC)
    assert call.end_time == datetime(2010, 8, 31, 20, 36, 44, tzinfo=UTC)
    assert (call.duration, call.queue_time_ms, call.answered_by) == (15, 1000, None)


# --- fetching, listing, updating -------------------------------------------------------------


def test_fetch_call_reads_the_call(
    http: responses.RequestsMock, provider: TwilioProvider, call_body: dict[str, Any]
) -> None:
    http.get(BASE + CALL_PATH, json=call_body)

    call = provider.fetch_call(CALL_SID)

    assert call.sid == CALL_SID
    assert call.answered_by == "machine_start"
    assert call.start_time == datetime(2019, 10, 18, 17, 2, tzinfo=UTC)
    assert call.duration == 4
    assert http.calls[0].request.method == "GET"


def test_fetch_call_of_a_queued_call_has_no_times(
    http: responses.RequestsMock, provider: TwilioProvider, call_body: dict[str, Any]
) -> None:
    call_body |= {"status": "queued", "start_time": None, "end_time": None, "duration": None}
    http.get(BASE + CALL_PATH, json=call_body)

    call = provider.fetch_call(CALL_SID)

    assert (call.start_time, call.end_time, call.duration) == (None, None, None)
    assert not call.is_final


def list_page(spec: dict[str, Any], calls: list[dict[str, Any]]) -> dict[str, Any]:
    """A last page (no next_page_uri) holding `calls`."""
    page = example(spec, "ListCall", "readEmptyDatesGreater")
    page["calls"] = calls
    return page


def expect_queued(http: responses.RequestsMock, page: dict[str, Any], root: str = BASE) -> None:
    query = {"To": CUSTOMER, "Status": "queued"}
    http.get(root + CALLS_PATH, json=page, match=[matchers.query_param_matcher(query)])


def expect_started(
    http: responses.RequestsMock, page: dict[str, Any], since: str, root: str = BASE
) -> None:
    query = {"To": CUSTOMER, "StartTime>": since}
    http.get(root + CALLS_PATH, json=page, match=[matchers.query_param_matcher(query)])


def test_list_calls_asks_for_the_number_since_the_attempt_in_utc(
    http: responses.RequestsMock, provider: TwilioProvider, spec: dict[str, Any]
) -> None:
    expect_queued(http, list_page(spec, []))
    expect_started(http, list_page(spec, []), since="2019-10-18T15:30:15Z")

    since = datetime(2019, 10, 19, 0, 30, 15, 999_999, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert provider.list_calls(CUSTOMER, since) == []


def test_list_calls_asks_for_queued_calls_first(
    http: responses.RequestsMock, provider: TwilioProvider, spec: dict[str, Any]
) -> None:
    expect_queued(http, list_page(spec, []))
    expect_started(http, list_page(spec, []), since="2019-10-18T15:00:00Z")

    provider.list_calls(CUSTOMER, datetime(2019, 10, 18, 15, 0, tzinfo=UTC))

    queries = [parse_qs(urlsplit(str(call.request.url)).query) for call in http.calls]
    assert [query.get("Status") for query in queries] == [["queued"], None]


def test_list_calls_follows_next_page_uri(
    http: responses.RequestsMock, provider: TwilioProvider, spec: dict[str, Any]
) -> None:
    first = example(spec, "ListCall", "readFullPage1")
    # The spec's second page repeats the first page's calls and points on to a third page.
    second = example(spec, "ListCall", "readFullPage2")
    second["next_page_uri"] = None
    for n, call in enumerate(second["calls"]):
        call["sid"] = f"CA{n:032d}"
    expect_queued(http, list_page(spec, []))
    expect_started(http, first, since="2019-10-18T15:00:00Z")
    http.get(BASE + first["next_page_uri"], json=second)

    calls = provider.list_calls(CUSTOMER, datetime(2019, 10, 18, 15, 0, tzinfo=UTC))

    assert http.calls[-1].request.url == BASE + first["next_page_uri"]
    assert len(calls) == 4
    assert [call.date_created for call in calls] == sorted(call.date_created for call in calls)


def test_list_calls_includes_queued_calls_and_drops_calls_created_before(
    http: responses.RequestsMock,
    provider: TwilioProvider,
    call_body: dict[str, Any],
    spec: dict[str, Any],
) -> None:
    def call(sid_digit: str, created: str, **fields: Any) -> dict[str, Any]:
        return call_body | {"sid": "CA" + sid_digit * 32, "date_created": created} | fields

    waiting = {"status": "queued", "start_time": None, "end_time": None, "duration": None}
    queued = call("1", "Fri, 18 Oct 2019 17:00:00 +0000", **waiting)
    older_queued = call("2", "Fri, 18 Oct 2019 14:59:59 +0000", **waiting)
    # Created for an earlier attempt, held in Twilio's queue, started after this one began.
    older_started = call("3", "Fri, 18 Oct 2019 14:00:00 +0000")
    started = call("4", "Fri, 18 Oct 2019 15:00:00 +0000")
    expect_queued(http, list_page(spec, [queued, older_queued]))
    expect_started(http, list_page(spec, [older_started, started]), since="2019-10-18T15:00:00Z")

    calls = provider.list_calls(CUSTOMER, datetime(2019, 10, 18, 15, 0, tzinfo=UTC))

    assert [call.sid for call in calls] == ["CA" + "4" * 32, "CA" + "1" * 32]


def test_list_calls_refuses_a_naive_datetime(provider: TwilioProvider) -> None:
    with pytest.raises(ValueError, match="naive"):
        provider.list_calls(CUSTOMER, datetime(2019, 10, 18, 15, 0))  # noqa: DTZ001


def test_hangup_posts_status_completed(
    http: responses.RequestsMock, provider: TwilioProvider, spec: dict[str, Any]
) -> None:
    http.post(BASE + CALL_PATH, json=example(spec, "UpdateCall", "update"))

    call = provider.hangup(CALL_SID)

    assert sent_form(http.calls[0]) == {"Status": ["completed"]}
    assert_conforms(spec, "UpdateCall", sent_form(http.calls[0]))
    assert call.status == "completed"


def test_redirect_posts_url_and_method(
    http: responses.RequestsMock, provider: TwilioProvider, spec: dict[str, Any]
) -> None:
    http.post(BASE + CALL_PATH, json=example(spec, "UpdateCall", "update"))

    provider.redirect(CALL_SID, f"{PUBLIC}/twilio/hold/42")

    sent = sent_form(http.calls[0])
    assert sent == {"Url": [f"{PUBLIC}/twilio/hold/42"], "Method": ["POST"]}
    assert_conforms(spec, "UpdateCall", sent)


# --- where requests go -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "base",
    ["http://127.0.0.1:9999", "http://127.0.0.1:9999/", "http://sandbox.local:8080/twilio"],
    ids=["host", "trailing-slash", "path-prefix"],
)
def test_custom_base_url_serves_every_operation(
    http: responses.RequestsMock, spec: dict[str, Any], call_body: dict[str, Any], base: str
) -> None:
    root = base.rstrip("/")
    first = example(spec, "ListCall", "readFullPage1")
    http.post(root + CALLS_PATH, json=example(spec, "CreateCall", "create"), status=201)
    http.get(root + CALL_PATH, json=call_body)
    expect_queued(http, list_page(spec, []), root=root)
    expect_started(http, first, since="2019-10-18T00:00:00Z", root=root)
    http.get(root + first["next_page_uri"], json=list_page(spec, []))
    http.post(root + CALL_PATH, json=example(spec, "UpdateCall", "update"))
    provider = TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, base)

    provider.place_call(plain_request())
    provider.fetch_call(CALL_SID)
    provider.list_calls(CUSTOMER, datetime(2019, 10, 18, tzinfo=UTC))
    provider.hangup(CALL_SID)
    provider.redirect(CALL_SID, f"{PUBLIC}/twilio/hold/42")

    assert len(http.calls) == 7
    assert all(str(call.request.url).startswith(root + "/2010-04-01/") for call in http.calls)


def test_edge_and_region_in_the_environment_do_not_move_requests(
    http: responses.RequestsMock,
    call_body: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_EDGE", "tokyo")
    monkeypatch.setenv("TWILIO_REGION", "jp1")
    http.get("http://127.0.0.1:9999" + CALL_PATH, json=call_body)

    TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, "http://127.0.0.1:9999").fetch_call(CALL_SID)

    assert str(http.calls[0].request.url).startswith("http://127.0.0.1:9999/")


def test_from_settings_uses_the_configured_base_url(
    http: responses.RequestsMock, call_body: dict[str, Any]
) -> None:
    settings = Settings.from_env(
        {
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_API_BASE_URL": "http://127.0.0.1:9999",
        }
    )
    http.get("http://127.0.0.1:9999" + CALL_PATH, json=call_body)

    TwilioProvider.from_settings(settings).fetch_call(CALL_SID)

    assert len(http.calls) == 1


def test_from_settings_defaults_to_twilio() -> None:
    settings = Settings(twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN)

    assert TwilioProvider.from_settings(settings).base_url == "https://api.twilio.com"


@pytest.mark.parametrize(
    "settings",
    [Settings(twilio_account_sid=ACCOUNT_SID), Settings(twilio_auth_token=AUTH_TOKEN)],
    ids=["no-token", "no-sid"],
)
def test_from_settings_refuses_missing_credentials(settings: Settings) -> None:
    with pytest.raises(TwilioConfigError, match="TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"):
        TwilioProvider.from_settings(settings)


@pytest.mark.parametrize("base", ["api.twilio.com", "ftp://api.twilio.com", "https://x/?a=1"])
def test_a_base_url_that_is_not_one_is_refused(base: str) -> None:
    with pytest.raises(TwilioConfigError, match="TWILIO_API_BASE_URL"):
        TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, base)


def test_a_base_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(TwilioConfigError) as raised:
        TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, f"https://{ACCOUNT_SID}:{AUTH_TOKEN}@sandbox.local")

    assert AUTH_TOKEN not in str(raised.value)


@pytest.mark.parametrize("timeout", [None, 2.5], ids=["default", "given"])
def test_every_request_has_a_timeout(
    http: responses.RequestsMock, call_body: dict[str, Any], timeout: float | None
) -> None:
    http.get(BASE + CALL_PATH, json=call_body)
    if timeout is None:
        provider = TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, BASE)
    else:
        provider = TwilioProvider(ACCOUNT_SID, AUTH_TOKEN, BASE, timeout_seconds=timeout)

    provider.fetch_call(CALL_SID)

    sent_with = http.calls[0].request.req_kwargs  # type: ignore[attr-defined]
    assert sent_with["timeout"] == (timeout or 10)


# --- failures --------------------------------------------------------------------------------


def place(provider: TwilioProvider) -> object:
    return provider.place_call(plain_request())


def fetch(provider: TwilioProvider) -> object:
    return provider.fetch_call(CALL_SID)


def list_(provider: TwilioProvider) -> object:
    return provider.list_calls(CUSTOMER, datetime(2019, 10, 18, tzinfo=UTC))


def hangup(provider: TwilioProvider) -> object:
    return provider.hangup(CALL_SID)


OPERATIONS = {"create": place, "fetch": fetch, "list": list_, "hangup": hangup}
METHODS = {
    "create": ("POST", CALLS_PATH),
    "fetch": ("GET", CALL_PATH),
    "list": ("GET", CALLS_PATH),
    "hangup": ("POST", CALL_PATH),
}


def answer_with(http: responses.RequestsMock, operation: str, **answer: Any) -> None:
    method, path = METHODS[operation]
    http.add(method, BASE + path, **answer)


@pytest.mark.parametrize("operation", OPERATIONS)
def test_rate_limit_is_retryable_and_carries_retry_after(
    http: responses.RequestsMock, provider: TwilioProvider, operation: str
) -> None:
    body = twilio_error(429, 20429, "Too Many Requests")
    answer_with(http, operation, status=429, json=body, headers={"Retry-After": "2"})

    with pytest.raises(RateLimitError) as raised:
        OPERATIONS[operation](provider)

    assert raised.value.retry_after == 2.0


def test_rate_limit_without_retry_after_leaves_it_open(
    http: responses.RequestsMock, provider: TwilioProvider
) -> None:
    answer_with(http, "create", status=429, json=twilio_error(429, 20429, "Too Many Requests"))

    with pytest.raises(RateLimitError) as raised:
        place(provider)

    assert raised.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_during_create_is_ambiguous(
    http: responses.RequestsMock, provider: TwilioProvider, status: int
) -> None:
    answer_with(
        http, "create", status=status, json=twilio_error(status, 20500, "Internal Server Error")
    )

    with pytest.raises(AmbiguousOutcomeError) as raised:
        place(provider)

    assert raised.value.status == status


@pytest.mark.parametrize("operation", ["fetch", "list", "hangup"])
@pytest.mark.parametrize("status", [500, 503])
def test_server_error_elsewhere_is_retryable(
    http: responses.RequestsMock, provider: TwilioProvider, operation: str, status: int
) -> None:
    answer_with(http, operation, status=status, body="<html>Service Unavailable</html>")

    with pytest.raises(ProviderUnavailableError) as raised:
        OPERATIONS[operation](provider)

    assert raised.value.status == status


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectionError("connection reset by peer"),
    ],
    ids=["connect-timeout", "read-timeout", "connection-reset"],
)
def test_transport_failure_during_create_is_ambiguous(
    http: responses.RequestsMock, provider: TwilioProvider, failure: Exception
) -> None:
    answer_with(http, "create", body=failure)

    with pytest.raises(AmbiguousOutcomeError, match=type(failure).__name__):
        place(provider)


@pytest.mark.parametrize("operation", ["fetch", "list", "hangup"])
@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ConnectionError("reset"),
    ],
    ids=["read-timeout", "connection-reset"],
)
def test_transport_failure_elsewhere_is_retryable(
    http: responses.RequestsMock, provider: TwilioProvider, operation: str, failure: Exception
) -> None:
    answer_with(http, operation, body=failure)

    with pytest.raises(ProviderUnavailableError):
        OPERATIONS[operation](provider)


def test_unreadable_create_answer_is_ambiguous(
    http: responses.RequestsMock, provider: TwilioProvider
) -> None:
    answer_with(http, "create", status=201, body="<html>proxy says hello</html>")

    with pytest.raises(AmbiguousOutcomeError):
        place(provider)


def test_failure_on_a_later_list_page_is_retryable(
    http: responses.RequestsMock, provider: TwilioProvider, spec: dict[str, Any]
) -> None:
    first = example(spec, "ListCall", "readFullPage1")
    expect_queued(http, list_page(spec, []))
    expect_started(http, first, since="2019-10-18T00:00:00Z")
    error = twilio_error(503, 20503, "Service Unavailable")
    http.get(BASE + first["next_page_uri"], status=503, json=error)

    with pytest.raises(ProviderUnavailableError) as raised:
        list_(provider)

    assert raised.value.status == 503


@pytest.mark.parametrize("operation", OPERATIONS)
def test_wrong_credentials_fail_authentication(
    http: responses.RequestsMock, provider: TwilioProvider, operation: str
) -> None:
    answer_with(http, operation, status=401, json=twilio_error(401, 20003, "Authenticate"))

    with pytest.raises(AuthenticationError):
        OPERATIONS[operation](provider)


@pytest.mark.parametrize("code", [21211, 21214, 21217, 21614])
def test_numbers_twilio_cannot_call_are_invalid(
    http: responses.RequestsMock, provider: TwilioProvider, code: int
) -> None:
    answer_with(http, "create", status=400, json=twilio_error(400, code, "cannot be called"))

    with pytest.raises(InvalidNumberError) as raised:
        place(provider)

    assert (raised.value.status, raised.value.code) == (400, code)


def test_invalid_number_message_keeps_only_the_last_digits(
    http: responses.RequestsMock, provider: TwilioProvider
) -> None:
    message = f"The 'To' number {CUSTOMER} is not a valid phone number."
    answer_with(http, "create", status=400, json=twilio_error(400, 21211, message))

    with pytest.raises(InvalidNumberError) as raised:
        place(provider)

    assert str(raised.value).endswith("The 'To' number ****5678 is not a valid phone number.")


@pytest.mark.parametrize(
    ("operation", "status", "code"),
    [("create", 400, 21205), ("create", 403, 21215), ("fetch", 404, 20404), ("hangup", 400, 21220)],
    ids=["bad-url", "geo-permission", "unknown-call", "call-not-live"],
)
def test_other_client_errors_are_rejected_with_their_code(
    http: responses.RequestsMock, provider: TwilioProvider, operation: str, status: int, code: int
) -> None:
    answer_with(http, operation, status=status, json=twilio_error(status, code, "refused"))

    with pytest.raises(RejectedError) as raised:
        OPERATIONS[operation](provider)

    assert not isinstance(raised.value, InvalidNumberError)
    assert (raised.value.status, raised.value.code) == (status, code)
    assert str(raised.value) == f"Twilio answered HTTP {status}, error {code}: refused"


# --- secrets and numbers stay out of sight ---------------------------------------------------


def test_repr_shows_no_auth_token(provider: TwilioProvider) -> None:
    assert AUTH_TOKEN not in repr(provider)
    assert ACCOUNT_SID in repr(provider)


def test_call_request_and_info_reprs_hide_the_callee(
    http: responses.RequestsMock, provider: TwilioProvider, call_body: dict[str, Any]
) -> None:
    http.get(BASE + CALL_PATH, json=call_body)

    assert CUSTOMER not in repr(amd_request())
    assert call_body["to"] not in repr(provider.fetch_call(CALL_SID))


@pytest.mark.parametrize(
    "answer",
    [
        {"status": 401, "json": twilio_error(401, 20003, "Authenticate")},
        {"status": 400, "json": twilio_error(400, 21211, f"Invalid 'To' number {CUSTOMER}")},
        {"status": 500, "body": "oops"},
        {"body": requests.exceptions.ReadTimeout(f"{BASE}{CALLS_PATH} read timed out")},
    ],
    ids=["401", "400", "500", "timeout"],
)
def test_errors_and_logs_show_neither_token_nor_number(
    http: responses.RequestsMock,
    provider: TwilioProvider,
    caplog: pytest.LogCaptureFixture,
    answer: dict[str, Any],
) -> None:
    caplog.set_level(logging.DEBUG)
    answer_with(http, "create", **answer)

    with pytest.raises(TelephonyError) as raised:
        place(provider)

    shown = [str(raised.value), repr(raised.value), caplog.text]
    assert not any(AUTH_TOKEN in text or CUSTOMER in text for text in shown)


def test_reconciliation_logs_do_not_show_the_number(
    http: responses.RequestsMock,
    provider: TwilioProvider,
    spec: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    expect_queued(http, list_page(spec, []))
    expect_started(http, list_page(spec, []), since="2019-10-18T00:00:00Z")

    list_(provider)

    assert "Twilio request GET" in caplog.text
    assert CUSTOMER not in caplog.text and "%2B8190" not in caplog.text
