"""Number marks: numbers the dialer marked invalid become `reported_invalid`.

Revision ID: 0006_number_marks
Revises: 0005_operator_calls
Create Date: 2026-11-23

Until now the dialer marked a number the carrier refused with the importer's own `invalid`,
which the next import of the customers file overwrote with its verdict on the number (valid),
so the number was dialled again. The dialer now marks `reported_invalid`, which an import of
the same number keeps (`dialer.number_marks`); this carries the marks already made over:
a phone whose number an attempt failed on with an invalid-number error code (the codes of
`dialer.telephony.twilio.INVALID_NUMBER_CODES`, as they were when written). A data migration
only: downgrading leaves the new marks, which the code before it still reads as refusals.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006_number_marks"
down_revision: str | None = "0005_operator_calls"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INVALID_NUMBER_CODES = (13223, 13224, 21211, 21214, 21217, 21401, 21614)


def upgrade() -> None:
    codes = ", ".join(str(code) for code in INVALID_NUMBER_CODES)
    op.execute(
        "UPDATE customer_phones SET refusal_reason = 'reported_invalid' "
        "WHERE refusal_reason = 'invalid' AND e164 IS NOT NULL AND EXISTS "
        f"(SELECT 1 FROM attempts a WHERE a.phone = customer_phones.e164 "
        f"AND a.error_code IN ({codes}))"
    )


def downgrade() -> None:
    """Nothing to undo: see the module's docstring."""
