"""`dialer.phones.check_phone` at import speed.

Judging a number costs about 30 µs (phonenumbers parses, validates and classifies it), which on
its own would cap a customer import below 30,000 rows/s. Japanese numbers are allocated in
blocks of 10,000 (the last four digits are the subscriber number), and phonenumbers' Japanese
patterns likewise never look at the last four digits, so every number of a block gets the same
verdict. `PhoneJudge` therefore judges the first number of each block with `check_phone` and
reuses that verdict for the rest; the E.164 form is rebuilt from the digits. A block is only
reused when `check_phone`'s own E.164 form matches that rebuilding, and any input that is not
plain national digits (``+81``, extensions, letters) is always judged in full, so the result is
`check_phone`'s in every case; the tests compare the two on every number range.
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

from dialer.importer.phone_ranges import uniform
from dialer.phones import check_phone, normalise

#: Plain forms: 9 or 10 national digits after a trunk 0, after +81, or alone (the 0 that a
#: spreadsheet dropped). Left to the full judgement: 00 and 010 (international access codes,
#: after which the country code decides) and a dropped-0 form starting 81 (read as the country
#: code).
_PLAIN: Final = re.compile(r"(?:\+81|0(?!10)|(?!81))[1-9]\d{8,9}")
_SEPARATORS: Final = str.maketrans("", "", "-  ().")
_SUBSCRIBER_DIGITS: Final = 4
#: Bounds memory on files of random numbers; real files reuse far fewer blocks.
_MAX_BLOCKS: Final = 200_000
_MAX_EXACT: Final = 50_000
#: National digits that name a range, tried from the widest range down.
_RANGE_DIGITS: Final = (2, 3, 4, 5)


class PhoneVerdict(NamedTuple):
    """What the import stores for one number (see `CustomerPhone`)."""

    e164: str | None
    number_class: str | None
    #: A `dialer.phones.Refusal` code; None when the number may be dialled.
    refusal: str | None


class _Block(NamedTuple):
    has_e164: bool
    number_class: str | None
    refusal: str | None


#: Marks a block whose E.164 form cannot be rebuilt from its digits: always judged in full.
_NO_REUSE: Final = _Block(has_e164=False, number_class=None, refusal=None)


class PhoneJudge:
    """Judges numbers like `check_phone`, remembering verdicts per uniform range or block."""

    def __init__(self) -> None:
        self._blocks: dict[str, _Block] = {}
        #: Ranges by leading digits and length; `_NO_REUSE` for ranges not judged as one.
        self._ranges: dict[tuple[str, int], _Block] = {}
        self._exact: dict[str, PhoneVerdict] = {}

    def judge(self, raw: str) -> PhoneVerdict:
        """The verdict on `raw` (a non-empty cell)."""
        digits = normalise(raw).translate(_SEPARATORS)
        if _PLAIN.fullmatch(digits) is None:
            return self._judge_exactly(raw)
        national = digits[3:] if digits[0] == "+" else digits.removeprefix("0")
        verdict = self._judge_range(raw, digits, national)
        if verdict is not None:
            return verdict
        key = digits[:-_SUBSCRIBER_DIGITS]
        block = self._blocks.get(key)
        if block is None:
            return self._judge_block(raw, key, national)
        if block is _NO_REUSE:
            return self._judge_exactly(raw)
        e164 = f"+81{national}" if block.has_e164 else None
        return PhoneVerdict(e164, block.number_class, block.refusal)

    def _judge_range(self, raw: str, digits: str, national: str) -> PhoneVerdict | None:
        """The verdict shared by the widest uniform range of `national`; None: go by blocks."""
        form = len(digits) - len(national)
        for width in _RANGE_DIGITS:
            key = (digits[: form + width], len(digits))
            block = self._ranges.get(key)
            if block is None:
                if len(self._ranges) >= _MAX_BLOCKS:
                    return None
                if uniform(national[:width], len(national)):
                    verdict = _verdict(raw)
                    self._ranges[key] = _block_of(verdict, national)
                    return verdict
                self._ranges[key] = block = _NO_REUSE
            if block is not _NO_REUSE:
                e164 = f"+81{national}" if block.has_e164 else None
                return PhoneVerdict(e164, block.number_class, block.refusal)
        return None

    def _judge_block(self, raw: str, key: str, national: str) -> PhoneVerdict:
        verdict = _verdict(raw)
        if len(self._blocks) < _MAX_BLOCKS:
            self._blocks[key] = _block_of(verdict, national)
        return verdict

    def _judge_exactly(self, raw: str) -> PhoneVerdict:
        verdict = self._exact.get(raw)
        if verdict is None:
            verdict = _verdict(raw)
            if len(self._exact) < _MAX_EXACT:
                self._exact[raw] = verdict
        return verdict


def _block_of(verdict: PhoneVerdict, national: str) -> _Block:
    """What the numbers sharing `verdict`'s range or block reuse; `_NO_REUSE` if E.164 differs."""
    if verdict.e164 is not None and verdict.e164 != f"+81{national}":
        return _NO_REUSE
    return _Block(verdict.e164 is not None, verdict.number_class, verdict.refusal)


def _verdict(raw: str) -> PhoneVerdict:
    check = check_phone(raw)
    number_class = check.number_class.value if check.number_class is not None else None
    refusal = check.refusal.value if check.refusal is not None else None
    return PhoneVerdict(check.e164, number_class, refusal)
