"""Shared fixtures. Every database test runs on SQLite and on PostgreSQL.

Database fixtures, from the bottom up:

- `database_backend` ("sqlite" or "postgresql", session scope): the parameter. PostgreSQL comes
  from TEST_POSTGRES_URL; when it is unreachable its tests are skipped with the reason, except
  under CI=true where that is a failure. PostgreSQL tests carry the `postgres` marker.
- `empty_database_url`: a database nobody has migrated, for tests of the migrations themselves.
- `database_url`: a migrated database, emptied after each test. The schema is migrated once per
  backend per test session; isolation comes from deleting every row afterwards, since the code
  under test commits its own transactions and a rolled-back outer transaction would not hold.
- `engine` and `session`: built with `dialer.db`, as the application builds them.

Dispatcher fixtures: `fake_twilio` (Twilio's Calls API behind `responses`, for the real provider),
`dialer_settings`, `provider`, `sessions` and `slot_waits` (records the slots calls wait for).

Web fixtures: `app` (the app factory on `database_url`, a campaigns file from
`factories.config_yaml`, an auth token and a public base URL), `client`, and `twilio`, which
posts webhooks signed as Twilio signs them.

Dashboard fixtures: `dashboard` (the same app with a secret key, CSRF off), `accounts` (a
supervisor and an operator) and `logged_in(role)`, a client logged in with that role.

On PostgreSQL each test session works in a schema of its own (the URL sets `search_path`), so
parallel runs never collide and a crashed run leaves nothing in the way of the next; the schema is
dropped at the end.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from dialer.campaigns import Config
from dialer.db import make_engine, make_session_factory, normalize_url, upgrade
from dialer.dispatch import DispatchOptions, TickResult, dispatch_tick
from dialer.models import Base, User, UserRole
from dialer.settings import Settings
from dialer.telephony.twilio import TwilioProvider
from tests.factories import config_yaml, make_user
from web import create_app
from web.database import database

DEFAULT_TEST_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SQLITE = "sqlite"
POSTGRESQL = "postgresql"


def _postgres_server_url() -> URL:
    return normalize_url(os.environ.get("TEST_POSTGRES_URL") or DEFAULT_TEST_POSTGRES_URL)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _require_postgres(url: URL) -> None:
    """Skip (or, under CI, fail) when the PostgreSQL server cannot be reached."""
    engine = make_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        where = url.render_as_string(hide_password=True)
        cause = " ".join(str(error.orig).split())
        reason = f"PostgreSQL at {where} is unreachable ({cause}); set TEST_POSTGRES_URL"
        if _in_ci():
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    finally:
        engine.dispose()


@pytest.fixture(
    scope="session",
    params=[SQLITE, pytest.param(POSTGRESQL, marks=pytest.mark.postgres)],
)
def database_backend(request: pytest.FixtureRequest) -> str:
    """Which engine this test runs on."""
    backend: str = request.param
    if backend == POSTGRESQL:
        _require_postgres(_postgres_server_url())
    return backend


@contextmanager
def _fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """A URL to an empty database of `backend`, removed afterwards."""
    if backend == SQLITE:
        yield f"sqlite:///{directory / 'dialer.sqlite3'}"
        return
    with _postgres_schema(_postgres_server_url()) as url:
        yield url


@contextmanager
def _postgres_schema(server: URL) -> Iterator[str]:
    """A schema of its own on `server`, and a URL whose connections use only that schema."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(server)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        try:
            url = server.update_query_dict({"options": f"-csearch_path={schema}"})
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


@pytest.fixture
def empty_database_url(database_backend: str, tmp_path: Path) -> Iterator[str]:
    """A database that has never been migrated."""
    with _fresh_database(database_backend, tmp_path) as url:
        yield url


@pytest.fixture(scope="session")
def _migrated_database(
    database_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Engine]]:
    """Migrated once per backend per session, with the engine used to empty it between tests."""
    directory = tmp_path_factory.mktemp(database_backend)
    with _fresh_database(database_backend, directory) as url:
        upgrade(url)
        cleaner = make_engine(url)
        try:
            yield url, cleaner
        finally:
            cleaner.dispose()


@pytest.fixture
def database_url(_migrated_database: tuple[str, Engine]) -> Iterator[str]:
    """A migrated database at head, with no rows; whatever the test writes is deleted after it."""
    url, cleaner = _migrated_database
    yield url
    _delete_all_rows(cleaner)


def _delete_all_rows(engine: Engine) -> None:
    """Empty every application table (not alembic_version), children before parents."""
    tables = Base.metadata.sorted_tables
    with engine.begin() as connection:
        if engine.dialect.name == POSTGRESQL:
            # A test that left a transaction open would otherwise make this wait forever.
            connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
            return
        for table in reversed(tables):
            connection.execute(table.delete())


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The application's engine on the test database."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session as the application opens them; closed (and rolled back if open) afterwards."""
    with make_session_factory(engine)() as session:
        yield session


# --- the web app ----------------------------------------------------------------------------

#: What the web tests configure; the token is a test value, not a credential.
TWILIO_TEST_AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_BASE_URL = "https://dialer.example.jp"


@pytest.fixture
def campaigns_path(tmp_path: Path) -> Path:
    """A valid campaigns.yaml (`factories.config_yaml`) for the app to read."""
    path = tmp_path / "campaigns.yaml"
    path.write_text(config_yaml(), encoding="utf-8")
    return path


@pytest.fixture
def app_settings(database_url: str, campaigns_path: Path) -> Settings:
    """Settings of the test app: the test database, a public base URL and an auth token."""
    return Settings(
        database_url=database_url,
        campaigns_path=campaigns_path,
        twilio_auth_token=TWILIO_TEST_AUTH_TOKEN,
        public_base_url=PUBLIC_BASE_URL,
    )


@pytest.fixture
def app(app_settings: Settings) -> Iterator[Flask]:
    """The web app on the test database; its connections are closed afterwards."""
    app = create_app(app_settings, {"TESTING": True})
    yield app
    database(app).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


class TwilioWebhooks:
    """Posts form fields to the app as Twilio does, signed over the public URL."""

    def __init__(self, client: FlaskClient, auth_token: str, base_url: str) -> None:
        self.client = client
        self.validator = RequestValidator(auth_token)
        self.base_url = base_url

    def signature(
        self, path: str, params: Mapping[str, str], *, base_url: str | None = None
    ) -> str:
        """Twilio's signature for a request to `path` (query string included) with `params`."""
        signature: str = self.validator.compute_signature(
            (base_url or self.base_url) + path, params
        )
        return signature

    def post(
        self,
        path: str,
        params: Mapping[str, str],
        *,
        signature: str | None = None,
        signed: bool = True,
    ) -> TestResponse:
        """POST `params` to `path`, signed unless `signed` is False or `signature` replaces it."""
        headers = {}
        if signed or signature is not None:
            headers["X-Twilio-Signature"] = (
                signature if signature is not None else self.signature(path, params)
            )
        return self.client.post(path, data=dict(params), headers=headers)


@pytest.fixture
def twilio(client: FlaskClient) -> TwilioWebhooks:
    """Signed webhook requests to the test app, as Twilio would send them."""
    return TwilioWebhooks(client, TWILIO_TEST_AUTH_TOKEN, PUBLIC_BASE_URL)


# --- Twilio's REST API, for the dispatcher --------------------------------------------------

TWILIO_ACCOUNT_SID = "AC" + "d" * 32
TWILIO_API_BASE_URL = "https://twilio.test"
_CALLS_URL = f"{TWILIO_API_BASE_URL}/2010-04-01/Accounts/{TWILIO_ACCOUNT_SID}/Calls"


@dataclass
class TwilioCall:
    """A call the fake Twilio created."""

    sid: str
    to: str
    from_: str
    status: str
    date_created: datetime
    start_time: datetime | None = None
    answered_by: str | None = None
    duration: int | None = None

    def body(self) -> dict[str, Any]:
        """The call as Twilio's JSON describes it (RFC 2822 dates, counts as strings)."""
        return {
            "account_sid": TWILIO_ACCOUNT_SID,
            "api_version": "2010-04-01",
            "sid": self.sid,
            "to": self.to,
            "from": self.from_,
            "status": self.status,
            "direction": "outbound-api",
            "date_created": _rfc2822(self.date_created),
            "start_time": _rfc2822(self.start_time) if self.start_time else None,
            "end_time": None,
            "duration": None if self.duration is None else str(self.duration),
            "answered_by": self.answered_by,
            "queue_time": "0",
        }


def _rfc2822(at: datetime) -> str:
    return format_datetime(at.astimezone(UTC))


Fault = Callable[[TwilioCall | None], Any]


class FakeTwilio:
    """Twilio's Calls resource behind `responses`, for the real `TwilioProvider`.

    Creates are recorded with their form fields (`creates`, failed ones included) and answered
    like Twilio (201, a queued call); `calls` are the calls that exist, which listing (`To`
    with `Status=queued` or `StartTime>`) and fetching serve. `fail_next` queues what the next
    creates do instead: an error answer, or an exception after the call was (or was not)
    created. `on_create` runs inside the request, before the answer, with the form fields.
    Thread-safe: workers in threads share one instance. `now` is Twilio's clock.
    """

    def __init__(self, mock: responses.RequestsMock, *, now: datetime) -> None:
        self.now = now
        self.creates: list[dict[str, list[str]]] = []
        self.calls: list[TwilioCall] = []
        self.requests: list[tuple[str, str]] = []
        #: Every update (hang-up, redirect): the CallSid and the form sent.
        self.updates: list[tuple[str, dict[str, list[str]]]] = []
        self.on_create: Callable[[dict[str, list[str]]], None] | None = None
        self._faults: list[tuple[bool, Fault]] = []
        self._failing_lists = 0
        self._lock = threading.Lock()
        self._sids = itertools.count(1)
        mock.add_callback(responses.POST, f"{_CALLS_URL}.json", callback=self._create)
        mock.add_callback(responses.GET, f"{_CALLS_URL}.json", callback=self._list)
        mock.add_callback(
            responses.GET, re.compile(rf"{re.escape(_CALLS_URL)}/(CA\w+)\.json"), self._fetch
        )
        mock.add_callback(
            responses.POST, re.compile(rf"{re.escape(_CALLS_URL)}/(CA\w+)\.json"), self._update
        )

    def fail_next(
        self,
        *,
        status: int,
        code: int | None = None,
        created: bool = False,
        retry_after: str | None = None,
    ) -> None:
        """The next create is answered with this HTTP error (and Twilio's error body), after
        creating the call or not."""
        body = {"code": code, "message": f"error {code}", "status": status}
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        self._faults.append((created, lambda _call: (status, headers, json.dumps(body))))

    def fail_lists(self, count: int) -> None:
        """The next `count` list requests are answered 503."""
        self._failing_lists += count

    def drop_next(self, *, created: bool, error: Exception | None = None) -> None:
        """The next create raises `error` (a read timeout) after creating the call or not."""
        raised = error or requests.exceptions.ReadTimeout("read timed out")

        def fault(_call: TwilioCall | None) -> Any:
            raise raised

        self._faults.append((created, fault))

    def finish(self, sid: str, status: str, *, answered_by: str | None = None) -> None:
        """Move a call on, as the callee would."""
        call = next(call for call in self.calls if call.sid == sid)
        call.status, call.answered_by = status, answered_by

    def dialled(self) -> list[str]:
        """The To number of every create request, in order."""
        return [form["To"][0] for form in self.creates]

    def _create(self, request: Any) -> tuple[int, dict[str, str], str]:
        form = parse_qs(request.body, keep_blank_values=True)
        if self.on_create is not None:
            self.on_create(form)
        with self._lock:
            self.creates.append(form)
            created, fault = self._faults.pop(0) if self._faults else (True, None)
            call = None
            if created:
                call = TwilioCall(
                    sid=f"CA{next(self._sids):032x}",
                    to=form["To"][0],
                    from_=form["From"][0],
                    status="queued",
                    date_created=self.now,
                )
                self.calls.append(call)
        if fault is not None:
            result: tuple[int, dict[str, str], str] = fault(call)
            return result
        assert call is not None
        return 201, {}, json.dumps(call.body())

    def _list(self, request: Any) -> tuple[int, dict[str, str], str]:
        query = parse_qs(urlsplit(request.url).query)
        self.requests.append(("list", request.url))
        if self._failing_lists:
            self._failing_lists -= 1
            return 503, {}, json.dumps({"code": 20503, "message": "unavailable", "status": 503})
        to = query["To"][0]
        with self._lock:
            calls = [call for call in self.calls if call.to == to]
        if "Status" in query:
            calls = [call for call in calls if call.status == query["Status"][0]]
        if "StartTime>" in query:
            since = datetime.fromisoformat(query["StartTime>"][0].replace("Z", "+00:00"))
            calls = [c for c in calls if c.start_time is not None and c.start_time >= since]
        page = {
            "calls": [call.body() for call in calls],
            "page": 0,
            "page_size": 50,
            "start": 0,
            "end": max(len(calls) - 1, 0),
            "uri": request.path_url,
            "first_page_uri": request.path_url,
            "next_page_uri": None,
            "previous_page_uri": None,
        }
        return 200, {}, json.dumps(page)

    def _fetch(self, request: Any) -> tuple[int, dict[str, str], str]:
        sid = urlsplit(request.url).path.rsplit("/", 1)[-1].removesuffix(".json")
        self.requests.append(("fetch", sid))
        with self._lock:
            call = next((call for call in self.calls if call.sid == sid), None)
        if call is None:
            return 404, {}, json.dumps({"code": 20404, "message": "not found", "status": 404})
        return 200, {}, json.dumps(call.body())

    def _update(self, request: Any) -> tuple[int, dict[str, str], str]:
        sid = urlsplit(request.url).path.rsplit("/", 1)[-1].removesuffix(".json")
        form = parse_qs(request.body, keep_blank_values=True)
        with self._lock:
            self.updates.append((sid, form))
            call = next((call for call in self.calls if call.sid == sid), None)
            if call is not None and form.get("Status") == ["completed"]:
                call.status = "completed"
        if call is None:
            return 404, {}, json.dumps({"code": 20404, "message": "not found", "status": 404})
        return 200, {}, json.dumps(call.body())


#: Monday 2026-11-02, 10:00 in Tokyo: a working day inside every test window.
DISPATCH_NOW = datetime(2026, 11, 2, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    """Twilio's Calls API at `TWILIO_API_BASE_URL`, mocked at the HTTP layer."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeTwilio(mock, now=DISPATCH_NOW)


@pytest.fixture
def dialer_settings(database_url: str) -> Settings:
    """The worker's settings: the test database and Twilio at the fake base URL."""
    return Settings(
        database_url=database_url,
        twilio_account_sid=TWILIO_ACCOUNT_SID,
        twilio_auth_token=TWILIO_TEST_AUTH_TOKEN,
        twilio_api_base_url=TWILIO_API_BASE_URL,
        public_base_url=PUBLIC_BASE_URL,
    )


@pytest.fixture
def provider(dialer_settings: Settings) -> TwilioProvider:
    """The real Twilio provider, pointed at the fake."""
    return TwilioProvider.from_settings(dialer_settings, timeout_seconds=5)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    """The session factory the dispatcher and reconciliation are given."""
    return make_session_factory(engine)


class SlotWaits:
    """Stands in for waiting until each call's slot: records the slots, never sleeps, and is
    never late unless `lateness` says so (one value per wait, then on time)."""

    def __init__(self) -> None:
        self.slots: list[datetime] = []
        self.lateness: list[timedelta] = []

    def __call__(self, slot: datetime, now: datetime) -> timedelta:
        assert slot >= now
        self.slots.append(slot)
        return self.lateness.pop(0) if self.lateness else timedelta(0)


@pytest.fixture
def slot_waits() -> SlotWaits:
    return SlotWaits()


class Tick(Protocol):
    def __call__(self, config: Config, now: datetime = ..., **options: Any) -> TickResult: ...


@pytest.fixture
def tick(
    sessions: sessionmaker[Session],
    provider: TwilioProvider,
    dialer_settings: Settings,
    slot_waits: SlotWaits,
) -> Tick:
    """One dispatch tick against the fake Twilio, at `DISPATCH_NOW` unless told otherwise;
    `options` override `DispatchOptions` (the slots are recorded, not waited for)."""

    def run(config: Config, now: datetime = DISPATCH_NOW, **options: Any) -> TickResult:
        chosen = DispatchOptions(wait_until=slot_waits, rng=random.Random(7), **options)
        return dispatch_tick(sessions, config, provider, dialer_settings, now=now, options=chosen)

    return run


# --- the dashboard ----------------------------------------------------------------------------

#: Signs the test app's session cookies and CSRF tokens; a test value, not a credential.
DASHBOARD_SECRET_KEY = "dashboard-test-secret-key-0123456789"


@dataclass(frozen=True)
class Accounts:
    """The dashboard's test accounts, committed: a supervisor and an operator (`sato`, the
    operator id of `factories.config_yaml`)."""

    supervisor: User
    operator: User


@pytest.fixture
def dashboard_settings(app_settings: Settings) -> Settings:
    """The web app's settings with a secret key, which the dashboard needs."""
    return replace(app_settings, secret_key=DASHBOARD_SECRET_KEY)


@pytest.fixture
def dashboard(dashboard_settings: Settings) -> Iterator[Flask]:
    """The web app with its dashboard; CSRF is off here (tests of CSRF turn it on)."""
    app = create_app(dashboard_settings, {"TESTING": True, "WTF_CSRF_ENABLED": False})
    yield app
    database(app).engine.dispose()


@pytest.fixture
def accounts(session: Session) -> Accounts:
    """A supervisor and an operator, committed."""
    supervisor = make_user(session, "kanri", role=UserRole.SUPERVISOR)
    operator = make_user(session, "sato", role=UserRole.OPERATOR)
    session.commit()
    return Accounts(supervisor, operator)


LoggedIn = Callable[[str | None], FlaskClient]


@pytest.fixture
def logged_in(dashboard: Flask, accounts: Accounts) -> LoggedIn:
    """`logged_in("supervisor")`: a client of the dashboard logged in with that role (None:
    not logged in), as the login form leaves it."""

    def client_for(role: str | None) -> FlaskClient:
        client = dashboard.test_client()
        if role is not None:
            user = accounts.supervisor if role == "supervisor" else accounts.operator
            with client.session_transaction() as browser:
                browser["_user_id"] = str(user.id)
                browser["_fresh"] = True
        return client

    return client_for
