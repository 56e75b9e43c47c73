"""dialer.survey: the answers per campaign, counted per key, and their mean."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from dialer.campaigns import parse_config
from dialer.models import Attempt
from dialer.survey import SurveyResult, survey_results
from tests.factories import DEFAULT_TIME, make_attempt, make_entry, make_key_press
from tests.test_ivr_survey import SURVEY_CAMPAIGNS_YAML

CONFIG = parse_config(SURVEY_CAMPAIGNS_YAML.encode(), "campaigns.yaml")


def answer(
    session: Session, campaign_id: str, digits: str, *, action: str | None = None, days: int = 0
) -> Attempt:
    attempt = make_attempt(session, make_entry(session, campaign_id=campaign_id))
    make_key_press(
        session,
        attempt,
        step="survey",
        digits=digits,
        action=action,
        pressed_at=DEFAULT_TIME + timedelta(days=days),
    )
    return attempt


def test_without_answers_every_survey_campaign_has_zero_counts_and_no_mean(
    session: Session,
) -> None:
    results = survey_results(session, CONFIG)
    assert [result.campaign_id for result in results] == ["satisfaction", "survey-key"]
    satisfaction = results[0]
    assert satisfaction.counts == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}
    assert (satisfaction.answered, satisfaction.mean) == (0, None)
    assert list(results[1].counts) == list(range(10))


def test_answers_are_counted_per_key_and_averaged(session: Session) -> None:
    for digits in ("5", "5", "4", "1"):
        answer(session, "satisfaction", digits)
    answer(session, "survey-key", "9")
    session.commit()

    results = {result.campaign_id: result for result in survey_results(session, CONFIG)}
    satisfaction = results["satisfaction"]
    assert satisfaction.counts == {1: 1, 2: 0, 3: 0, 4: 1, 5: 2}
    assert satisfaction.answered == 4
    assert satisfaction.mean == pytest.approx(3.75)
    assert results["survey-key"].mean == pytest.approx(9.0)


def test_invalid_keys_and_menu_presses_are_not_answers(session: Session) -> None:
    answer(session, "satisfaction", "7", action="unknown")
    attempt = answer(session, "satisfaction", "3")
    make_key_press(session, attempt, step="menu", digits="9", action="opt_out")
    session.commit()

    [satisfaction, _] = survey_results(session, CONFIG)
    assert (satisfaction.answered, satisfaction.mean) == (1, 3.0)


def test_answers_of_a_campaign_no_longer_configured_are_still_reported(
    session: Session,
) -> None:
    answer(session, "summer-survey", "2")
    session.commit()
    results = {result.campaign_id: result for result in survey_results(session, CONFIG)}
    assert results["summer-survey"] == SurveyResult("summer-survey", {2: 1})


def test_answers_are_bounded_by_when_they_were_given(session: Session) -> None:
    answer(session, "satisfaction", "1", days=0)
    answer(session, "satisfaction", "5", days=1)
    answer(session, "satisfaction", "3", days=2)
    session.commit()
    since = DEFAULT_TIME + timedelta(days=1)
    until = DEFAULT_TIME + timedelta(days=2)
    [satisfaction, _] = survey_results(session, CONFIG, since=since, until=until)
    assert satisfaction.counts[5] == 1
    assert satisfaction.answered == 1
    with pytest.raises(ValueError, match="naive"):
        survey_results(session, CONFIG, since=since.replace(tzinfo=None))
