"""A customer record as the shop's export holds it: name and reading, phone, birthday, consent.

Ages lean towards the 50s to 70s who buy 青汁 by mail order; some birthdays are unknown, and
consent to solicitation calls is often simply not recorded (blank), which the campaigns have to
treat differently from a recorded "no".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Final

from dialer.synthetic.names import draw_name
from dialer.synthetic.typed_phones import typed_phone

Random = Callable[[], float]

BIRTHDAY_KNOWN: Final = 0.9
# (decade of age, relative share of customers)
_AGE_DECADES: Final = ((20, 5), (30, 10), (40, 17), (50, 25), (60, 26), (70, 14), (80, 3))
_DECADE_TABLE: Final = tuple(decade for decade, share in _AGE_DECADES for _ in range(share))
_OPT_IN: Final = ("1",) * 70 + ("0",) * 8 + ("",) * 22


@dataclass(frozen=True, slots=True)
class Person:
    """The fields of a customers.csv row besides the id; `phone_digits` only when dialable."""

    name: str
    name_kana: str
    phone: str
    phone_digits: str | None
    birthday: str
    opt_in: str


def draw_person(random: Random, as_of: date, *, dialable: bool) -> Person:
    name, kana = draw_name(random)
    phone, digits = typed_phone(random, dialable=dialable)
    return Person(name, kana, phone, digits, _birthday(random, as_of), _opt_in(random))


def _birthday(random: Random, as_of: date) -> str:
    if random() >= BIRTHDAY_KNOWN:
        return ""
    age = _DECADE_TABLE[int(random() * len(_DECADE_TABLE))] + random() * 10
    return date.fromordinal(as_of.toordinal() - int(age * 365.2425)).isoformat()


def _opt_in(random: Random) -> str:
    return _OPT_IN[int(random() * len(_OPT_IN))]
