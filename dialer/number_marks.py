"""What calling teaches about a number, kept on the customers' phone rows.

Two facts only a call can tell, each making a phone undialable (`CustomerPhone.refusal_reason`)
for every campaign:

- The provider refused the number as invalid (21211, 21614, …): `mark_reported_invalid` marks
  it on every customer who has it, since it is a fact about the number.
- An operator recorded `wrong_person`: someone else answered. `mark_wrong_number` marks it on
  that customer only, since a shared line (a family's landline) may be right for another.

The shop's files know nothing of either, and shops export their customers again and again: an
import that brings the same number for the customer keeps the mark, and one that brings another
number replaces the phone and with it the mark (`dialer.importer.statements`). A number already
refused for another reason keeps that reason.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.log import log_event
from dialer.models import CustomerPhone
from dialer.phones import Refusal

logger = logging.getLogger(__name__)


def mark_reported_invalid(session: Session, phone: str, error_code: int | None) -> None:
    """Every customer's `phone` (E.164) undialable: the provider said it is no number."""
    _mark(session, CustomerPhone.e164 == phone, Refusal.REPORTED_INVALID)
    log_event(logger, "number_marked_undialable", phone=phone, error_code=error_code)


def mark_wrong_number(session: Session, customer_id: int, phone: str) -> None:
    """The customer's `phone` (E.164) undialable for them: someone else answered it."""
    _mark(
        session,
        sa.and_(CustomerPhone.customer_id == customer_id, CustomerPhone.e164 == phone),
        Refusal.WRONG_NUMBER,
    )
    log_event(logger, "number_marked_wrong", customer=customer_id, phone=phone)


def _mark(session: Session, phones: sa.ColumnElement[bool], refusal: Refusal) -> None:
    session.execute(
        sa.update(CustomerPhone)
        .where(phones, CustomerPhone.refusal_reason.is_(None))
        .values(refusal_reason=refusal.value)
    )
