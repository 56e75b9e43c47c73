"""The charts page; its data comes from `/api/charts`, drawn with the vendored Chart.js."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from dialer.models import UserRole
from web.dashboard.blueprint import bp
from web.security import role_required


@bp.get("/charts")
@role_required(UserRole.SUPERVISOR)
def charts() -> ResponseReturnValue:
    return render_template("charts.html")
