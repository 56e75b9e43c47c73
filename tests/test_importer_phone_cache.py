"""The importer's cached phone verdicts are exactly `dialer.phones.check_phone`'s."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.importer.phone_cache import PhoneJudge, PhoneVerdict
from dialer.importer.phone_ranges import uniform
from dialer.phones import check_phone


def _expected(raw: str) -> PhoneVerdict:
    check = check_phone(raw)
    return PhoneVerdict(
        check.e164,
        check.number_class.value if check.number_class else None,
        check.refusal.value if check.refusal else None,
    )


def _numbers_of_every_range(rng: random.Random) -> list[str]:
    """Numbers of 10 and 11 digits after every two- and three-digit prefix, several per block."""
    numbers: list[str] = []
    for prefix in range(10, 1000):
        for length in (10, 11):
            head = f"0{prefix}"
            middle_digits = length - len(head) - 4
            for _ in range(3):
                middle = "".join(rng.choice("0123456789") for _ in range(middle_digits))
                numbers.extend(f"{head}{middle}{rng.randrange(10_000):04d}" for _ in range(3))
    return numbers


def test_every_range_gets_check_phones_verdict_in_every_written_form() -> None:
    judge = PhoneJudge()
    rng = random.Random(20261123)
    mismatches: list[str] = []
    for number in _numbers_of_every_range(rng):
        forms = (number, number[1:], f"{number[:3]}-{number[3:7]}-{number[7:]}", f"+81{number[1:]}")
        mismatches.extend(form for form in forms if judge.judge(form) != _expected(form))
    assert mismatches == []


@pytest.mark.parametrize(
    "raw",
    [
        "090-1234-5678",
        "０９０－１２３４－５６７８",
        "(03) 1234-5678",
        "03（1234）5678",
        "+81 90 1234 5678",
        "81 90 1234 5678",
        "0120-123-456",
        "0570-000-123",
        "0990-123-456",
        "020-1234-5678",
        "060-1234-5678",
        "0600-123-456",
        "0170-123-456",
        "090-1234-5678 内線 12",
        "090-1234-567",
        "不明",
        "+1 212 555 0100",
        "010-1-212-555-0100",
        "8112345678",
    ],
)
def test_awkward_inputs_match_check_phone(raw: str) -> None:
    judge = PhoneJudge()
    assert judge.judge(raw) == _expected(raw)
    assert judge.judge(raw) == _expected(raw)  # from the cache, the second time


def test_the_second_number_of_a_block_is_judged_from_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    judge = PhoneJudge()
    judge.judge("090-1234-0000")
    monkeypatch.setattr("dialer.importer.phone_cache.check_phone", _refuse_to_be_called)
    assert judge.judge("09012349999") == PhoneVerdict("+819012349999", "mobile", None)


def _refuse_to_be_called(raw: str) -> None:
    raise AssertionError(f"check_phone called for {raw!r}")


def test_a_mobile_range_is_judged_once_for_all_its_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    judge = PhoneJudge()
    judge.judge("090-1234-0000")
    monkeypatch.setattr("dialer.importer.phone_cache.check_phone", _refuse_to_be_called)
    assert judge.judge("090-1999-8888") == PhoneVerdict("+819019998888", "mobile", None)


@pytest.mark.parametrize(
    ("prefix", "length", "expected"),
    [("901", 10, True), ("90", 10, False), ("312", 9, True), ("60", 10, False)],
)
def test_a_range_is_uniform_only_when_every_pattern_decides_it(
    prefix: str, length: int, expected: bool
) -> None:
    assert uniform(prefix, length) is expected


@settings(max_examples=400, deadline=None)
@given(
    prefix=st.integers(min_value=10, max_value=99_999),
    length=st.sampled_from([10, 11]),
    first=st.integers(min_value=0, max_value=10**6 - 1),
    second=st.integers(min_value=0, max_value=10**6 - 1),
)
def test_two_numbers_of_one_range_each_get_check_phones_verdict(
    prefix: int, length: int, first: int, second: int
) -> None:
    """Whatever the judge remembered from the first number of a range (up to five leading
    digits), the second gets exactly `check_phone`'s verdict."""
    head = f"0{prefix}"
    rest = length - len(head)
    judge = PhoneJudge()
    for tail in (first, second):
        number = head + f"{tail % 10**rest:0{rest}d}"
        assert judge.judge(number) == _expected(number), number
