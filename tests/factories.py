"""Row factories: one function per model, valid by default, every column overridable.

Each factory adds its row to the session and flushes (so ids and server defaults exist) but does
not commit: the test decides when its data is committed. Missing parents are created. Times
default to fixed aware instants; nothing reads the clock. After the rows: a small campaigns
configuration (`make_config`) and the form fields of a Twilio callback (`callback_params`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialer.campaigns import Config, parse_config
from dialer.models import (
    Attempt,
    CallEvent,
    CallListEntry,
    CallStatus,
    Customer,
    CustomerPhone,
    DncEntry,
    DncSource,
    EntryState,
    KeyPress,
    Mailing,
    OperatorCall,
    Order,
    Subscription,
    SubscriptionStatus,
    User,
    UserRole,
)
from dialer.users import hash_password

JST = ZoneInfo("Asia/Tokyo")
#: A Monday morning in Tokyo, within every sample calling window.
DEFAULT_TIME = datetime(2026, 11, 2, 10, 0, tzinfo=JST)

_numbers = itertools.count(1)
Row = TypeVar("Row")


def _next_number() -> int:
    return next(_numbers)


def unique_phone() -> str:
    """A mobile number in E.164 that no other factory call returns."""
    return f"+8190{_next_number():08d}"


def _saved(session: Session, row: Row) -> Row:
    session.add(row)
    session.flush()
    return row


def make_customer(
    session: Session,
    *,
    external_id: str | None = None,
    name: str = "山田 太郎",
    name_kana: str | None = "ヤマダ タロウ",
    phones: Sequence[str] | None = None,
    birthday: date | None = date(1980, 5, 17),
    opt_in: bool | None = True,
) -> Customer:
    """A customer with dialable phones (one fresh number unless `phones` is given)."""
    customer = Customer(
        external_id=external_id or f"C{_next_number():06d}",
        name=name,
        name_kana=name_kana,
        birthday=birthday,
        opt_in=opt_in,
    )
    numbers = [unique_phone()] if phones is None else phones
    customer.phones = [
        CustomerPhone(preference=rank, raw=number, e164=number, phone_class="mobile")
        for rank, number in enumerate(numbers, start=1)
    ]
    return _saved(session, customer)


def make_refused_phone(
    session: Session,
    customer: Customer,
    *,
    raw: str = "0120-123-456",
    e164: str | None = "+81120123456",
    phone_class: str | None = "toll_free",
    refusal_reason: str = "free dial (0120) numbers are not dialled",
) -> CustomerPhone:
    """A number the import judged undialable, added after the customer's other numbers."""
    phone = CustomerPhone(
        customer=customer,
        preference=len(customer.phones) + 1,
        raw=raw,
        e164=e164,
        phone_class=phone_class,
        refusal_reason=refusal_reason,
    )
    return _saved(session, phone)


def make_order(
    session: Session,
    customer: Customer | None = None,
    *,
    external_id: str | None = None,
    ordered_at: datetime = DEFAULT_TIME,
    amount: int = 3980,
    sku: str = "AOJIRU-30",
    channel: str | None = "web",
) -> Order:
    """An order (whole yen)."""
    order = Order(
        customer=customer or make_customer(session),
        external_id=external_id or f"O{_next_number():06d}",
        ordered_at=ordered_at,
        amount=amount,
        sku=sku,
        channel=channel,
    )
    return _saved(session, order)


def make_subscription(
    session: Session,
    customer: Customer | None = None,
    *,
    external_id: str | None = None,
    sku: str = "AOJIRU-30",
    cycle_days: int = 30,
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
    next_delivery: date | None = date(2026, 11, 20),
) -> Subscription:
    """A repeat-delivery subscription."""
    subscription = Subscription(
        customer=customer or make_customer(session),
        external_id=external_id or f"S{_next_number():06d}",
        sku=sku,
        cycle_days=cycle_days,
        status=status,
        next_delivery=next_delivery,
    )
    return _saved(session, subscription)


def make_mailing(
    session: Session,
    customer: Customer | None = None,
    *,
    mailing: str = "2026-winter-dm",
    sent_at: datetime = DEFAULT_TIME,
) -> Mailing:
    """A mailing sent to a customer."""
    row = Mailing(customer=customer or make_customer(session), mailing=mailing, sent_at=sent_at)
    return _saved(session, row)


def make_dnc_entry(
    session: Session,
    *,
    phone: str | None = None,
    customer: Customer | None = None,
    reason: str = "refused on the phone",
    source: DncSource = DncSource.IMPORT,
    added_at: datetime | None = None,
    added_by: str | None = None,
    expires_at: datetime | None = None,
) -> DncEntry:
    """A do-not-call entry naming `phone`, `customer` or both; `added_at` defaults to the DB's."""
    entry = DncEntry(
        phone=phone,
        customer_id=customer.id if customer else None,
        reason=reason,
        source=source,
        added_by=added_by,
        expires_at=expires_at,
    )
    if added_at is not None:
        entry.added_at = added_at
    return _saved(session, entry)


_PARKED_REASON = {EntryState.SUPPRESSED: "cooldown"}
_CLOSED_REASON = {EntryState.RETIRED: "left_segment", EntryState.DONE: "reached"}


def make_entry(
    session: Session,
    customer: Customer | None = None,
    *,
    campaign_id: str = "f2-followup",
    state: EntryState = EntryState.PENDING,
    priority: int = 0,
    next_attempt_at: datetime | None = DEFAULT_TIME,
    phone: str | None = None,
    suppressed_reason: str | None = None,
    closed_reason: str | None = None,
) -> CallListEntry:
    """A call list entry dialling the customer's first dialable number; valid for any `state`."""
    customer = customer or make_customer(session)
    entry = CallListEntry(
        customer=customer,
        campaign_id=campaign_id,
        state=state,
        priority=priority,
        next_attempt_at=next_attempt_at,
        phone=phone or customer.dialable_phone,
        suppressed_reason=suppressed_reason or _PARKED_REASON.get(state),
        closed_reason=closed_reason or _CLOSED_REASON.get(state),
    )
    return _saved(session, entry)


def make_attempt(
    session: Session,
    entry: CallListEntry | None = None,
    *,
    started_at: datetime = DEFAULT_TIME,
    call_sid: str | None = None,
    status: CallStatus | None = CallStatus.QUEUED,
    outcome: str | None = None,
    ended_at: datetime | None = None,
) -> Attempt:
    """The entry's next attempt, counted on the entry as the dispatcher counts it."""
    entry = entry or make_entry(session)
    entry.attempt_count += 1
    entry.last_attempt_at = started_at
    attempt = Attempt(
        entry=entry,
        attempt_number=entry.attempt_count,
        campaign_id=entry.campaign_id,
        customer_id=entry.customer_id,
        phone=entry.phone or unique_phone(),
        started_at=started_at,
        call_sid=call_sid or f"CA{_next_number():032x}",
        status=status,
        outcome=outcome,
        ended_at=ended_at,
    )
    return _saved(session, attempt)


def make_call_event(
    session: Session,
    attempt: Attempt | None = None,
    *,
    kind: str = "status",
    payload: dict[str, Any] | None = None,
    sequence_number: int | None = 0,
    received_at: datetime = DEFAULT_TIME,
) -> CallEvent:
    """A stored callback for `attempt` (a new one unless given)."""
    attempt = attempt or make_attempt(session)
    event = CallEvent(
        kind=kind,
        call_sid=attempt.call_sid,
        attempt=attempt,
        sequence_number=sequence_number,
        payload=payload if payload is not None else {"CallSid": attempt.call_sid},
        received_at=received_at,
    )
    return _saved(session, event)


#: The campaign every factory row belongs to unless told otherwise.
CAMPAIGN_ID = "f2-followup"

_CONFIG_TEMPLATE = """\
company:
  name: 株式会社みどり通販
  caller_id: "+81312345678"
  timezone: Asia/Tokyo
policy:
  hours: "09:00-20:00"
  holidays: JP
  blackouts:
    - {{from: "12-29", to: "01-03", name: 年末年始}}
  last_dial_before_close: 10m
operators:
  - {{id: sato, name: 佐藤, phone: "+81311112222", queues: [{campaign}]}}
campaigns:
  - id: {campaign}
    name: 2回目購入のご案内
    purpose: 定期お届け便のご案内
    kind: service
{dates}    segment: {{orders_count: 1}}
    windows:
      mon-fri: ["10:00-12:00", "13:00-19:00"]
      sat: ["10:00-17:00"]
    retry: {retry}
    ivr:
      greeting: "{{company}}でございます。{{purpose}}のお電話です。"
      menu:
        "1": {{action: agent}}
"""

#: The retry section of `config_yaml` unless told otherwise (no vary, so times are plain).
DEFAULT_RETRY: dict[str, object] = {
    "max_attempts": 3,
    "busy": "30m",
    "no-answer": "3h",
    "machine": "1d",
    "failed": "never",
    "vary_time_of_day": False,
}


def config_yaml(
    *,
    retry: dict[str, object] | None = None,
    dates: tuple[date, date] | None = None,
    campaign: str = CAMPAIGN_ID,
) -> str:
    """A small valid campaigns.yaml: one service campaign, weekday and Saturday windows in
    Tokyo, Japanese holidays and New Year closed; `retry` entries override `DEFAULT_RETRY`."""
    section = {**DEFAULT_RETRY, **(retry or {})}
    dates_line = f"    dates: {{from: {dates[0]}, to: {dates[1]}}}\n" if dates else ""
    return _CONFIG_TEMPLATE.format(
        campaign=campaign, dates=dates_line, retry=json.dumps(section, ensure_ascii=False)
    )


def make_config(
    *,
    retry: dict[str, object] | None = None,
    dates: tuple[date, date] | None = None,
    campaign: str = CAMPAIGN_ID,
) -> Config:
    """The parsed `config_yaml`."""
    text = config_yaml(retry=retry, dates=dates, campaign=campaign)
    return parse_config(text.encode(), "campaigns.yaml")


def callback_params(
    attempt: Attempt,
    status: CallStatus | str,
    sequence_number: int | None = None,
    **fields: str,
) -> dict[str, str]:
    """The form fields of a Twilio status callback for `attempt`'s call; `fields` add or
    replace any (CallDuration, AnsweredBy, ErrorCode, ...)."""
    params = {
        "AccountSid": "AC" + "0" * 32,
        "ApiVersion": "2010-04-01",
        "CallSid": attempt.call_sid or "",
        "CallStatus": str(status),
        "Direction": "outbound-api",
        "From": "+81312345678",
        "To": attempt.phone,
        "CallbackSource": "call-progress-events",
    }
    if sequence_number is not None:
        params["SequenceNumber"] = str(sequence_number)
    params.update(fields)
    return params


#: Campaigns for the call-list tests (`make_lists_config`): priorities that outrank one another,
#: two that tie, one that needs consent, one disabled and one whose dates are over.
LISTS_CAMPAIGNS_YAML = """\
company:
  name: 株式会社みどり通販
  caller_id: "+81312345678"
policy:
  hours: "09:00-20:00"
  holidays: JP
  contact_cooldown: 7d
  max_attempts_per_customer_week: 3
operators:
  - id: sato
    name: 佐藤
    phone: "+81311112222"
    queues: [cancel-save, f2-followup, repeat, consent-only, twin-a, twin-b, paused, finished]
campaigns:
  - id: cancel-save
    name: 定期便 解約防止
    purpose: 定期お届け便のお手続きについて
    kind: service
    priority: 90
    segment: {subscription_status: cancel_requested}
    windows: {mon-sat: ["10:00-18:00"]}
    ivr: &ivr
      greeting: "{company}でございます。{purpose}のお電話です。"
      menu:
        "1": {action: agent}
        "9": {action: opt_out}
  - id: f2-followup
    name: 2回目購入のご案内
    purpose: 定期お届け便のご案内
    kind: solicitation
    priority: 80
    segment:
      orders_count: 1
      order_by: [first_order_value desc]
    windows: {mon-sat: ["10:00-18:00"]}
    ivr: *ivr
  - id: repeat
    name: リピーター向けご案内
    purpose: 新商品のご案内
    kind: solicitation
    priority: 60
    segment:
      orders_count: {gte: 2}
      order_by: [lifetime_value desc]
    windows: {mon-fri: ["10:00-12:00", "13:00-18:00"]}
    ivr: *ivr
  - id: consent-only
    name: 同意者限定のご案内
    purpose: 会員限定セールのご案内
    kind: solicitation
    priority: 40
    require_opt_in: true
    segment: {orders_count: {gte: 1}}
    windows: {mon-sat: ["10:00-18:00"]}
    ivr: *ivr
  - id: twin-a
    name: 同順位A
    purpose: 新商品のご案内
    kind: solicitation
    priority: 30
    segment: {bought_sku: TWIN}
    windows: {mon-sat: ["10:00-18:00"]}
    ivr: *ivr
  - id: twin-b
    name: 同順位B
    purpose: 新商品のご案内
    kind: solicitation
    priority: 30
    segment: {bought_sku: TWIN}
    windows: {mon-sat: ["10:00-18:00"]}
    ivr: *ivr
  - id: paused
    name: 停止中のキャンペーン
    purpose: 新商品のご案内
    kind: solicitation
    enabled: false
    priority: 95
    segment: {orders_count: {gte: 1}}
    windows: {mon-sat: ["10:00-18:00"]}
    ivr: *ivr
  - id: finished
    name: 終了したキャンペーン
    purpose: 夏のセールのご案内
    kind: solicitation
    priority: 99
    dates: {from: 2026-06-01, to: 2026-08-31}
    segment: {orders_count: {gte: 1}}
    windows: {mon-sat: ["10:00-18:00"]}
    ivr: *ivr
"""


def make_lists_config(text: str = LISTS_CAMPAIGNS_YAML) -> Config:
    """The parsed `LISTS_CAMPAIGNS_YAML` (or another campaigns file given as text)."""
    return parse_config(text.encode(), "campaigns.yaml")


def make_key_press(
    session: Session,
    attempt: Attempt,
    *,
    action: str | None = "opt_out",
    digits: str = "9",
    step: str = "menu",
    pressed_at: datetime = DEFAULT_TIME,
) -> KeyPress:
    """A DTMF answer during `attempt`; by default the opt-out key."""
    press = KeyPress(
        attempt=attempt, action=action, digits=digits, step=step, pressed_at=pressed_at
    )
    return _saved(session, press)


def make_busy_operator(
    session: Session, at: datetime, operator_id: str = "sato", campaign_id: str = CAMPAIGN_ID
) -> OperatorCall:
    """`operator_id` talking to a caller of `campaign_id` at `at` (on the line for 2 minutes)."""
    call = OperatorCall(
        operator_id=operator_id,
        campaign_id=campaign_id,
        call_sid="CA" + f"{operator_id}:{campaign_id}".encode().hex()[:32].ljust(32, "0"),
        status=CallStatus.IN_PROGRESS,
        started_at=at - timedelta(minutes=2),
    )
    return _saved(session, call)


def make_dialled_attempt(
    session: Session,
    customer: Customer,
    *,
    campaign_id: str = CAMPAIGN_ID,
    started_at: datetime = DEFAULT_TIME,
    answered_by: str | None = None,
    outcome: str | None = "no-answer",
    disposition: str | None = None,
    entry_state: EntryState = EntryState.DONE,
) -> Attempt:
    """An ended call to `customer` in `campaign_id`, on the customer's entry there (created in
    `entry_state` if missing, by default closed, so that it holds nobody)."""
    entry = session.scalars(
        select(CallListEntry).where(
            CallListEntry.campaign_id == campaign_id, CallListEntry.customer_id == customer.id
        )
    ).one_or_none()
    if entry is None:
        entry = make_entry(session, customer, campaign_id=campaign_id, state=entry_state)
    attempt = make_attempt(
        session, entry, started_at=started_at, status=CallStatus.COMPLETED, outcome=outcome
    )
    attempt.answered_by = answered_by
    attempt.disposition = disposition
    attempt.ended_at = started_at
    entry.last_outcome = outcome
    session.flush()
    return attempt


# --- dispatch: campaigns with pacing limits ----------------------------------------------------

#: Seven days a week within the default policy hours, so tests choose their day freely.
ALL_WEEK = {"daily": ["09:00-20:00"]}
NEW_YEAR = ({"from": "12-29", "to": "01-03", "name": "年末年始"},)


def dispatch_campaign(
    campaign_id: str = CAMPAIGN_ID,
    *,
    priority: int = 50,
    cps: float = 10.0,
    max_concurrent: int = 10,
    mode: str = "agentless",
    windows: dict[str, list[str]] | None = None,
    dates: tuple[date, date] | None = None,
    enabled: bool = True,
    require_opt_in: bool = False,
    leaves_message: bool = False,
) -> dict[str, Any]:
    """One campaign of `make_dispatch_config`, as campaigns.yaml would describe it."""
    menu: dict[str, Any] = {"9": {"action": "opt_out"}}
    if mode == "ivr-then-agent":
        menu["1"] = {"action": "agent"}
    campaign: dict[str, Any] = {
        "id": campaign_id,
        "name": f"テスト {campaign_id}",
        "purpose": "定期お届け便のご案内",
        "kind": "service",
        "enabled": enabled,
        "priority": priority,
        "require_opt_in": require_opt_in,
        "segment": {"orders_count": 1},
        "windows": windows or ALL_WEEK,
        "pacing": {"mode": mode, "cps": float(cps), "max_concurrent": max_concurrent},
        "ivr": {
            "greeting": "{company}でございます。{purpose}のお電話です。",
            "menu": menu,
            "machine": {"say": "改めてお電話いたします。"} if leaves_message else "hangup",
        },
    }
    if dates is not None:
        campaign["dates"] = {"from": dates[0], "to": dates[1]}
    return campaign


def dispatch_config_yaml(
    *campaigns: dict[str, Any],
    account_cps: float = 10.0,
    max_concurrent_calls: int = 10,
    hours: str = "09:00-20:00",
    holidays: str = "JP",
    blackouts: Sequence[dict[str, str]] = NEW_YEAR,
    last_dial_before_close: str = "10m",
    contact_cooldown: str = "7d",
    max_attempts_per_customer_week: int = 3,
) -> str:
    """A campaigns.yaml for the dispatcher's tests: `campaigns` (default: one agentless
    `dispatch_campaign`) under a policy with generous limits; one operator serves them all."""
    chosen = list(campaigns) or [dispatch_campaign()]
    document = {
        "company": {"name": "株式会社みどり通販", "caller_id": "+81312345678"},
        "policy": {
            "hours": hours,
            "holidays": holidays,
            "blackouts": list(blackouts),
            "last_dial_before_close": last_dial_before_close,
            "contact_cooldown": contact_cooldown,
            "max_attempts_per_customer_week": max_attempts_per_customer_week,
            "account_cps": float(account_cps),
            "max_concurrent_calls": max_concurrent_calls,
        },
        "operators": [
            {
                "id": "sato",
                "name": "佐藤",
                "phone": "+81311112222",
                "queues": [campaign["id"] for campaign in chosen],
            }
        ],
        "campaigns": chosen,
    }
    text: str = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    return text


def make_dispatch_config(*campaigns: dict[str, Any], **policy: Any) -> Config:
    """The parsed `dispatch_config_yaml`."""
    text = dispatch_config_yaml(*campaigns, **policy)
    return parse_config(text.encode(), "campaigns.yaml")


# --- the dashboard: accounts -------------------------------------------------------------------

#: The password every `make_user` account has unless told otherwise (a test value).
TEST_PASSWORD = "correct horse battery"


@cache
def _password_hash(password: str) -> str:
    """Hashed once per password per test run: scrypt is slow on purpose."""
    return hash_password(password)


def make_user(
    session: Session,
    username: str = "kanri",
    *,
    role: UserRole = UserRole.SUPERVISOR,
    password: str = TEST_PASSWORD,
    active: bool = True,
) -> User:
    """A dashboard account (a supervisor unless told otherwise)."""
    user = User(username=username, password_hash=_password_hash(password), role=role, active=active)
    return _saved(session, user)


# --- the IVR: a campaign with every menu action ------------------------------------------------

#: Two campaigns: `f2-followup` with a full menu, a message for machines and two repeats on
#: silence, and `repeat`, which hangs up on machines (and serves as a second list to build).
IVR_CAMPAIGNS_YAML = """\
company:
  name: 株式会社みどり通販
  caller_id: "+81312345678"
  timezone: Asia/Tokyo
policy:
  hours: "09:00-20:00"
  holidays: JP
  blackouts:
    - {from: "12-29", to: "01-03", name: 年末年始}
  last_dial_before_close: 10m
operators:
  - {id: sato, name: 佐藤, phone: "+81311112222", queues: [f2-followup, repeat]}
campaigns:
  - id: f2-followup
    name: 2回目購入のご案内
    purpose: 定期お届け便のご案内
    kind: service
    segment: {orders_count: 1}
    windows:
      mon-fri: ["10:00-12:00", "13:00-19:00"]
      sat: ["10:00-17:00"]
    ivr:
      voice: Polly.Takumi
      greeting: "{customer_name}様、{company}でございます。{campaign}、{purpose}のお電話です。\\
        担当者とお話しになる場合は1を、折り返しをご希望の場合は2を押してください。"
      menu:
        "1": {action: agent, say: 担当者におつなぎします。}
        "2": {action: callback}
        "3": {action: repeat}
        "8": {action: hangup}
        "9": {action: opt_out, say: 承知いたしました。今後のお電話は控えさせていただきます。}
      no_input: {repeat: 2, then: hangup}
      machine: {say: 株式会社みどり通販でございます。また改めてお電話いたします。}
  - id: repeat
    name: リピーター向けご案内
    purpose: 新商品のご案内
    kind: service
    segment: {orders_count: {gte: 2}}
    windows: {mon-sat: ["10:00-18:00"]}
    ivr:
      greeting: "{company}でございます。{purpose}のお電話です。"
      menu:
        "1": {action: agent}
        "9": {action: opt_out}
      machine: hangup
"""
