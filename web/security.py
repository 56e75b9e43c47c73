"""Who may see what: logins, roles, CSRF and the session cookie.

- Every request needs a login except the login page itself, the language switch, static files,
  the health check and Twilio's webhooks (which are signature-checked instead, and exempt from
  CSRF since Twilio cannot send a token). Pages redirect to the login page; the JSON API
  answers 401.
- Twilio's webhooks (`/twilio/*`) get no cookie session at all: Twilio sends no cookie, and
  opening and saving one is work on every callback for nothing.
- CSRF: Flask-WTF checks a token on every POST, PUT, PATCH and DELETE of the app.
- The session cookie is HttpOnly and SameSite=Lax, and Secure when `PUBLIC_BASE_URL` is https
  (the app is then reached over TLS, usually through a proxy that terminates it).
- `SECRET_KEY` signs the session cookie and the CSRF tokens. Without it the dashboard does not
  run: its pages answer 503 with the reason, and the error is logged once. The webhooks and the
  health check keep working, so a missing dashboard secret never stops calls. A key generated
  per process would log everyone out on each restart and break logins across web processes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Final, ParamSpec, TypeVar

from flask import Flask, Request, abort, current_app, jsonify, redirect, request, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from dialer.log import log_event
from dialer.models import UserRole
from dialer.settings import Settings
from dialer.users import load_user
from web.database import db_session

__all__ = [
    "Account",
    "csrf",
    "current_account",
    "init_app",
    "login_manager",
    "role_required",
]

logger = logging.getLogger(__name__)

csrf = CSRFProtect()
login_manager = LoginManager()

#: Endpoints anyone may reach; every other one needs a login.
PUBLIC_ENDPOINTS: Final = frozenset({"auth.login", "auth.language", "static", "health.healthz"})
#: Blueprints with their own authentication (Twilio's signature).
SELF_AUTHENTICATED: Final = frozenset({"twilio_hooks", "operator_hooks"})
SESSION_LIFETIME: Final = timedelta(hours=12)
#: Where Twilio's webhooks live: requests there get no cookie session.
WEBHOOK_PATH_PREFIX: Final = "/twilio/"

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class Account:
    """The logged-in user as Flask-Login needs it; a plain value, detached from the database."""

    id: int
    username: str
    role: UserRole

    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def is_supervisor(self) -> bool:
        return self.role is UserRole.SUPERVISOR


def init_app(app: Flask, settings: Settings) -> None:
    """Cookies, the secret-key guard, CSRF, Flask-Login and the login requirement."""
    secure = (settings.public_base_url or "").lower().startswith("https://")
    app.config.update(
        SESSION_COOKIE_NAME="dialer_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        WTF_CSRF_TIME_LIMIT=int(SESSION_LIFETIME.total_seconds()),
    )
    app.session_interface = _NoSessionForWebhooks()
    # Registered before CSRFProtect's own hook, so a missing key is reported as such.
    app.before_request(_MissingSecretKey())
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.user_loader(_load_account)
    login_manager.session_protection = "basic"
    app.before_request(_require_login)


def exempt_from_csrf(app: Flask) -> None:
    """Exempt the signature-checked blueprints (call once they are registered)."""
    for name in SELF_AUTHENTICATED:
        blueprint = app.blueprints.get(name)
        if blueprint is not None:
            csrf.exempt(blueprint)


def current_account() -> Account:
    """The logged-in account; only for views behind the login requirement."""
    account = current_user._get_current_object()
    if not isinstance(account, Account):
        abort(401)
    return account


def role_required(role: UserRole) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Allow the view to `role` only; everyone else logged in gets 403."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            if current_account().role is not role:
                abort(403)
            return view(*args, **kwargs)

        return guarded

    return decorate


def _load_account(user_id: str) -> Account | None:
    if not user_id.isdigit():
        return None
    session = db_session()
    try:
        user = load_user(session, int(user_id))
        return None if user is None else Account(user.id, user.username, UserRole(user.role))
    finally:
        session.rollback()


def _is_public() -> bool:
    """Open without a login; a URL that matched no route is left to its 404 or 405."""
    return (
        request.routing_exception is not None
        or request.endpoint in PUBLIC_ENDPOINTS
        or request.blueprint in SELF_AUTHENTICATED
    )


def _require_login() -> ResponseReturnValue | None:
    if _is_public() or current_user.is_authenticated:
        return None
    if request.blueprint == "api":
        response = jsonify(error="login required")
        response.status_code = 401
        return response
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


class _NoSessionForWebhooks(SecureCookieSessionInterface):
    """Flask's signed cookie session, but a null session for Twilio's webhooks (the session is
    opened before the URL is matched to a blueprint, hence the path)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(WEBHOOK_PATH_PREFIX):
            return self.make_null_session(app)
        return super().open_session(app, request)


class _MissingSecretKey:
    """`before_request` hook: 503 on the dashboard while no SECRET_KEY is configured."""

    def __init__(self) -> None:
        self._reported = threading.Event()

    def __call__(self) -> ResponseReturnValue | None:
        if current_app.secret_key or request.blueprint in SELF_AUTHENTICATED:
            return None
        if request.routing_exception is not None or request.endpoint in (
            "health.healthz",
            "static",
        ):
            return None
        if not self._reported.is_set():
            self._reported.set()
            log_event(logger, "dashboard_disabled", level=logging.ERROR, missing="SECRET_KEY")
        return "The dashboard needs SECRET_KEY to be set.", 503, {"Content-Type": "text/plain"}
