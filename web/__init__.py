"""The Flask web app: Twilio webhooks, the supervisor dashboard and its JSON API.

Thin by design: handlers parse, check, call a `dialer` function and render.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from dialer.clock import Clock
from dialer.settings import Settings


def create_app(
    settings: Settings | None = None,
    test_config: Mapping[str, Any] | None = None,
    *,
    clock: Clock | None = None,
) -> Flask:
    """Build the app; nothing happens at import time. `clock` is the system clock unless a
    demo or a test gives its own (`web.clock`)."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["DIALER_SETTINGS"] = settings
    if settings.secret_key:
        app.config["SECRET_KEY"] = settings.secret_key
    if test_config:
        app.config.update(test_config)
    register_extensions(app, settings, clock)
    register_blueprints(app)
    register_security(app, settings)
    register_dashboard(app)
    register_errorhandlers(app)
    return app


def register_extensions(app: Flask, settings: Settings, clock: Clock | None) -> None:
    """Attach what the handlers use: the clock, the database, the campaigns file, Twilio's
    signature."""
    from web import campaign_config, database, telephony, twilio_auth
    from web import clock as app_clock

    app_clock.init_app(app, clock)
    telephony.init_app(app)
    database.init_app(app, settings)
    campaign_config.init_app(app, settings)
    twilio_auth.init_app(app, settings)


def register_blueprints(app: Flask) -> None:
    """Attach each area of the site."""
    from web.health import bp as health_bp
    from web.operator_hooks import bp as operator_hooks_bp
    from web.twilio_hooks import bp as twilio_hooks_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(twilio_hooks_bp)
    app.register_blueprint(operator_hooks_bp)


def register_security(app: Flask, settings: Settings) -> None:
    """Logins, roles, CSRF, cookies and the interface language (`web.security`, `web.i18n`)."""
    from web import i18n, security

    security.init_app(app, settings)
    i18n.init_app(app)


def register_dashboard(app: Flask) -> None:
    """The supervisor dashboard, its JSON API and the login pages; Twilio's webhooks are
    exempted from CSRF (they are signature-checked instead)."""
    from web.api import bp as api_bp
    from web.auth import bp as auth_bp
    from web.dashboard import bp as dashboard_bp
    from web.security import exempt_from_csrf

    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(api_bp)
    exempt_from_csrf(app)


def register_errorhandlers(app: Flask) -> None:
    """Error pages in the dashboard's look, JSON for the API."""
    from web import errors

    errors.init_app(app)
