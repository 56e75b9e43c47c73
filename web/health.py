"""Liveness endpoint for load balancers and process managers."""

from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Answer without touching the database, so a slow database does not kill the process."""
    return {"status": "ok"}
