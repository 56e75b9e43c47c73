"""Error pages: the dashboard's own look for people, JSON for the API, nothing for Twilio."""

from __future__ import annotations

from flask import Flask, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from web.api import bp as api_bp
from web.i18n import gettext as _
from web.twilio_hooks import bp as twilio_hooks_bp

_HANDLED = (400, 401, 403, 404, 405)


def init_app(app: Flask) -> None:
    for code in _HANDLED:
        app.register_error_handler(code, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)


def _titles() -> dict[int, str]:
    return {
        400: _("Bad request"),
        401: _("Login required"),
        403: _("Not allowed"),
        404: _("Not found"),
        405: _("Not allowed"),
    }


def _http_error(error: HTTPException) -> ResponseReturnValue:
    """Twilio gets the bare status; the API JSON; people a page (plain text while the
    dashboard is disabled for want of a secret key, since its pages need one)."""
    code = error.code or 500
    if request.path.startswith(f"{twilio_hooks_bp.url_prefix}/"):
        return "", code
    title = _titles().get(code, str(code))
    if request.path.startswith(f"{api_bp.url_prefix}/"):
        return jsonify(error=title), code
    if not current_app.secret_key:
        return title, code, {"Content-Type": "text/plain; charset=utf-8"}
    return render_template("error.html", code=code, title=title, message=None), code


def _csrf_error(error: CSRFError) -> ResponseReturnValue:
    message = _("The form expired or did not come from this site. Reload the page and try again.")
    if request.path.startswith(f"{api_bp.url_prefix}/"):
        return jsonify(error=message), 400
    return render_template("error.html", code=400, title=_("Bad request"), message=message), 400
