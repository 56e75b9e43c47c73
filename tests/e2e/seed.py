"""A believable floor for the browser tests and their screenshots: seven campaigns (one an
agentless satisfaction survey), a few hundred customers, today's calls up to now and thirty days
of history with survey answers, written with the factories.

Deterministic for a given `now` (a seeded random generator), small enough to write in a
couple of seconds on SQLite.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from dialer.models import CallStatus, EntryState, SubscriptionStatus
from tests.factories import (
    dispatch_campaign,
    dispatch_config_yaml,
    make_attempt,
    make_call_event,
    make_customer,
    make_dnc_entry,
    make_entry,
    make_key_press,
    make_order,
    make_subscription,
)

FAMILY = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
]
KANA = ["サトウ", "スズキ", "タカハシ", "タナカ", "イトウ", "ワタナベ", "ヤマモト", "ナカムラ",
        "コバヤシ", "カトウ", "ヨシダ", "ヤマダ"]  # fmt: skip
GIVEN = [("花子", "ハナコ"), ("太郎", "タロウ"), ("恵子", "ケイコ"), ("健一", "ケンイチ"),
         ("美咲", "ミサキ"), ("誠", "マコト"), ("由美", "ユミ"), ("翔太", "ショウタ")]  # fmt: skip
SKUS = ["AOJIRU-30", "AOJIRU-90", "KOSO-60", "COLLAGEN-30"]
OPERATORS = ["sato", "suzuki", "takahashi"]

#: The customer the browser tests open, with a full history.
FEATURED = "C100001"


def campaigns_yaml() -> str:
    """Seven campaigns a repeat-purchase shop runs, open every day within policy hours."""

    def campaign(campaign_id: str, name: str, **overrides: Any) -> dict[str, Any]:
        return {
            **dispatch_campaign(campaign_id, mode="ivr-then-agent", cps=1.0, max_concurrent=5),
            "name": name,
            **overrides,
        }

    return dispatch_config_yaml(
        campaign("f2-followup", "2回目購入のご案内", priority=80),
        campaign("cancel-save", "解約防止のお電話", priority=90),
        campaign("dormant-reactivation", "休眠顧客の掘り起こし", priority=60),
        campaign("best-customers-thanks", "優良顧客への御礼", priority=50),
        campaign("birthday-coupon", "誕生月クーポンのご案内", priority=40, enabled=False),
        campaign(
            "summer-sale",
            "夏のセールのご案内",
            priority=30,
            dates={"from": date(2026, 6, 1), "to": date(2026, 8, 31)},
        ),
        _survey_campaign(),
        account_cps=5.0,
        max_concurrent_calls=20,
    )


def _survey_campaign() -> dict[str, Any]:
    """The agentless satisfaction survey (満足度調査), asked right after the greeting."""
    survey = dispatch_campaign(SURVEY_CAMPAIGN, mode="agentless", cps=1.0, max_concurrent=5)
    survey.update(name="定期便 満足度アンケート", priority=20)
    survey["ivr"]["survey"] = {
        "question": "これまでの商品とお届けに、どのくらいご満足いただけていますか。"
        "大変満足は5、不満は1を押してください。",
        "scale": [1, 5],
    }
    return survey


SURVEY_CAMPAIGN = "subscriber-satisfaction"
#: How often each answer (1 = 不満 … 5 = 大変満足) is given.
SURVEY_WEIGHTS = {"1": 2, "2": 3, "3": 8, "4": 14, "5": 11}
LIVE_CAMPAIGNS = ["cancel-save", "f2-followup", "dormant-reactivation", "best-customers-thanks"]


@dataclass(frozen=True)
class Outcome:
    status: CallStatus
    outcome: str
    answered_by: str | None = None
    disposition: str | None = None
    queue: str | None = None


OUTCOMES = [
    (Outcome(CallStatus.COMPLETED, "human", "human", "converted", "bridged"), 5),
    (Outcome(CallStatus.COMPLETED, "human", "human", "retained_skip", "bridged"), 4),
    (Outcome(CallStatus.COMPLETED, "human", "human", "reached", "bridged"), 8),
    (Outcome(CallStatus.COMPLETED, "human", "human", None, "hangup"), 2),
    (Outcome(CallStatus.COMPLETED, "human", "human", "refused", "bridged"), 1),
    (Outcome(CallStatus.COMPLETED, "machine", "machine_start"), 10),
    (Outcome(CallStatus.NO_ANSWER, "no-answer"), 18),
    (Outcome(CallStatus.BUSY, "busy"), 5),
    (Outcome(CallStatus.FAILED, "failed"), 1),
]


def seed(session: Session, now: datetime, *, customers: int = 240) -> None:
    """Write the floor as it stands at `now`, and commit."""
    rng = random.Random(20261124)
    surveyed = random.Random(20261125)
    zone = now.tzinfo
    assert zone is not None
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start_of_day = max(midnight, now - timedelta(hours=9))
    for number in range(customers):
        campaign = LIVE_CAMPAIGNS[number % len(LIVE_CAMPAIGNS)]
        family = rng.randrange(len(FAMILY))
        given, given_kana = rng.choice(GIVEN)
        customer = make_customer(
            session,
            external_id=f"C{100001 + number}",
            name=f"{FAMILY[family]} {given}",
            name_kana=f"{KANA[family]} {given_kana}",
            phones=[f"+8190{rng.randrange(10**8):08d}"],
        )
        for _ in range(rng.randint(1, 4)):
            ordered = now - timedelta(days=rng.randint(10, 400))
            make_order(session, customer, ordered_at=ordered, sku=rng.choice(SKUS), amount=3980)
        if number % 3 == 0:
            make_subscription(
                session,
                customer,
                status=rng.choice(list(SubscriptionStatus)),
                next_delivery=(now + timedelta(days=rng.randint(1, 30))).date(),
            )
        calls = _calls_for(rng, number, now, start_of_day)
        state = EntryState.PENDING if not calls else EntryState.DONE
        if number % 17 == 0:
            state = EntryState.SUPPRESSED
        entry = make_entry(
            session,
            customer,
            campaign_id=campaign,
            state=state,
            next_attempt_at=now + timedelta(hours=2),
        )
        for started in calls:
            _call(session, rng, entry, started)
        if number % 4 == 1:
            _survey_answer(session, surveyed, customer, now)
        if number % 41 == 0:
            make_dnc_entry(
                session,
                phone=customer.dialable_phone,
                customer=customer,
                reason="今後の電話は不要とのこと",
                added_by="sato",
            )
    session.commit()


def _calls_for(
    rng: random.Random, number: int, now: datetime, start_of_day: datetime
) -> list[datetime]:
    """A third of the customers called today (in the nine hours up to now, since midnight),
    half of them on earlier days."""
    calls = []
    if number % 3 == 0 and now > start_of_day:
        seconds = int((now - start_of_day).total_seconds())
        calls.append(start_of_day + timedelta(seconds=rng.randrange(max(seconds, 1))))
    if number % 2 == 0:
        day = now - timedelta(days=rng.randint(1, 29))
        calls.append(day.replace(hour=rng.randint(9, 19), minute=rng.randrange(60)))
    return sorted(calls)


def _call(session: Session, rng: random.Random, entry: Any, started: datetime) -> None:
    outcomes, weights = zip(*OUTCOMES, strict=True)
    result: Outcome = rng.choices(outcomes, weights=weights)[0]
    attempt = make_attempt(
        session,
        entry,
        started_at=started,
        status=result.status,
        outcome=result.outcome,
        ended_at=started + timedelta(minutes=3),
    )
    attempt.answered_by = result.answered_by
    attempt.disposition = result.disposition
    if result.outcome == "human":
        attempt.duration_seconds = rng.randint(40, 420)
    if result.queue:
        attempt.queue_result = result.queue
        attempt.queue_time_seconds = rng.randint(5, 80)
        attempt.operator_id = rng.choice(OPERATORS) if result.queue == "bridged" else None
        make_key_press(session, attempt, action="agent", digits="1", pressed_at=started)
    if result.disposition == "refused":
        make_key_press(session, attempt, action="opt_out", digits="9", pressed_at=started)
    make_call_event(
        session,
        attempt,
        payload={"CallSid": attempt.call_sid or "", "CallStatus": result.status.value},
        received_at=started + timedelta(minutes=3),
    )


def _survey_answer(session: Session, rng: random.Random, customer: Any, now: datetime) -> None:
    """An answered survey call of the last 29 days."""
    started = (now - timedelta(days=rng.randint(1, 29))).replace(hour=rng.randint(11, 17))
    entry = make_entry(session, customer, campaign_id=SURVEY_CAMPAIGN, state=EntryState.DONE)
    attempt = make_attempt(
        session,
        entry,
        started_at=started,
        status=CallStatus.COMPLETED,
        outcome="human",
        ended_at=started + timedelta(minutes=1),
    )
    attempt.answered_by = "human"
    answers, weights = zip(*SURVEY_WEIGHTS.items(), strict=True)
    digits = rng.choices(answers, weights=weights)[0]
    make_key_press(session, attempt, step="survey", action=None, digits=digits, pressed_at=started)


__all__ = ["FEATURED", "SURVEY_CAMPAIGN", "campaigns_yaml", "seed"]
