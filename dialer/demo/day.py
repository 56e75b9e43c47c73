"""Which afternoon the demo simulates: the first open one for as many campaigns as possible.

The sample campaigns have dates, weekday windows, a lunch break and the public holidays, so
"now" is seldom a good time to show them all dialling. The demo looks at the next weeks for the
earliest half-hour, from 10:00 to 17:00 local time, at which the most campaigns are open for a
whole hour, and starts there. The search is by the same calendar that gates every real call.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialer.calendar import CallingRules, is_callable
from dialer.campaigns import Config, calling_rules
from dialer.errors import DialerError

#: How far ahead the demo looks for an open afternoon.
SEARCH_DAYS = 60
#: How long the campaigns should stay open from the start.
OPEN_FOR = timedelta(hours=1)
FIRST_START = time(10, 0)
LAST_START = time(17, 0)
STEP = timedelta(minutes=30)


class NoOpenTimeError(DialerError):
    """No campaign of the configuration can call in the next weeks."""


def demo_start(config: Config, today: date) -> datetime:
    """The earliest start instant from `today` on with the most campaigns open for `OPEN_FOR`."""
    rules = [calling_rules(config, campaign.id) for campaign in config.campaigns]
    best: tuple[int, datetime] | None = None
    for start in _candidates(config, today):
        count = sum(1 for rule in rules if _open_throughout(rule, start))
        if count and (best is None or count > best[0]):
            best = (count, start)
            if count == len(rules):
                break
    if best is None:
        raise NoOpenTimeError(
            f"no campaign in the configuration is open for an hour between 10:00 and 17:00 in "
            f"the {SEARCH_DAYS} days from {today}: check their dates and windows "
            "(`dialer calendar CAMPAIGN`)"
        )
    return best[1]


def _candidates(config: Config, today: date) -> Iterator[datetime]:
    zone = ZoneInfo(config.company.timezone)
    for offset in range(SEARCH_DAYS):
        day = today + timedelta(days=offset)
        at = datetime.combine(day, FIRST_START, zone)
        last = datetime.combine(day, LAST_START, zone)
        while at <= last:
            yield at
            at += STEP


def _open_throughout(rules: CallingRules, start: datetime) -> bool:
    """Open at the start, every quarter hour after it, and just before the end."""
    checks = [start + timedelta(minutes=minutes) for minutes in range(0, 60, 15)]
    checks.append(start + OPEN_FOR - timedelta(minutes=1))
    return all(is_callable(rules, at) for at in checks)
