"""Which ranges of Japanese numbers all get the same verdict, read from phonenumbers' metadata.

`check_phone` decides a plain +81 number by length and by whether its national digits fully
match a handful of patterns (phonenumbers' Japanese number types, and `dialer.phones`' own range
rules). When every pattern either matches every number of a range or matches none of them, the
range is *uniform*: one `check_phone` call judges all of it. A random mobile file then costs a
few dozen full judgements (090-1…, 090-2…, …) instead of one per block of 10,000 numbers.

A pattern is tested on the range with the unknown digits written as ``X``, twice: once where only
``\\d`` accepts ``X`` (a match means any digits match: the pattern takes the whole range), once
where every digit, class and ``\\d`` accepts it (no match means no digits can match: the pattern
takes none of it). Anything else, or a pattern with syntax this does not read, is "not uniform",
and the caller falls back to finer blocks. Reading the installed metadata rather than listing
ranges by hand keeps this right across phonenumbers releases.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final

from phonenumbers import PhoneMetadata, PhoneNumberDesc

from dialer.phones import RANGE_RULES

_UNKNOWN: Final = "X"
_ANY_DIGIT: Final = rf"[\d{_UNKNOWN}]"
#: Characters copied as they are: groups, alternatives and quantifiers.
_STRUCTURE: Final = frozenset("()|?:*+")


@cache
def uniform(prefix: str, length: int) -> bool:
    """Whether every national number of `length` digits starting with `prefix` looks alike."""
    patterns = _patterns()
    if patterns is None:
        return False
    unknown = _UNKNOWN * (length - len(prefix))
    # phonenumbers also tests the general pattern on the digits with their trunk 0.
    texts = (f"{prefix}{unknown}", f"0{prefix}{unknown}")
    return all(
        whole.fullmatch(text) is not None or none.fullmatch(text) is None
        for whole, none in patterns
        for text in texts
    )


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], re.Pattern[str]], ...] | None:
    """(takes-the-whole-range, takes-part-of-it) forms of every pattern; None if unreadable."""
    sources = [*_metadata_patterns(), *(rule.pattern for rule, _ in RANGE_RULES)]
    pairs = []
    for source in sources:
        whole, part = _rewrite(source, wildcard=False), _rewrite(source, wildcard=True)
        if whole is None or part is None:
            return None
        pairs.append((re.compile(whole), re.compile(part)))
    return tuple(pairs)


def _metadata_patterns() -> list[str]:
    metadata = PhoneMetadata.metadata_for_region("JP")
    descs = [value for value in vars(metadata).values() if isinstance(value, PhoneNumberDesc)]
    return [desc.national_number_pattern for desc in descs if desc.national_number_pattern]


def _rewrite(pattern: str, *, wildcard: bool) -> str | None:
    """`pattern` with ``X`` accepted by ``\\d`` only, or (`wildcard`) wherever a digit is."""
    out: list[str] = []
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\":
            if pattern[position : position + 2] != r"\d":
                return None
            out.append(_ANY_DIGIT)
            position += 2
            continue
        if char in "[{":
            end = pattern.find("]" if char == "[" else "}", position)
            body = pattern[position:end]
            if end < 0 or body.startswith("[^") or "\\" in body:
                return None
            out.append(
                f"{body}{_UNKNOWN}]" if char == "[" and wildcard else f"{body}{pattern[end]}"
            )
            position = end + 1
            continue
        if char.isdigit():
            out.append(f"[{char}{_UNKNOWN}]" if wildcard else char)
        elif char in _STRUCTURE:
            out.append(char)
        else:
            return None
        position += 1
    return "".join(out)
