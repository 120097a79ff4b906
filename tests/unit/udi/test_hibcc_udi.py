"""HIBC LIC UDIs, with cases written from ANSI/HIBC 2.6 (see shared/HIBCC.md)."""

from datetime import date

import pytest

from protocols.hibcc import hibc_check_character, parse_hibc
from protocols.udi import Udi, inspect_udi, inspect_udi_reads

PRIMARY = "+A99912345"
DI = "A99912345"


def with_check(data: str) -> str:
    return data + hibc_check_character(data)


def _problems(text: str) -> tuple[str, ...]:
    return inspect_udi(text)[1]


# --- Check character ---------------------------------------------------------------------


def test_check_character_of_the_standards_example() -> None:
    # + A 9 9 9 1 2 3 4 5 / $ $ 5 2 0 0 1 5 1 0 X 3 sums to 261; 261 mod 43 = 3.
    assert hibc_check_character("+A99912345/$$52001510X3") == "3"


def test_check_character_with_supplemental_data() -> None:
    # 261 + "/16D20111212" (70) + "/S77DE1G45" (135) = 466; 466 mod 43 = 36, i.e. "-".
    assert hibc_check_character("+A99912345/$$52001510X3/16D20111212/S77DE1G45") == "-"


def test_a_wrong_check_character_is_named_with_the_expected_one() -> None:
    assert _problems("+A99912345/$$52001510X34") == (
        "Invalid HIBC check character for '+A99912345/$$52001510X34': Expected '3', got '4'.",
    )


def test_a_wrong_check_character_still_shows_the_di() -> None:
    udi, _ = inspect_udi("+A99912345/$$52001510X34")

    assert udi is not None
    assert udi.di == DI


def test_a_space_check_character_is_not_stripped() -> None:
    assert hibc_check_character("+A999021") == " "

    assert Udi.parse("+A999021 \r\n").di == "A999021"


# --- The examples in HIBCC.md ------------------------------------------------------------


def test_concatenated_example() -> None:
    udi = Udi.parse("+A99912345/$$52001510X33")

    assert (udi.issuer, udi.di, udi.expiry, udi.lot, udi.serial) == (
        "HIBCC",
        DI,
        date(2020, 1, 15),
        "10X3",
        None,
    )


def test_concatenated_example_with_supplemental_data() -> None:
    udi = Udi.parse("+A99912345/$$52001510X3/16D20111212/S77DE1G45-")

    assert (udi.di, udi.expiry, udi.lot, udi.production_date, udi.serial) == (
        DI,
        date(2020, 1, 15),
        "10X3",
        date(2011, 12, 12),
        "77DE1G45",
    )


# --- Every secondary form, concatenated and as a separate symbol --------------------------

FORMS = [
    # (secondary data, lot, serial, expiry)
    ("$LOT7", "LOT7", None, None),
    ("$+SER7", None, "SER7", None),
    ("$$0925LOT7", "LOT7", None, date(2025, 9, 30)),  # MMYY: the month's last day
    ("$$1224LOT7", "LOT7", None, date(2024, 12, 31)),
    ("$$0224LOT7", "LOT7", None, date(2024, 2, 29)),  # leap year
    ("$$2092825LOT7", "LOT7", None, date(2025, 9, 28)),  # MMDDYY
    ("$$3250928LOT7", "LOT7", None, date(2025, 9, 28)),  # YYMMDD
    ("$$425092822LOT7", "LOT7", None, date(2025, 9, 28)),  # YYMMDDHH
    ("$$525271LOT7", "LOT7", None, date(2025, 9, 28)),  # YYJJJ
    ("$$524366LOT7", "LOT7", None, date(2024, 12, 31)),  # day 366 of a leap year
    ("$$62527122LOT7", "LOT7", None, date(2025, 9, 28)),  # YYJJJHH
    ("$$7LOT7", "LOT7", None, None),
    ("$$+0925SER7", None, "SER7", date(2025, 9, 30)),
    ("$$+2092825SER7", None, "SER7", date(2025, 9, 28)),
    ("$$+3250928SER7", None, "SER7", date(2025, 9, 28)),
    ("$$+425092822SER7", None, "SER7", date(2025, 9, 28)),
    ("$$+525271SER7", None, "SER7", date(2025, 9, 28)),
    ("$$+62527122SER7", None, "SER7", date(2025, 9, 28)),
    ("$$+7SER7", None, "SER7", None),
    ("25271LOT7", "LOT7", None, date(2025, 9, 28)),  # older form: YYJJJ then lot
]


@pytest.mark.parametrize(("secondary", "lot", "serial", "expiry"), FORMS)
def test_secondary_form_concatenated(
    secondary: str, lot: str | None, serial: str | None, expiry: date | None
) -> None:
    udi = Udi.parse(with_check(f"{PRIMARY}/{secondary}"))

    assert (udi.di, udi.lot, udi.serial, udi.expiry) == (DI, lot, serial, expiry)


@pytest.mark.parametrize(("secondary", "lot", "serial", "expiry"), FORMS)
def test_secondary_form_as_a_separate_symbol(
    secondary: str, lot: str | None, serial: str | None, expiry: date | None
) -> None:
    primary = with_check(PRIMARY)
    second = with_check(f"+{secondary}{primary[-1]}")

    udi = Udi.parse_reads([primary, second])

    assert (udi.di, udi.lot, udi.serial, udi.expiry) == (DI, lot, serial, expiry)


@pytest.mark.parametrize(
    ("secondary", "quantity", "expiry", "lot"),
    [
        ("$$824", 24, None, None),
        ("$$8243250928LOT7", 24, date(2025, 9, 28), "LOT7"),
        ("$$8240925LOT7", 24, date(2025, 9, 30), "LOT7"),
        ("$$8247LOT7", 24, None, "LOT7"),
        ("$$900100525271LOT7", 100, date(2025, 9, 28), "LOT7"),
        ("$$9001007LOT7", 100, None, "LOT7"),
        ("$$900100", 100, None, None),
    ],
)
def test_quantity_forms(
    secondary: str, quantity: int, expiry: date | None, lot: str | None
) -> None:
    data = parse_hibc(with_check(f"{PRIMARY}/{secondary}"))

    assert (data.quantity, data.expiry, data.lot, data.problems) == (quantity, expiry, lot, ())


def test_supplemental_expiry_and_production_dates() -> None:
    udi = Udi.parse(with_check(f"{PRIMARY}/$LOT7/14D20251231/16D20240101"))

    assert (udi.lot, udi.expiry, udi.production_date) == (
        "LOT7",
        date(2025, 12, 31),
        date(2024, 1, 1),
    )


def test_supplemental_data_without_a_lot() -> None:
    udi = Udi.parse(with_check(f"{PRIMARY}/S12345/16D20240101"))

    assert (udi.lot, udi.serial, udi.production_date) == (None, "12345", date(2024, 1, 1))


# --- Separate symbols and the link character ---------------------------------------------


def test_a_link_character_that_is_not_the_primarys_check_character() -> None:
    primary = with_check(PRIMARY)  # check character "7"
    second = with_check("+$$3251231LOT7X")

    assert inspect_udi_reads([primary, second])[1] == (
        f"Invalid HIBC link character in '{second}': Expected '7' "
        f"(the check character of '{primary}'), got 'X'.",
    )


def test_a_secondary_symbol_alone_has_no_device_identifier() -> None:
    second = with_check("+$$3251231LOT77")

    assert inspect_udi(second) == (
        None,
        (
            f"No device identifier in '{second}': Expected HIBC primary data (labeler code, "
            "product number, unit of measure), got secondary data only.",
        ),
    )


def test_a_primary_alone_is_a_di_only_udi() -> None:
    udi = Udi.parse(with_check(PRIMARY))

    assert (udi.di, udi.lot, udi.serial, udi.expiry) == (DI, None, None, None)


def test_two_primaries_are_too_many() -> None:
    first, second = with_check(PRIMARY), with_check("+B12398760")

    assert inspect_udi_reads([first, second])[1] == (
        f"Too many HIBC symbols in '{first}\\n{second}': Expected one primary and at most "
        "one secondary, got 2 primary and 0 secondary.",
    )


# --- Wrapping and symbology identifiers ---------------------------------------------------


def test_printed_asterisks_are_not_data() -> None:
    assert Udi.parse("*+A99912345/$$52001510X33*").lot == "10X3"


@pytest.mark.parametrize("symbology", ["]C0", "]A0", "]d1", "]Q1"])
def test_hibc_under_its_symbology_identifiers(symbology: str) -> None:
    udi = Udi.parse(f"{symbology}+A99912345/$$52001510X33")

    assert (udi.symbology, udi.di) == (symbology, DI)


def test_hibc_data_under_a_gs1_symbology_identifier_is_a_problem() -> None:
    assert _problems("]d2+A99912345/$$52001510X33") == (
        "Symbology identifier ']d2' marks GS1 data (GS1 DataMatrix), got HIBC data "
        "'+A99912345/$$52001510X33'.",
    )


# --- Primary data problems ---------------------------------------------------------------


def test_a_labeler_code_starting_with_a_digit() -> None:
    text = with_check("+1999PROD1/$$3251231LOT7")

    assert _problems(text) == (
        "Invalid HIBC labeler code '1999': Expected a letter first, got '1'.",
    )


def test_a_primary_too_long() -> None:
    text = with_check(f"+A999{'P' * 19}0")

    assert _problems(text) == (
        f"Invalid HIBC product number '{'P' * 19}': Expected at most 18 characters, got 19.",
    )


def test_a_primary_too_short() -> None:
    text = with_check("+A9990")

    assert inspect_udi(text) == (
        None,
        (
            "Invalid HIBC primary data 'A9990': Expected a labeler code (4), a product number "
            "(1-18) and a unit of measure (1), got 5 characters.",
            f"No device identifier in '{text}': Expected HIBC primary data (labeler code, "
            "product number, unit of measure).",
        ),
    )


def test_a_unit_of_measure_that_is_not_a_digit() -> None:
    text = with_check("+A9991234X")

    assert _problems(text) == (
        "Invalid HIBC unit of measure in 'A9991234X': Expected a digit 0-9 last, got 'X'.",
    )


def test_lower_case_is_outside_the_hibc_character_set() -> None:
    assert _problems("+a99912345/$LOT7Q") == (
        "Invalid HIBC data '+a99912345/$LOT7Q': Expected only the characters "
        "'0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%', got 'a'.",
        "Invalid HIBC labeler code 'a999': Expected a letter first, got 'a'.",
    )


# --- Secondary data problems -------------------------------------------------------------


@pytest.mark.parametrize(
    ("secondary", "problem"),
    [
        (
            "$$1325LOT7",
            "Invalid HIBC expiry date '1325' (MMYY): Expected a month from 01 to 12, got 13.",
        ),
        (
            "$$2023025LOT7",
            "Invalid HIBC expiry date '023025' (MMDDYY): Expected a day from 00 to 28 in "
            "2025-02, got 30.",
        ),
        (
            "$$3250229LOT7",
            "Invalid HIBC expiry date '250229' (YYMMDD): Expected a day from 00 to 28 in "
            "2025-02, got 29.",
        ),
        (
            "$$425123124LOT7",
            "Invalid HIBC expiry date '25123124' (YYMMDDHH): Expected an hour from 00 to 23, "
            "got 24.",
        ),
        (
            "$$525366LOT7",
            "Invalid HIBC expiry date '25366' (YYJJJ): Expected a day of the year from 001 to "
            "365, got 366.",
        ),
        (
            "$$52500099",
            "Invalid HIBC expiry date '25000' (YYJJJ): Expected a day of the year from 001 to "
            "365, got 000.",
        ),
        (
            "$LOT7/16D20241301",
            "Invalid HIBC production date '20241301' (YYYYMMDD): Expected a month from 01 to "
            "12, got 13.",
        ),
        (
            "$$A25LOT7",
            "Invalid HIBC secondary data '$$A25LOT7': Expected a date format flag 0-7, got 'A'.",
        ),
        (
            "$$8X33250101LOT7",
            "Invalid HIBC quantity in '$$8X33250101LOT7': Expected 2 digits after '8', got 'X3'.",
        ),
        ("$" + "L" * 19, f"Invalid HIBC lot '{'L' * 19}': Expected at most 18 characters, got 19."),
        (
            "$+" + "S" * 19,
            f"Invalid HIBC serial '{'S' * 19}': Expected at most 18 characters, got 19.",
        ),
        (
            "$LOT7/S" + "9" * 21,
            f"Invalid HIBC serial '{'9' * 21}': Expected at most 20 characters, got 21.",
        ),
        (
            "$LOT7/Q12",
            "Invalid HIBC supplemental data '/Q12': Expected '/S', '/16D' or '/14D' first.",
        ),
        (
            "$$3251231LOT7/14D20260101",
            "Conflicting HIBC expiry dates: 2025-12-31 in the secondary data, "
            "2026-01-01 in '/14D'.",
        ),
        (
            "$$+7SER7/SSER8",
            "Conflicting HIBC serials: 'SER7' in the secondary data, 'SER8' in '/S'.",
        ),
    ],
)
def test_secondary_data_problems(secondary: str, problem: str) -> None:
    assert _problems(with_check(f"{PRIMARY}/{secondary}")) == (problem,)


def test_every_problem_is_listed_not_only_the_first() -> None:
    text = f"+1999{'P' * 19}X/$$3251301{'L' * 19}/16D20250230/Q1Z"

    assert _problems(text) == (
        f"Invalid HIBC check character for '{text}': Expected "
        f"{hibc_check_character(text[:-1])!r}, got 'Z'.",
        "Invalid HIBC labeler code '1999': Expected a letter first, got '1'.",
        f"Invalid HIBC product number '{'P' * 19}': Expected at most 18 characters, got 19.",
        f"Invalid HIBC unit of measure in '1999{'P' * 19}X': Expected a digit 0-9 last, got 'X'.",
        "Invalid HIBC expiry date '251301' (YYMMDD): Expected a month from 01 to 12, got 13.",
        f"Invalid HIBC lot '{'L' * 19}': Expected at most 18 characters, got 19.",
        "Invalid HIBC production date '20250230' (YYYYMMDD): Expected a day from 00 to 28 in "
        "2025-02, got 30.",
        "Invalid HIBC supplemental data '/Q1': Expected '/S', '/16D' or '/14D' first.",
    )
