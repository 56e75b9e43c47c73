"""Operator calls: the calls the dialer places to operators to bridge them to waiting callers.

Revision ID: 0005_operator_calls
Revises: 0004_dispositions
Create Date: 2026-11-23

Written out by hand like 0001. The partial index's predicate is the same text on both engines
as `ix_attempts_live`'s (0002): the worker looks for the live operator calls at every run.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_operator_calls"
down_revision: str | None = "0004_dispositions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
CALL_STATUSES = (
    "queued",
    "initiated",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "no-answer",
    "failed",
    "canceled",
)
LIVE_CALL = (
    "ended_at IS NULL AND (status IS NULL OR status IN "
    "('queued', 'initiated', 'ringing', 'in-progress'))"
)


def upgrade() -> None:
    statuses = ", ".join(f"'{status}'" for status in CALL_STATUSES)
    op.create_table(
        "operator_calls",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("operator_id", sa.String(64), nullable=False),
        sa.Column("campaign_id", sa.String(64), nullable=False),
        sa.Column("call_sid", sa.String(64), nullable=True),
        sa.Column("status", sa.String(32), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempt_id", BIG_ID, nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"status IN ({statuses})", name=op.f("ck_operator_calls_call_status")),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["attempts.id"],
            name=op.f("fk_operator_calls_attempt_id_attempts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_calls")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_operator_calls_call_sid")),
    )
    op.create_index("ix_operator_calls_attempt_id", "operator_calls", ["attempt_id"])
    op.create_index(
        "ix_operator_calls_live",
        "operator_calls",
        ["campaign_id", "started_at"],
        postgresql_where=sa.text(LIVE_CALL),
        sqlite_where=sa.text(LIVE_CALL),
    )


def downgrade() -> None:
    op.drop_index("ix_operator_calls_live", table_name="operator_calls")
    op.drop_index("ix_operator_calls_attempt_id", table_name="operator_calls")
    op.drop_table("operator_calls")
