import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialer.errors import DialerError
from dialer.phones import (
    NumberClass,
    Refusal,
    UndialableNumberError,
    check_phone,
    format_national,
    last_digits,
    mask,
    parse_dialable,
)


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        pytest.param("090-1234-5678", "+819012345678", id="hyphenated-mobile"),
        pytest.param("09012345678", "+819012345678", id="bare-digits"),
        pytest.param("090 1234 5678", "+819012345678", id="spaces"),
        pytest.param("03(1234)5678", "+81312345678", id="local-part-in-parentheses"),
        pytest.param("03-1234-5678", "+81312345678", id="hyphenated-fixed"),
        pytest.param("(03)1234-5678", "+81312345678", id="area-code-in-parentheses"),
        pytest.param("+81 90 1234 5678", "+819012345678", id="international-spaces"),
        pytest.param("+81-3-1234-5678", "+81312345678", id="international-hyphens"),
        pytest.param("+81 (0)90-1234-5678", "+819012345678", id="international-with-trunk-0"),
        pytest.param("81 90 1234 5678", "+819012345678", id="country-code-without-plus"),
        pytest.param("010-81-90-1234-5678", "+819012345678", id="dialled-from-japan"),
        pytest.param("tel:+81-90-1234-5678", "+819012345678", id="tel-uri"),
        pytest.param("tel:090-1234-5678", "+819012345678", id="tel-uri-national"),
        pytest.param("TEL：090-1234-5678", "+819012345678", id="tel-label"),
        pytest.param("  090-1234-5678\n", "+819012345678", id="surrounding-whitespace"),
        pytest.param("9012345678", "+819012345678", id="spreadsheet-dropped-leading-0"),
    ],
)
def test_typed_forms_parse_to_e164(typed: str, e164: str) -> None:
    assert check_phone(typed).e164 == e164


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        pytest.param("０９０－１２３４－５６７８", "+819012345678", id="full-width-minus"),
        pytest.param("０９０ー１２３４ー５６７８", "+819012345678", id="long-vowel-mark"),
        pytest.param("090‐1234‐5678", "+819012345678", id="hyphen-u2010"),
        pytest.param("090−1234−5678", "+819012345678", id="minus-sign"),
        pytest.param("090ｰ1234ｰ5678", "+819012345678", id="half-width-long-vowel-mark"),
        pytest.param("090～1234～5678", "+819012345678", id="wave-dash"),
        pytest.param("０３（１２３４）５６７８", "+81312345678", id="full-width-parentheses"),
        pytest.param(
            "\u3000０３\u3000１２３４\u3000５６７８\u3000", "+81312345678", id="ideographic-space"
        ),
        pytest.param("＋８１　９０　１２３４　５６７８", "+819012345678", id="full-width-plus"),
    ],
)
def test_full_width_and_japanese_dashes_are_understood(typed: str, e164: str) -> None:
    check = check_phone(typed)
    assert check.e164 == e164
    assert check.dialable


@pytest.mark.parametrize(
    ("typed", "number_class"),
    [
        pytest.param("090-1234-5678", NumberClass.MOBILE, id="090"),
        pytest.param("080-1234-5678", NumberClass.MOBILE, id="080"),
        pytest.param("070-1234-5678", NumberClass.MOBILE, id="070"),
        pytest.param("060-1234-5678", NumberClass.MOBILE, id="060-11-digits"),
        pytest.param("060-9876-5432", NumberClass.MOBILE, id="060-9"),
        pytest.param("03-1234-5678", NumberClass.FIXED, id="tokyo-03"),
        pytest.param("06-1234-5678", NumberClass.FIXED, id="osaka-06"),
        pytest.param("0466-23-1234", NumberClass.FIXED, id="fujisawa-0466"),
        pytest.param("011-211-2111", NumberClass.FIXED, id="sapporo-011"),
        pytest.param("050-1234-5678", NumberClass.IP_050, id="ip-050"),
    ],
)
def test_dialable_classes(typed: str, number_class: NumberClass) -> None:
    check = check_phone(typed)
    assert check.number_class is number_class
    assert check.refusal is None
    assert check.dialable


@pytest.mark.parametrize(
    ("typed", "refusal"),
    [
        pytest.param("0120-123-456", Refusal.TOLL_FREE, id="free-dial-0120"),
        pytest.param("0800-123-4567", Refusal.TOLL_FREE, id="free-dial-0800"),
        pytest.param("0570-012-345", Refusal.NAVI_DIAL, id="navi-dial-0570"),
        pytest.param("020-1234-5678", Refusal.PAGER_M2M, id="m2m-020-11-digits"),
        pytest.param("0200-1234-5678-90", Refusal.PAGER_M2M, id="m2m-0200-14-digits"),
        pytest.param("0600-123-456", Refusal.PERSONAL_NUMBER, id="personal-0600-10-digits"),
        pytest.param("060-123-4567", Refusal.PERSONAL_NUMBER, id="personal-060-10-digits"),
        pytest.param("060-0123-4567", Refusal.PERSONAL_NUMBER, id="fmc-0600-11-digits"),
        pytest.param("0990-123-456", Refusal.PREMIUM, id="premium-0990"),
        pytest.param("0180-99-1234", Refusal.OTHER_SERVICE, id="tele-dome-0180"),
        pytest.param("0170-12-3456", Refusal.OTHER_SERVICE, id="message-dial-0170"),
    ],
)
def test_service_numbers_are_refused_with_their_class(typed: str, refusal: Refusal) -> None:
    check = check_phone(typed)
    assert check.refusal is refusal
    assert check.number_class is not None
    assert check.number_class.value == refusal.value
    assert check.e164 is not None
    assert not check.dialable


@pytest.mark.parametrize(
    ("typed", "refusal"),
    [
        pytest.param(None, Refusal.EMPTY, id="none"),
        pytest.param("", Refusal.EMPTY, id="empty-string"),
        pytest.param(" \u3000\t", Refusal.EMPTY, id="whitespace"),
        pytest.param("ー", Refusal.EMPTY, id="dash-placeholder"),
        pytest.param("なし", Refusal.UNPARSEABLE, id="japanese-word"),
        pytest.param("abc", Refusal.UNPARSEABLE, id="letters"),
        pytest.param("03-1234-5678 内線12", Refusal.UNPARSEABLE, id="japanese-extension-text"),
        pytest.param("1" * 300, Refusal.UNPARSEABLE, id="far-too-long"),
        pytest.param("090-1234-567", Refusal.INVALID, id="mobile-one-digit-short"),
        pytest.param("090-1234-56789", Refusal.INVALID, id="mobile-one-digit-long"),
        pytest.param("03-1234-567", Refusal.INVALID, id="fixed-too-short"),
        pytest.param("0312-3456-7890", Refusal.INVALID, id="fixed-too-long"),
        pytest.param("050-123-4567", Refusal.INVALID, id="ip-too-short"),
        pytest.param("0600-1234-56789", Refusal.INVALID, id="0600-too-long"),
        pytest.param("0081-90-1234-5678", Refusal.INVALID, id="foreign-exit-code"),
        pytest.param("+1 202-555-0123", Refusal.FOREIGN, id="us"),
        pytest.param("+86 10 1234 5678", Refusal.FOREIGN, id="china"),
        pytest.param("090-1234-5678 ext. 12", Refusal.EXTENSION, id="extension"),
        pytest.param("tel:+81-3-1234-5678;ext=1", Refusal.EXTENSION, id="tel-uri-extension"),
    ],
)
def test_unusable_input_gets_a_reason(typed: str | None, refusal: Refusal) -> None:
    check = check_phone(typed)
    assert check.refusal is refusal
    assert not check.dialable


def test_invalid_numbers_carry_no_e164() -> None:
    check = check_phone("090-1234-567")
    assert check.e164 is None
    assert check.number_class is None


def test_valid_foreign_number_keeps_its_e164_for_display() -> None:
    check = check_phone("+1 202-555-0123")
    assert check.e164 == "+12025550123"
    assert check.number_class is None


def test_none_input_is_recorded_as_empty_raw() -> None:
    assert check_phone(None).raw == ""


def test_raw_input_is_kept_as_typed() -> None:
    assert check_phone("０９０－１２３４－５６７８").raw == "０９０－１２３４－５６７８"


def test_check_repr_does_not_show_the_number() -> None:
    text = repr(check_phone("090-1234-5678"))
    assert "1234" not in text
    assert "5678" not in text


def test_parse_dialable_returns_e164() -> None:
    assert parse_dialable("080-1234-5678") == "+818012345678"


def test_parse_dialable_raises_domain_error_with_reason() -> None:
    with pytest.raises(UndialableNumberError) as caught:
        parse_dialable("0120-123-456")
    assert caught.value.refusal is Refusal.TOLL_FREE
    assert isinstance(caught.value, DialerError)


def test_undialable_error_message_does_not_repeat_the_number() -> None:
    with pytest.raises(UndialableNumberError) as caught:
        parse_dialable("0990-123-456")
    assert "123" not in str(caught.value)
    assert "premium" in str(caught.value)


@pytest.mark.parametrize("code", [*Refusal, *NumberClass], ids=str)
def test_every_code_has_both_labels(code: Refusal | NumberClass) -> None:
    assert code.label_ja
    assert code.label_en
    assert code.label_ja != code.label_en


@pytest.mark.parametrize("number_class", list(NumberClass), ids=str)
def test_each_refused_class_has_the_refusal_of_the_same_code(number_class: NumberClass) -> None:
    if not number_class.dialable:
        assert Refusal(number_class.value).value == number_class.value


def test_refusal_codes_are_stable() -> None:
    assert [r.value for r in Refusal] == [
        "empty",
        "unparseable",
        "invalid",
        "foreign",
        "extension",
        "toll_free",
        "navi_dial",
        "pager_m2m",
        "personal_number",
        "premium",
        "shared_cost",
        "other_service",
        "reported_invalid",
        "wrong_number",
    ]


def test_labels_read_as_japanese_for_the_dashboard() -> None:
    assert Refusal.TOLL_FREE.label_ja == "フリーダイヤル（0120・0800）"
    assert NumberClass.MOBILE.label_ja == "携帯電話"


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        pytest.param("+819012345678", "+81 90-****-5678", id="mobile"),
        pytest.param("+81312345678", "+81 3-****-5678", id="tokyo"),
        pytest.param("+81466231234", "+81 466-**-1234", id="four-digit-area-code"),
        pytest.param("+81120123456", "+81 120-***-456", id="toll-free"),
        pytest.param("+812001234567890", "+81 *********7890", id="ungrouped-m2m"),
        pytest.param("+12025550123", "+1 202-***-0123", id="foreign"),
        pytest.param("not a number", "****", id="garbage"),
    ],
)
def test_mask_hides_the_middle(e164: str, masked: str) -> None:
    assert mask(e164) == masked


def test_last_digits_defaults_to_four() -> None:
    assert last_digits("+819012345678") == "5678"


def test_last_digits_takes_a_count() -> None:
    assert last_digits("+819012345678", n=2) == "78"


def test_last_digits_rejects_a_count_below_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        last_digits("+819012345678", n=0)


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        pytest.param("+819012345678", "090-1234-5678", id="mobile"),
        pytest.param("+816012345678", "060-1234-5678", id="060-mobile"),
        pytest.param("+81312345678", "03-1234-5678", id="tokyo"),
        pytest.param("+81612345678", "06-1234-5678", id="osaka"),
        pytest.param("+81466231234", "0466-23-1234", id="fujisawa"),
        pytest.param("+815012345678", "050-1234-5678", id="ip"),
        pytest.param("+81120123456", "0120-123-456", id="toll-free"),
        pytest.param("+812001234567890", "02001234567890", id="m2m-14-digits"),
        pytest.param("+12025550123", "+1 202-555-0123", id="foreign-stays-international"),
        pytest.param("garbage", "garbage", id="unparseable-passes-through"),
    ],
)
def test_format_national(e164: str, shown: str) -> None:
    assert format_national(e164) == shown


@given(st.text())
def test_check_phone_never_raises(text: str) -> None:
    check = check_phone(text)
    assert check.dialable == (check.refusal is None)


phone_like = st.one_of(
    st.from_regex(r"\A(\+81|0)[0-9０-９ー\-() ]{8,14}\Z"),
    st.builds(
        lambda prefix, rest: prefix + rest,
        st.sampled_from(["090", "080", "070", "060", "050", "03", "06", "0466", "0120", "020"]),
        st.text(alphabet="0123456789", min_size=6, max_size=9),
    ),
)


@given(phone_like)
def test_dialable_results_round_trip(text: str) -> None:
    check = check_phone(text)
    if check.dialable:
        assert check.e164 is not None
        again = check_phone(check.e164)
        assert again.e164 == check.e164
        assert again.number_class is check.number_class
        assert again.dialable
