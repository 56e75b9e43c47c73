"""Japanese phone numbers: read what people type, classify it, refuse what must not be dialled.

Campaigns call Japanese subscribers only, so every input ends in a `PhoneCheck`: either a
dialable E.164 number (mobile, fixed line, 050 IP phone) or a `Refusal` whose code is stable,
because the CSV importer, the call-list builder and the dashboard store and show it.

Decisions:
- Input is normalised (NFKC plus the Japanese dash variants) and parsed with default region JP,
  so national forms, ``+81`` forms and ``tel:`` URIs parse. ``81 90 1234 5678`` without the
  plus is accepted as +81: phonenumbers strips a leading 81 when the rest is a valid Japanese
  number, and no Japanese number starts with 081, so nothing else could have been meant. A
  national number whose leading 0 a spreadsheet dropped (``9012345678``) parses as well.
- Foreign numbers are refused (``foreign``); so is a number with an extension, which the
  dialer cannot key.
- phonenumbers' number types decide the class, except for the ranges in `RANGE_RULES`, which
  its metadata does not know or (in older releases that pyproject.toml still allows) gets wrong.
- `PhoneCheck` leaves the number out of its repr and `mask` exists because logs may not show a
  phone number in clear.
"""

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, PhoneNumberType

from dialer.errors import DialerError

JAPAN_COUNTRY_CODE: Final = 81
DEFAULT_REGION: Final = "JP"


class NumberClass(StrEnum):
    """What kind of line a valid Japanese number reaches; only three kinds may be dialled."""

    MOBILE = "mobile"
    FIXED = "fixed"
    IP_050 = "ip_050"
    TOLL_FREE = "toll_free"
    NAVI_DIAL = "navi_dial"
    PAGER_M2M = "pager_m2m"
    PERSONAL_NUMBER = "personal_number"
    PREMIUM = "premium"
    SHARED_COST = "shared_cost"
    OTHER_SERVICE = "other_service"

    @property
    def dialable(self) -> bool:
        """Whether outbound telemarketing may call this kind of line."""
        return self in _DIALABLE_CLASSES

    @property
    def label_ja(self) -> str:
        return _LABELS[self.value][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self.value][1]


class Refusal(StrEnum):
    """Why a number may not be dialled. The values are stored and shown: never rename them.

    A refused number class has the refusal code of the same name.
    """

    EMPTY = "empty"
    UNPARSEABLE = "unparseable"
    INVALID = "invalid"
    FOREIGN = "foreign"
    EXTENSION = "extension"
    TOLL_FREE = "toll_free"
    NAVI_DIAL = "navi_dial"
    PAGER_M2M = "pager_m2m"
    PERSONAL_NUMBER = "personal_number"
    PREMIUM = "premium"
    SHARED_COST = "shared_cost"
    OTHER_SERVICE = "other_service"
    #: Learned by calling (`dialer.number_marks`), not by reading the number.
    REPORTED_INVALID = "reported_invalid"
    WRONG_NUMBER = "wrong_number"

    @property
    def label_ja(self) -> str:
        return _LABELS[self.value][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self.value][1]


_LABELS: Final[Mapping[str, tuple[str, str]]] = {
    "mobile": ("携帯電話", "mobile"),
    "fixed": ("固定電話", "fixed line"),
    "ip_050": ("IP電話（050）", "IP phone (050)"),
    "empty": ("電話番号なし", "no phone number"),
    "unparseable": ("電話番号として読めません", "not readable as a phone number"),
    "invalid": ("無効な番号（桁数・番号帯）", "invalid number (length or range)"),
    "foreign": ("海外の番号", "number outside Japan"),
    "extension": ("内線付きの番号", "number with an extension"),
    "toll_free": ("フリーダイヤル（0120・0800）", "toll-free (0120, 0800)"),
    "navi_dial": ("ナビダイヤル（0570）", "navi dial (0570)"),
    "pager_m2m": ("ポケベル・データ通信専用（020）", "pager or M2M data line (020)"),
    "personal_number": ("パーソナル番号・FMC（060）", "personal or FMC number (060)"),
    "premium": ("情報料課金番号（0990）", "premium rate (0990)"),
    "shared_cost": ("料金分担番号", "shared-cost number"),
    "other_service": ("その他の特殊番号（0170・0180 等）", "other service (0170, 0180, ...)"),
    "reported_invalid": ("通信事業者が無効と応答した番号", "reported invalid by the carrier"),
    "wrong_number": ("番号違い（別の方につながった）", "wrong number (someone else answered)"),
}

#: The refusals that calling a number teaches and that the shop's files cannot know of: an
#: import that brings the same number again keeps them (`dialer.number_marks`).
LEARNED_BY_CALLING: Final = frozenset({Refusal.REPORTED_INVALID, Refusal.WRONG_NUMBER})

_DIALABLE_CLASSES: Final = frozenset({NumberClass.MOBILE, NumberClass.FIXED, NumberClass.IP_050})

_TYPE_CLASSES: Final[Mapping[int, NumberClass]] = {
    PhoneNumberType.MOBILE: NumberClass.MOBILE,
    PhoneNumberType.FIXED_LINE: NumberClass.FIXED,
    PhoneNumberType.VOIP: NumberClass.IP_050,
    PhoneNumberType.TOLL_FREE: NumberClass.TOLL_FREE,
    PhoneNumberType.UAN: NumberClass.NAVI_DIAL,
    PhoneNumberType.PAGER: NumberClass.PAGER_M2M,
    PhoneNumberType.PERSONAL_NUMBER: NumberClass.PERSONAL_NUMBER,
    PhoneNumberType.PREMIUM_RATE: NumberClass.PREMIUM,
    PhoneNumberType.SHARED_COST: NumberClass.SHARED_COST,
}

# Matched against the national significant number (no leading 0) before phonenumbers' own
# validity check, for ranges its metadata does not describe the way the numbering plan does.
RANGE_RULES: Final[tuple[tuple[re.Pattern[str], NumberClass], ...]] = (
    # 060-1xxx-xxxx to 060-9xxx-xxxx: mobile since the December 2024 plan revision; releases
    # before then (8.13.0, which pyproject.toml allows, among them) call these invalid.
    (re.compile(r"60[1-9]\d{7}"), NumberClass.MOBILE),
    # 060-0xxx-xxxx: kept for FMC/personal services; phonenumbers calls it invalid.
    (re.compile(r"600\d{7}"), NumberClass.PERSONAL_NUMBER),
    # 0200 + 10 digits: 14-digit M2M numbers (since 2019); phonenumbers knows only 11 digits.
    (re.compile(r"200\d{10}"), NumberClass.PAGER_M2M),
    # 0170 (message dial) and 0180 (tele-dome): no area code starts so, phonenumbers says invalid.
    (re.compile(r"1[78]0\d{6}"), NumberClass.OTHER_SERVICE),
)

# Dashes Japanese input methods and word processors put between digit groups. The wave dashes
# are here because NFKC turns them into "~", which phonenumbers reads as an extension mark.
_DASHES: Final = dict.fromkeys(map(ord, "‐‑‒–—―⁃−ーｰ－﹣〜～"), "-")


@dataclass(frozen=True)
class PhoneCheck:
    """The verdict on one typed number: a dialable E.164 number, or why not.

    `e164` is set whenever the input is a valid number (also a refused service number or a
    valid foreign one), so screens can show what was understood. The number stays out of the
    repr so that logging a check does not leak it.
    """

    raw: str = field(repr=False)
    e164: str | None = field(repr=False)
    number_class: NumberClass | None
    refusal: Refusal | None

    @property
    def dialable(self) -> bool:
        return self.refusal is None and self.e164 is not None


class UndialableNumberError(DialerError):
    """A number was given where only a dialable one will do (a manual call, an API request)."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(f"This number cannot be called: {refusal.label_en} ({refusal.value}).")
        self.refusal = refusal


def check_phone(raw: str | None) -> PhoneCheck:
    """Judge one typed number; never raises, since bad input is the normal case in imports."""
    raw_text = raw or ""
    text = normalise(raw_text)
    if not any(ch.isalnum() for ch in text):
        return PhoneCheck(raw_text, None, None, Refusal.EMPTY)
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
    except NumberParseException:
        return PhoneCheck(raw_text, None, None, Refusal.UNPARSEABLE)
    return _judge(raw_text, number)


def parse_dialable(raw: str | None) -> str:
    """The E.164 form of `raw`, for callers that can do nothing with an undialable number."""
    check = check_phone(raw)
    if check.refusal is None and check.e164 is not None:
        return check.e164
    raise UndialableNumberError(check.refusal or Refusal.INVALID)


def normalise(text: str) -> str:
    """Fold full-width characters and dash variants so that parsing sees one alphabet."""
    return unicodedata.normalize("NFKC", text.translate(_DASHES)).strip()


def mask(e164: str) -> str:
    """The number for logs: country code, first group and last group only (+81 90-****-5678)."""
    number = _parse_e164(e164)
    if number is None:
        return "****"
    parts = re.split(r"(\d+)", phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL))
    groups = [i for i, part in enumerate(parts) if part.isdigit()]
    if len(groups) < 4:
        return _mask_ungrouped(number)
    for i in groups[2:-1]:
        parts[i] = "*" * len(parts[i])
    return "".join(parts)


def last_digits(e164: str, n: int = 4) -> str:
    """The final `n` digits, how agents and customers confirm a number without reading it out."""
    if n < 1:
        raise ValueError(f"n must be at least 1, not {n}")
    return re.sub(r"[^0-9]", "", e164)[-n:]


def format_national(e164: str) -> str:
    """The number as Japanese screens show it (090-1234-5678); foreign ones keep their +code.

    Display must not fail on a bad stored value, so text that is not a number comes back as is.
    """
    number = _parse_e164(e164)
    if number is None:
        return e164
    if number.country_code == JAPAN_COUNTRY_CODE:
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        # Lengths phonenumbers has no pattern for (14-digit M2M) come without the trunk 0.
        return national if national.startswith("0") else f"0{national}"
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def _judge(raw: str, number: PhoneNumber) -> PhoneCheck:
    if number.country_code != JAPAN_COUNTRY_CODE:
        e164 = _e164(number) if phonenumbers.is_valid_number(number) else None
        return PhoneCheck(raw, e164, None, Refusal.FOREIGN)
    number_class = _classify(number)
    if number_class is None:
        return PhoneCheck(raw, None, None, Refusal.INVALID)
    e164 = _e164(number)
    if not number_class.dialable:
        return PhoneCheck(raw, e164, number_class, Refusal(number_class.value))
    if number.extension:
        return PhoneCheck(raw, e164, number_class, Refusal.EXTENSION)
    return PhoneCheck(raw, e164, number_class, None)


def _classify(number: PhoneNumber) -> NumberClass | None:
    """The class of a +81 number, or None when it is not a valid number at all."""
    national = phonenumbers.national_significant_number(number)
    for pattern, number_class in RANGE_RULES:
        if pattern.fullmatch(national):
            return number_class
    if not phonenumbers.is_valid_number(number):
        return None
    return _TYPE_CLASSES.get(phonenumbers.number_type(number), NumberClass.OTHER_SERVICE)


def _e164(number: PhoneNumber) -> str:
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _parse_e164(e164: str) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(e164, None)
    except NumberParseException:
        return None


def _mask_ungrouped(number: PhoneNumber) -> str:
    """Mask a number phonenumbers cannot group: keep at most the last four digits."""
    national = phonenumbers.national_significant_number(number)
    keep = 4 if len(national) > 6 else 0
    hidden = "*" * (len(national) - keep)
    return f"+{number.country_code} {hidden}{national[len(national) - keep :]}"
