"""The overview (supervisors' home) and the pause/resume switches."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from dialer.campaign_control import pause, resume
from dialer.models import UserRole
from web import clock
from web.dashboard.blueprint import bp
from web.database import db_session
from web.i18n import gettext as _
from web.presenters import config_or_problems, overview_payload
from web.security import current_account, role_required

#: How often the page asks `/api/overview` for fresh figures (`DASHBOARD_POLL_SECONDS`).
POLL_SECONDS = 5
_MAX_REASON = 200


@bp.get("/")
def index() -> ResponseReturnValue:
    """Supervisors start on the overview, operators on their calls."""
    if current_account().is_supervisor:
        return redirect(url_for("dashboard.overview"))
    return redirect(url_for("dashboard.calls"))


@bp.get("/overview")
@role_required(UserRole.SUPERVISOR)
def overview() -> ResponseReturnValue:
    payload = overview_payload(clock.now())
    every = current_app.config.get("DASHBOARD_POLL_SECONDS", POLL_SECONDS)
    return render_template("overview.html", data=payload, poll_seconds=every)


@bp.post("/campaigns/<campaign_id>/pause")
@role_required(UserRole.SUPERVISOR)
def pause_campaign(campaign_id: str) -> ResponseReturnValue:
    return _switch(campaign_id, paused=True)


@bp.post("/campaigns/<campaign_id>/resume")
@role_required(UserRole.SUPERVISOR)
def resume_campaign(campaign_id: str) -> ResponseReturnValue:
    return _switch(campaign_id, paused=False)


def _switch(campaign_id: str, *, paused: bool) -> ResponseReturnValue:
    config, _problems = config_or_problems()
    if config is None or campaign_id not in {c.id for c in config.campaigns}:
        abort(404)
    reason = request.form.get("reason", "").strip()[:_MAX_REASON] or None
    change = pause if paused else resume
    session = db_session()
    with session.begin():
        change(
            session,
            campaign_id,
            by=current_account().username,
            now=clock.now(),
            reason=reason,
        )
    name = config.campaign(campaign_id).name
    message = _("Paused %(name)s.") if paused else _("Resumed %(name)s.")
    flash(message % {"name": name}, "info")
    return redirect(url_for("dashboard.overview"))
