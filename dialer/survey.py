"""Survey results (満足度調査): per campaign, how many customers gave each answer, and the mean.

The IVR stores each answer as a `KeyPress` with step `survey` and no action, once per attempt
(`dialer.ivr.record_survey_answer`); keys pressed by mistake carry the action `unknown` and
are not answers. Read by the dashboard; nothing here writes.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from dialer.campaigns import Config
from dialer.ivr import SURVEY_STEP
from dialer.models import Attempt, KeyPress
from dialer.wallclock import require_aware


@dataclass(frozen=True)
class SurveyResult:
    """One campaign's answers: `counts` maps each answer (every key of the campaign's scale,
    0 when nobody chose it, plus any other key answered under an earlier scale) to its count."""

    campaign_id: str
    counts: dict[int, int] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return sum(self.counts.values())

    @property
    def mean(self) -> float | None:
        """The mean answer; None before the first answer."""
        if not self.answered:
            return None
        return sum(answer * count for answer, count in self.counts.items()) / self.answered


def survey_results(
    session: Session,
    config: Config,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[SurveyResult]:
    """Every campaign with a survey in `config` or with stored answers, by campaign id.

    `since` (inclusive) and `until` (exclusive) bound when the answers were given.
    """
    query = (
        sa.select(Attempt.campaign_id, KeyPress.digits, sa.func.count())
        .join(Attempt, Attempt.id == KeyPress.attempt_id)
        .where(KeyPress.step == SURVEY_STEP, KeyPress.action.is_(None))
        .group_by(Attempt.campaign_id, KeyPress.digits)
    )
    if since is not None:
        require_aware(since)
        query = query.where(KeyPress.pressed_at >= since)
    if until is not None:
        require_aware(until)
        query = query.where(KeyPress.pressed_at < until)
    counts: dict[str, Counter[int]] = {
        campaign.id: Counter({int(key): 0 for key in campaign.ivr.survey.keys})
        for campaign in config.campaigns
        if campaign.ivr.survey is not None
    }
    for campaign_id, digits, count in session.execute(query):
        if digits.isdigit():
            counts.setdefault(campaign_id, Counter())[int(digits)] += count
    return [
        SurveyResult(campaign_id, dict(sorted(answers.items())))
        for campaign_id, answers in sorted(counts.items())
    ]
