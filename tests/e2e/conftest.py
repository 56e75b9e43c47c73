"""End-to-end fixtures: the real app behind a real HTTP server, and Debian's headless Chromium.

- `live_app`: the app on a fresh, migrated SQLite file seeded with `seed.seed`, served by
  Werkzeug on 127.0.0.1 (a free port) in a thread; accounts `kanri` (supervisor) and `sato`
  (operator). Webhooks are signed for `PUBLIC_BASE_URL`, which is the server's own address.
- `browser`: Chromium driven by Playwright. Without /usr/bin/chromium the tests are skipped
  with the reason, except under CI=true, where that is a failure (CI installs it). No browser
  is ever downloaded: Playwright launches the system's.
- `page`: a fresh Japanese-locale page at 1600×1000 in Tokyo time.
- `screenshot(page, name)`: a full-page PNG in artifacts/screenshots/ (gitignored).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from dialer.db import make_engine, make_session_factory, upgrade
from dialer.models import UserRole
from dialer.settings import Settings
from tests.e2e.seed import campaigns_yaml, seed
from tests.factories import TEST_PASSWORD, make_user
from web import create_app
from web.database import database

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
TOKYO = ZoneInfo("Asia/Tokyo")
AUTH_TOKEN = "e2e-auth-token-0123456789abcdef"
SECRET_KEY = "e2e-secret-key-0123456789abcdef"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@dataclass(frozen=True)
class LiveApp:
    """The served app: its base URL, a session factory on its database, its settings."""

    url: str
    sessions: Callable[[], Session]
    settings: Settings


@pytest.fixture
def live_app(tmp_path: Path) -> Iterator[LiveApp]:
    database_url = f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
    upgrade(database_url)
    campaigns = tmp_path / "campaigns.yaml"
    campaigns.write_text(campaigns_yaml(), encoding="utf-8")
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        make_user(session, "kanri", role=UserRole.SUPERVISOR)
        make_user(session, "sato", role=UserRole.OPERATOR)
        seed(session, datetime.now(TOKYO))

    holder: dict[str, Any] = {}

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    settings = Settings(
        database_url=database_url,
        campaigns_path=campaigns,
        twilio_auth_token=AUTH_TOKEN,
        public_base_url=url,
        secret_key=SECRET_KEY,
    )
    app = create_app(settings, {"DASHBOARD_POLL_SECONDS": 2})
    holder["app"] = app
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveApp(url, sessions, settings)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        database(app).engine.dispose()
        engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: install Debian's chromium package")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        viewport={"width": 1600, "height": 1000},
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
        device_scale_factor=1,
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    opened.on("dialog", lambda dialog: dialog.accept())
    yield opened
    context.close()


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(path), full_page=True, animations="disabled")
        return path

    return take


def log_in(page: Any, base_url: str, username: str, password: str = TEST_PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state("networkidle")
