"""GS1 UDIs, with cases written from the GS1 General Specifications (GenSpecs).

GTIN-14 09506000134352 is the GS1 example GTIN used throughout the GenSpecs and the
Digital Link standard.
"""

from datetime import date

import pytest

from protocols.udi import GS, Udi, UdiError, inspect_udi

GTIN = "09506000134352"


def _check_digit(payload: str) -> int:
    """GenSpecs 7.9.1, independently of the code under test: weights 3,1,3,... from the right."""
    total = sum(int(digit) * (3 if i % 2 == 0 else 1) for i, digit in enumerate(reversed(payload)))
    return (10 - total % 10) % 10


def _problems(text: str) -> tuple[str, ...]:
    return inspect_udi(text)[1]


# --- GTIN check digit (GenSpecs 7.9.1) -------------------------------------------------


@pytest.mark.parametrize(
    "gtin",
    [
        "09506000134352",  # GS1 example GTIN-14 (a GTIN-13 padded with 0)
        "10614141007346",  # GTIN-14 with indicator digit 1
        "00614141999996",  # GTIN-12 (UPC-A) in 14 digits
        "06291041500213",  # GenSpecs' worked example: 629104150021 -> check digit 3
    ],
)
def test_a_gtin_with_its_check_digit_is_the_di(gtin: str) -> None:
    assert _check_digit(gtin[:-1]) == int(gtin[-1])

    udi = Udi.parse(f"01{gtin}")

    assert (udi.issuer, udi.di) == ("GS1", gtin)


def test_a_wrong_check_digit_is_named_with_the_expected_digit() -> None:
    assert _problems("0109506000134353") == (
        "Invalid GTIN check digit for '09506000134353': Expected 2, got 3.",
    )


def test_a_wrong_check_digit_still_shows_which_di_was_printed() -> None:
    udi, _ = inspect_udi("0109506000134353")

    assert udi is not None
    assert udi.di == "09506000134353"


def test_any_check_digit_biip_reports_is_a_problem() -> None:
    # AI (414) is a GLN; biip parses it and only sets gln_error.
    assert _problems(f"01{GTIN}4149506000134353") == (
        "Invalid GLN check digit for '9506000134353': Expected 2, got 3.",
    )


def test_a_gtin_too_short_for_ai_01_is_reported_with_the_pattern() -> None:
    assert _problems("01950600013435") == (
        "Failed to match '01950600013435' with GS1 AI (01) pattern '^01(\\d{14})$'.",
        "No device identifier in '01950600013435': Expected GS1 AI (01) GTIN.",
    )


# --- Dates, AI (11) and (17) (GenSpecs 3.4.2, 3.4.7, 7.12) -------------------------------


@pytest.mark.parametrize(
    ("expiry", "expected"),
    [
        ("251231", date(2025, 12, 31)),
        ("250200", date(2025, 2, 28)),  # DD=00: last day of the month
        ("240200", date(2024, 2, 29)),  # ... of a leap year's February
        ("000200", date(2000, 2, 29)),  # 2000 is a leap year (divisible by 400)
        ("240229", date(2024, 2, 29)),
        ("250400", date(2025, 4, 30)),
        ("251200", date(2025, 12, 31)),
    ],
)
def test_expiry_dates_follow_the_genspecs(expiry: str, expected: date) -> None:
    assert Udi.parse(f"01{GTIN}17{expiry}").expiry == expected


def test_production_date_is_ai_11() -> None:
    udi = Udi.parse(f"01{GTIN}11240115")

    assert (udi.production_date, udi.expiry) == (date(2024, 1, 15), None)


@pytest.mark.parametrize(
    ("ai", "value", "problem"),
    [
        ("17", "250229", "Expected a day from 00 to 28 in 2025-02, got 29."),
        ("17", "250431", "Expected a day from 00 to 30 in 2025-04, got 31."),
        ("17", "251232", "Expected a day from 00 to 31 in 2025-12, got 32."),
        ("17", "251301", "Expected a month from 01 to 12, got 13."),
        ("11", "250001", "Expected a month from 01 to 12, got 00."),
    ],
)
def test_impossible_dates_are_problems(ai: str, value: str, problem: str) -> None:
    assert _problems(f"01{GTIN}{ai}{value}") == (
        f"Invalid GS1 AI ({ai}) date '{value}': {problem}",
    )


def test_a_short_date_is_a_problem() -> None:
    assert _problems(f"01{GTIN}172512") == (
        "Invalid GS1 AI (17) date '2512': Expected 6 digits (YYMMDD), got 4 characters.",
    )


# --- Variable-length AIs (10) and (21), GS as FNC1 (GenSpecs 5.10.2, 7.8.6) ---------------


def test_lot_ended_by_gs_then_a_fixed_length_ai() -> None:
    udi = Udi.parse(f"01{GTIN}10ABC-123{GS}17251231")

    assert (udi.lot, udi.expiry) == ("ABC-123", date(2025, 12, 31))


def test_lot_and_serial_each_ended_by_gs() -> None:
    udi = Udi.parse(f"01{GTIN}10LOT1{GS}21SER/1{GS}11240101")

    assert (udi.lot, udi.serial, udi.production_date) == ("LOT1", "SER/1", date(2024, 1, 1))


def test_the_last_field_needs_no_gs_and_a_trailing_gs_is_ignored() -> None:
    assert Udi.parse(f"01{GTIN}21S1{GS}").serial == "S1"


def test_without_a_gs_a_variable_field_runs_to_the_end() -> None:
    # GenSpecs: FNC1 must end every variable-length field that is not last; without it
    # the serial's AI is read as part of the lot.
    assert Udi.parse(f"01{GTIN}10ABC21XYZ").lot == "ABC21XYZ"


def test_a_lot_of_20_characters_is_the_longest() -> None:
    assert Udi.parse(f"01{GTIN}10{'L' * 20}").lot == "L" * 20


def test_a_lot_over_20_characters_is_a_problem_and_the_rest_is_still_read() -> None:
    udi, problems = inspect_udi(f"01{GTIN}10{'L' * 21}{GS}21S1")

    assert problems == (
        f"Invalid GS1 AI (10) BATCH/LOT '{'L' * 21}': Expected at most 20 characters, got 21.",
    )
    assert udi is not None
    assert (udi.lot, udi.serial) == (None, "S1")


def test_a_serial_over_20_characters_is_a_problem() -> None:
    assert _problems(f"01{GTIN}21{'9' * 25}") == (
        f"Invalid GS1 AI (21) SERIAL '{'9' * 25}': Expected at most 20 characters, got 25.",
    )


def test_a_character_outside_gs1_set_82_is_a_problem() -> None:
    assert _problems(f"01{GTIN}10AB C") == (
        "Failed to match '10AB C' with GS1 AI (10) pattern '^10([!%-?A-Z_a-z\\x22]{1,20})$'.",
    )


def test_another_separator_character_can_be_configured() -> None:
    udi = Udi.parse(f"01{GTIN}10ABC|21XYZ|17251231", separators=("|",))

    assert (udi.lot, udi.serial, udi.expiry) == ("ABC", "XYZ", date(2025, 12, 31))


def test_several_separator_characters_can_be_configured() -> None:
    udi = Udi.parse(f"01{GTIN}10ABC|21XYZ{GS}17251231", separators=("|", GS))

    assert (udi.lot, udi.serial) == ("ABC", "XYZ")


def test_an_unknown_ai_stops_the_reading_and_is_named() -> None:
    assert _problems(f"01{GTIN}2345") == ("Failed to get GS1 Application Identifier from '2345'.",)


def test_a_repeated_ai_with_another_value_is_a_problem() -> None:
    assert _problems(f"01{GTIN}10A{GS}10B") == ("Conflicting values for GS1 AI (10): 'A' and 'B'.",)


def test_no_gtin_means_no_udi() -> None:
    assert inspect_udi(f"17251231{GS}10ABC") == (
        None,
        ("No device identifier in '17251231\\x1d10ABC': Expected GS1 AI (01) GTIN.",),
    )


def test_every_problem_is_listed_not_only_the_first() -> None:
    text = f"0109506000134353172502301125130110{'X' * 22}{GS}21{'Y' * 21}"

    assert _problems(text) == (
        "Invalid GTIN check digit for '09506000134353': Expected 2, got 3.",
        "Invalid GS1 AI (17) date '250230': Expected a day from 00 to 28 in 2025-02, got 30.",
        "Invalid GS1 AI (11) date '251301': Expected a month from 01 to 12, got 13.",
        f"Invalid GS1 AI (10) BATCH/LOT '{'X' * 22}': Expected at most 20 characters, got 22.",
        f"Invalid GS1 AI (21) SERIAL '{'Y' * 21}': Expected at most 20 characters, got 21.",
    )


# --- Symbology identifiers (GenSpecs 5.1.2, ISO/IEC 15424) -------------------------------


@pytest.mark.parametrize("symbology", ["]d2", "]C1", "]Q3", "]e0"])
def test_gs1_symbology_identifiers_are_kept_and_stripped(symbology: str) -> None:
    udi = Udi.parse(f"{symbology}01{GTIN}17251231")

    assert (udi.symbology, udi.di, udi.raw) == (symbology, GTIN, f"{symbology}01{GTIN}17251231")


def test_an_element_string_under_a_non_gs1_symbology_is_a_problem() -> None:
    # ]C0 is Code 128 without FNC1 first: the symbol is not GS1-128.
    assert _problems(f"]C001{GTIN}") == (
        "Symbology identifier ']C0' does not mark GS1 data: Expected one of ']C1', ']d2', "
        "']Q3', ']e0' before a GS1 element string.",
    )


def test_an_ean_13_carries_a_di_only() -> None:
    udi = Udi.parse("]E09506000134352")

    assert (udi.di, udi.lot, udi.symbology) == (GTIN, None, "]E0")


# --- Human-readable text (GenSpecs 4.15) --------------------------------------------------


def test_the_human_readable_form() -> None:
    udi = Udi.parse(f"(01){GTIN}(11)240115(17)260100(10)ABC123(21)S-0001")

    assert (udi.di, udi.production_date, udi.expiry, udi.lot, udi.serial) == (
        GTIN,
        date(2024, 1, 15),
        date(2026, 1, 31),
        "ABC123",
        "S-0001",
    )


def test_the_human_readable_form_lists_every_problem() -> None:
    assert _problems(f"(01)09506000134353(17)250230(10){'L' * 21}") == (
        "Invalid GTIN check digit for '09506000134353': Expected 2, got 3.",
        "Invalid GS1 AI (17) date '250230': Expected a day from 00 to 28 in 2025-02, got 30.",
        f"Invalid GS1 AI (10) BATCH/LOT '{'L' * 21}': Expected at most 20 characters, got 21.",
    )


def test_an_unknown_ai_in_the_human_readable_form() -> None:
    assert _problems(f"(01){GTIN}(23)X") == (
        f"Unknown GS1 Application Identifier '23' in '(01){GTIN}(23)X'.",
    )


# --- GS1 Digital Link URIs ----------------------------------------------------------------


def test_a_digital_link_with_path_qualifiers_and_query_attributes() -> None:
    udi = Udi.parse(f"https://id.gs1.org/01/{GTIN}/10/ABC/21/123?17=251231&11=240101")

    assert (udi.di, udi.lot, udi.serial, udi.expiry, udi.production_date) == (
        GTIN,
        "ABC",
        "123",
        date(2025, 12, 31),
        date(2024, 1, 1),
    )


def test_a_digital_link_on_a_custom_domain_with_a_path_prefix() -> None:
    udi = Udi.parse(f"https://example.com/products/x/01/{GTIN}/10/AB%2FC?linkType=all")

    assert (udi.di, udi.lot) == (GTIN, "AB/C")


def test_a_digital_link_pads_a_gtin_13_to_14_digits() -> None:
    assert Udi.parse("https://id.gs1.org/01/9506000134352").di == GTIN


def test_a_digital_link_lists_every_problem() -> None:
    uri = f"https://id.gs1.org/01/09506000134353/10/{'L' * 21}?17=250230"

    assert _problems(uri) == (
        "Invalid GTIN check digit for '09506000134353': Expected 2, got 3.",
        f"Invalid GS1 AI (10) BATCH/LOT '{'L' * 21}': Expected at most 20 characters, got 21.",
        "Invalid GS1 AI (17) date '250230': Expected a day from 00 to 28 in 2025-02, got 30.",
    )


def test_a_digital_link_without_a_gtin_is_not_a_udi() -> None:
    uri = "https://id.gs1.org/00/095060001343520000"  # an SSCC: a logistic unit

    assert inspect_udi(uri) == (
        None,
        (f"No device identifier in '{uri}': Expected GS1 AI (01) GTIN.",),
    )


def test_parse_raises_with_every_problem_and_the_raw_text() -> None:
    with pytest.raises(UdiError) as caught:
        Udi.parse("(01)09506000134353(17)250230")

    assert caught.value.raw == "(01)09506000134353(17)250230"
    assert caught.value.problems == (
        "Invalid GTIN check digit for '09506000134353': Expected 2, got 3.",
        "Invalid GS1 AI (17) date '250230': Expected a day from 00 to 28 in 2025-02, got 30.",
    )
    assert isinstance(caught.value, ValueError)
