"""The recall scope form: plain text fields into the API's `RecallScope`, checked by the
struct itself. One line per entry, so a scope can be pasted from a spreadsheet:

- lots: `DI LOT` (or `DI/LOT`), e.g. `09506000134369 TUBE-A1`
- serials: `DI FIRST LAST`
- units: a UDI in any form, or `DI:SERIAL`
- production window: first and last date, optionally one DI
- excursion: checkpoint, parameter, start and end time, low and/or high limit

An entry that cannot be read is refused with its field and line, nothing is guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cloud.domain.errors import InvalidFieldError
from cloud.domain.recall.schemas import RecallIn, RecallScope
from cloud.web.validation import convert_form

_SPLIT = re.compile(r"[\s/;,]+")
FIELDS = (
    "lots",
    "serials",
    "units",
    "prod_first",
    "prod_last",
    "prod_di",
    "exc_checkpoint",
    "exc_parameter",
    "exc_start",
    "exc_end",
    "exc_low",
    "exc_high",
    "match",
    "title",
    "reason",
    "mode",
)


@dataclass(frozen=True, slots=True)
class ScopeForm:
    """What was typed, kept to show the form again as it was."""

    values: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        return self.values.get(name, "")


def _lines(text: str) -> list[tuple[int, str]]:
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def _lots(text: str) -> list[dict[str, Any]]:
    grouped: dict[str, list[str]] = {}
    for n, line in _lines(text):
        parts = _SPLIT.split(line)
        if len(parts) < 2:
            raise InvalidFieldError("lots", f"line {n}: expected 'DI LOT', got {line!r}")
        grouped.setdefault(parts[0], []).extend(parts[1:])
    return [{"di": di, "lots": list(dict.fromkeys(lots))} for di, lots in grouped.items()]


def _serials(text: str) -> list[dict[str, str]]:
    found = []
    for n, line in _lines(text):
        parts = _SPLIT.split(line)
        if len(parts) != 3:
            raise InvalidFieldError("serials", f"line {n}: expected 'DI FIRST LAST', got {line!r}")
        found.append({"di": parts[0], "first": parts[1], "last": parts[2]})
    return found


def _time(value: str) -> str:
    """`datetime-local` inputs carry no zone; the console works in UTC."""
    if value and len(value) <= 16 and "T" in value:
        return value + ":00Z"
    return value


def _number(name: str, value: str) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise InvalidFieldError(name, f"expected a number, got {value!r}") from None


def scope_from(form: ScopeForm) -> RecallScope:
    scope: dict[str, Any] = {
        "lots": _lots(form.get("lots")),
        "serials": _serials(form.get("serials")),
        "units": [line for _, line in _lines(form.get("units"))],
        "match": form.get("match") or "any",
    }
    if form.get("prod_first") or form.get("prod_last"):
        window: dict[str, Any] = {"first": form.get("prod_first"), "last": form.get("prod_last")}
        if form.get("prod_di"):
            window["di"] = form.get("prod_di")
        scope["production"] = [window]
    if form.get("exc_checkpoint") or form.get("exc_parameter"):
        scope["excursions"] = [
            {
                "checkpoint": form.get("exc_checkpoint"),
                "parameter": form.get("exc_parameter"),
                "start": _time(form.get("exc_start")),
                "end": _time(form.get("exc_end")),
                "low": _number("exc_low", form.get("exc_low")),
                "high": _number("exc_high", form.get("exc_high")),
            }
        ]
    if not any(scope.get(k) for k in ("lots", "serials", "units", "production", "excursions")):
        raise InvalidFieldError(
            "scope", "give at least one lot, serial range, unit, window or excursion"
        )
    return convert_form(scope, RecallScope)


def recall_from(form: ScopeForm) -> RecallIn:
    scope = scope_from(form)
    return convert_form(
        {
            "title": form.get("title"),
            "reason": form.get("reason"),
            "mode": form.get("mode") or "recall",
            "scope": scope,
        },
        RecallIn,
    )
