"""Pacing: the shared limiter's slot schedule, and an index on the attempts still in flight.

Revision ID: 0002_pacing
Revises: 0001
Create Date: 2026-11-24

Written out by hand like 0001. The partial index's predicate is the same text on both engines:
PostgreSQL and SQLite both use a partial index when the query repeats its condition.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_pacing"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_ATTEMPT = (
    "ended_at IS NULL AND (status IS NULL OR status IN "
    "('queued', 'initiated', 'ringing', 'in-progress'))"
)


def upgrade() -> None:
    op.create_table(
        "pacing_scopes",
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("next_slot_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("failures", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint("failures >= 0", name=op.f("ck_pacing_scopes_failures_not_negative")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_pacing_scopes")),
    )
    op.create_index(
        "ix_attempts_live",
        "attempts",
        ["campaign_id", "started_at"],
        postgresql_where=sa.text(LIVE_ATTEMPT),
        sqlite_where=sa.text(LIVE_ATTEMPT),
    )


def downgrade() -> None:
    op.drop_index("ix_attempts_live", table_name="attempts")
    op.drop_table("pacing_scopes")
