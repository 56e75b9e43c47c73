"""Phone numbers the way customers type them into order forms and call-centre agents key them in.

Most are dialable mobiles (090/080/070), then fixed lines and a few 050 IP phones, written in the
forms `dialer.phones` has to read: hyphenated, run together, with spaces or brackets, in
full-width digits, or in +81 form. A separate, exact share is undialable on purpose (blank,
free dial, navi dial, premium, a digit short, words instead of digits), so that imports and
list builds meet every refusal they must explain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

Random = Callable[[], float]

_MOBILE_PREFIXES: Final = ("090",) * 10 + ("080",) * 7 + ("070",) * 3
# (area code, digits of the local exchange): together always nine digits after the 0.
_FIXED_AREAS: Final = (
    ("03", 4),
    ("03", 4),
    ("03", 4),
    ("06", 4),
    ("06", 4),
    ("045", 3),
    ("048", 3),
    ("052", 3),
    ("022", 3),
    ("075", 3),
    ("078", 3),
    ("082", 3),
    ("092", 3),
    ("098", 3),
    ("0466", 2),
    ("0467", 2),
    ("0172", 2),
    ("0285", 2),
    ("0544", 2),
    ("0994", 2),
)
_FULL_WIDTH: Final = str.maketrans("0123456789-", "０１２３４５６７８９－")


def _digits(random: Random, count: int) -> str:
    return f"{int(random() * 10**count):0{count}d}"


def _leading(random: Random, low: int, count: int) -> str:
    """`count` digits whose first is at least `low` (exchanges never start with 0 or 1)."""
    return str(low + int(random() * (10 - low))) + _digits(random, count - 1)


def _groups(random: Random) -> tuple[str, str, str]:
    """A dialable number's three digit groups, e.g. ("090", "1234", "5678")."""
    kind = random()
    if kind < 0.84:
        prefix = _MOBILE_PREFIXES[int(random() * len(_MOBILE_PREFIXES))]
        return prefix, _leading(random, 1, 4), _digits(random, 4)
    if kind < 0.97:
        area, exchange = _FIXED_AREAS[int(random() * len(_FIXED_AREAS))]
        return area, _leading(random, 2, exchange), _digits(random, 4)
    return "050", _leading(random, 1, 4), _digits(random, 4)


def _written(random: Random, area: str, middle: str, last: str) -> str:
    """One of the ways people write the same number."""
    form = random()
    if form < 0.78:
        return f"{area}-{middle}-{last}"
    if form < 0.92:
        return f"{area}{middle}{last}"
    if form < 0.94:
        return f"{area} {middle} {last}"
    if form < 0.96:
        return f"{area}-{middle}-{last}".translate(_FULL_WIDTH)
    if form < 0.98:
        return f"+81-{area[1:]}-{middle}-{last}"
    if area.startswith(("090", "080", "070", "050")):
        return f"+81{area[1:]}{middle}{last}"
    return f"{area}({middle}){last}"


def _undialable(random: Random) -> str:
    """A number the dialer must refuse, in the proportions a real customer file shows."""
    kind = random()
    if kind < 0.35:
        return ""
    if kind < 0.55:
        return f"0120-{_digits(random, 3)}-{_digits(random, 3)}"
    if kind < 0.62:
        return f"0800-{_digits(random, 3)}-{_digits(random, 4)}"
    if kind < 0.72:
        return f"0570-{_digits(random, 3)}-{_digits(random, 3)}"
    if kind < 0.75:
        return f"0990-{_digits(random, 3)}-{_digits(random, 3)}"
    if kind < 0.93:
        return f"090-{_leading(random, 1, 4)}-{_digits(random, 3)}"
    return "不明" if random() < 0.5 else "なし"


def typed_phone(random: Random, *, dialable: bool) -> tuple[str, str | None]:
    """The number as typed, and its plain national digits when it may be dialled."""
    if not dialable:
        return _undialable(random), None
    area, middle, last = _groups(random)
    return _written(random, area, middle, last), f"{area}{middle}{last}"
