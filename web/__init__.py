"""The Flask web app: Twilio webhooks, the supervisor dashboard and its JSON API.

Thin by design: handlers parse, check, call a `dialer` function and render.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from dialer.settings import Settings


def create_app(
    settings: Settings | None = None, test_config: Mapping[str, Any] | None = None
) -> Flask:
    """Build the app; nothing happens at import time."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["DIALER_SETTINGS"] = settings
    if settings.secret_key:
        app.config["SECRET_KEY"] = settings.secret_key
    if test_config:
        app.config.update(test_config)
    register_blueprints(app)
    return app


def register_blueprints(app: Flask) -> None:
    """Attach each area of the site."""
    from web.health import bp as health_bp

    app.register_blueprint(health_bp)
