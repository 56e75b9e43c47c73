"""The shop's data, as imported: customers, their phones, orders, subscriptions and mailings.

Segments are evaluated over these tables in SQL, so their indexes follow the segment fields:
orders by customer and date (counts, values, recency) and by SKU (`bought_sku`), subscriptions by
status, mailings by name and date (`days_since_mailing`).

Phones live in their own table rather than as `phone`/`phone_alt` columns: each number keeps what
the file said, its E.164 form and how it was judged at import (class, and the refusal reason when
it cannot be dialled), so "no dialable phone" can always be explained, DNC matching by number
covers every number a customer has, and a third number needs no migration.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dialer.models.base import Base, Timestamped
from dialer.models.types import UTCDateTime, enum_type

if TYPE_CHECKING:
    from dialer.models.calls import CallListEntry


class SubscriptionStatus(enum.StrEnum):
    """Where a 定期便 (repeat delivery) stands; `cancel_requested` is what cancel-save calls."""

    ACTIVE = "active"
    PAUSED = "paused"
    CANCEL_REQUESTED = "cancel_requested"
    CANCELLED = "cancelled"


class Customer(Timestamped, Base):
    """A shop customer, keyed by the shop's own id so that re-imports update in place."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: Katakana reading, used by the voice so that the name is pronounced right.
    name_kana: Mapped[str | None] = mapped_column(sa.String(200))
    birthday: Mapped[date | None]
    #: Consent to solicitation calls; None means the shop does not know.
    opt_in: Mapped[bool | None]

    phones: Mapped[list[CustomerPhone]] = relationship(
        back_populates="customer",
        order_by="CustomerPhone.preference",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    orders: Mapped[list[Order]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", passive_deletes=True
    )
    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", passive_deletes=True
    )
    mailings: Mapped[list[Mailing]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", passive_deletes=True
    )
    entries: Mapped[list[CallListEntry]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def dialable_phone(self) -> str | None:
        """The first number, in the customer's order of preference, that may be dialled."""
        return next((phone.e164 for phone in self.phones if phone.dialable), None)


class CustomerPhone(Base):
    """One of a customer's numbers, with the verdict of `dialer.phones` at import time."""

    __tablename__ = "customer_phones"
    __table_args__ = (
        sa.UniqueConstraint("customer_id", "preference"),
        sa.CheckConstraint("e164 IS NOT NULL OR refusal_reason IS NOT NULL", name="judged"),
        sa.CheckConstraint("preference >= 1", name="preference_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    #: 1 is tried first.
    preference: Mapped[int] = mapped_column(sa.SmallInteger)
    #: The number as the file wrote it, kept so that a refusal can be shown against its input.
    raw: Mapped[str] = mapped_column(sa.String(64))
    #: Normalised form; None when the input could not be parsed as a number at all.
    e164: Mapped[str | None] = mapped_column(sa.String(16), index=True)
    #: e.g. mobile, fixed, ip, toll_free, navi_dial, premium; vocabulary of `dialer.phones`.
    phone_class: Mapped[str | None] = mapped_column(sa.String(24))
    #: Why the number must not be dialled; None means dialable.
    refusal_reason: Mapped[str | None] = mapped_column(sa.String(200))

    customer: Mapped[Customer] = relationship(back_populates="phones")

    @property
    def dialable(self) -> bool:
        """Parsed and not refused."""
        return self.e164 is not None and self.refusal_reason is None


class Order(Base):
    """One order; amounts are whole yen."""

    __tablename__ = "orders"
    __table_args__ = (
        sa.Index("ix_orders_customer_id_ordered_at", "customer_id", "ordered_at"),
        sa.Index("ix_orders_sku_customer_id", "sku", "customer_id"),
        sa.CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    ordered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    amount: Mapped[int]
    sku: Mapped[str] = mapped_column(sa.String(64))
    #: Where the order came from (web, phone, tv, …); free text from the shop's export.
    channel: Mapped[str | None] = mapped_column(sa.String(32))

    customer: Mapped[Customer] = relationship(back_populates="orders")


class Subscription(Timestamped, Base):
    """A repeat-delivery contract (定期便)."""

    __tablename__ = "subscriptions"
    __table_args__ = (sa.CheckConstraint("cycle_days > 0", name="cycle_days_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    sku: Mapped[str] = mapped_column(sa.String(64))
    cycle_days: Mapped[int]
    status: Mapped[SubscriptionStatus] = mapped_column(
        enum_type(SubscriptionStatus, "subscription_status"), index=True
    )
    next_delivery: Mapped[date | None]

    customer: Mapped[Customer] = relationship(back_populates="subscriptions")


class Mailing(Base):
    """A direct mail or other touch sent to a customer, so a campaign can follow it up."""

    __tablename__ = "mailings"
    __table_args__ = (
        sa.UniqueConstraint("customer_id", "mailing"),
        sa.Index("ix_mailings_mailing_sent_at", "mailing", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customers.id", ondelete="CASCADE"))
    #: The mailing's name, as campaigns.yaml refers to it.
    mailing: Mapped[str] = mapped_column(sa.String(100))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship(back_populates="mailings")
