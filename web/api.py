"""The dashboard's JSON API (supervisors; 401 without a login, 403 for operators).

`GET /api/overview`: one object per campaign, configured ones first by priority::

    {"generated_at": "2026-11-24T10:15:00+09:00",   # in the company's zone
     "config_ok": true, "config_problems": [],        # campaigns.yaml does not load: false, lines
                                                      # (an edit refused, the last good runs: true)
     "campaigns": [{
        "id": "f2-followup", "name": "2回目購入のご案内", "priority": 80,
        "timezone": "Asia/Tokyo",
        "state": "dialling" | "paused" | "closed",
        "closed_reason": null | "holiday" | "blackout" | "no_window" | "outside_hours"
                         | "last_dial_margin" | "no_time_left" | "not_started" | "finished"
                         | "disabled" | "config_error" | "not_configured",
        "closed_detail": null | "勤労感謝の日",        # a holiday's or blackout's name
        "next_open_at": null | "2026-11-25T10:00:00+09:00",
        "paused": false, "paused_by": null, "paused_at": null,
        "expected_queue_wait_seconds": 24.0,   # the next caller's wait on hold (dialer.hold_queue);
        "held_back_by_queue": false,           # null: no queue; true: dialling waits for it
        "list_size": 1200, "remaining": 830, "suppressed": 40, "done": 330,
        "in_progress": 3, "in_queue": 1,
        "calls_today": 210, "human_answered_today": 88, "conversions_today": 12,
        "entered_queue_today": 30, "abandoned_today": 4, "opt_outs_today": 2,
        "contact_rate": 0.419, "conversion_rate": 0.136, "abandon_rate": 0.133,  # null: 0/0
        "average_queue_wait_seconds": 41.5, "average_handle_seconds": 182.0,     # null: none
        "display": {...the same fields formatted in the user's language...}}],
     "totals": {...the figures summed over every campaign, with "display"...},
     "display": {"generated_at": "2026年11月24日(火) 10:15", "lang": "ja"}}

`GET /api/charts`: today's calls per hour and category, calls and contact rate per hour of the
day over the last 30 days, calls per campaign and category over 30 days (see
`web.presenters.charts_payload`). The definitions of every figure are in `dialer.kpis` and
`dialer.trends`.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue

from dialer.models import UserRole
from web import clock
from web.presenters import charts_payload, overview_payload
from web.security import role_required

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.after_request
def _no_store(response: Response) -> Response:
    """Figures change every second: never answer from a cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/overview")
@role_required(UserRole.SUPERVISOR)
def overview() -> ResponseReturnValue:
    return jsonify(overview_payload(clock.now()))


@bp.get("/charts")
@role_required(UserRole.SUPERVISOR)
def charts() -> ResponseReturnValue:
    return jsonify(charts_payload(clock.now()))
