"""Building blocks shared by every config section: the strict base model, numeric
types that refuse booleans, identifier types, and cross-field problem collection.

Cross-field problems are raised as one pydantic error of type ``cross_field`` whose
context holds every ``(relative key path, message)`` found, so the loader can point
each one at its own YAML line instead of at the enclosing mapping.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, AllowInfNan, BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

Loc = tuple[str | int, ...]
"""A key path below some model: mapping keys as str, list positions as int."""

CROSS_FIELD_ERROR = "cross_field"
"""The pydantic error type that carries ``ctx["problems"]``: ``tuple[(Loc, str), ...]``."""


class ConfigModel(BaseModel):
    """Base of every config section: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        use_attribute_docstrings=True,
        populate_by_name=True,
    )


def describe_value(value: object) -> str:
    """How a found value is quoted in a message, in YAML's words rather than Python's.

    >>> describe_value("x"), describe_value(1.5), describe_value(True), describe_value(None)
    ("'x'", '1.5', 'true', 'null')
    >>> describe_value({"a": 1}), describe_value([1])
    ('a mapping', 'a list')
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        # A whole pasted block in a message hides the point; its start identifies it.
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(str(value))


def invalid(message: str) -> PydanticCustomError:
    """A validation error whose text is ``message`` exactly (no pydantic prefix)."""
    return PydanticCustomError("invalid_value", "{message}", {"message": message})


def _reject_bool(value: Any) -> Any:
    # YAML 1.1 reads `yes`, `on` and `true` as booleans and pydantic would take them
    # as 1: a limit of "on" is a typo, not a number.
    if isinstance(value, bool):
        message = f"expected a number, got {describe_value(value)}"
        raise PydanticCustomError("number_type", "{message}", {"message": message})
    return value


Int = Annotated[int, BeforeValidator(_reject_bool)]
"""An integer that a YAML boolean does not satisfy."""

Float = Annotated[float, BeforeValidator(_reject_bool), AllowInfNan(False)]
"""A finite number that a YAML boolean does not satisfy (YAML spells infinity ``.inf``)."""

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


def _check_slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise invalid(
            "expected lower-case letters, digits and '-' (not at either end, at most 64),"
            f" got {describe_value(value)}"
        )
    return value


def _check_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise invalid(
            "expected a lower-case name of letters, digits and '_' starting with a letter"
            f" (at most 63), got {describe_value(value)}"
        )
    return value


Slug = Annotated[str, AfterValidator(_check_slug)]
"""An identifier that appears in MQTT topics and event envelopes: ``line-1``, ``sealing``."""

Name = Annotated[str, AfterValidator(_check_name)]
"""A name that appears in events and queries: ``seal_temp``, ``front``."""


class Problems:
    """Cross-field problems of one model, raised together once all are found."""

    def __init__(self) -> None:
        self._items: list[tuple[Loc, str]] = []

    def add(self, loc: Loc, message: str) -> None:
        self._items.append((loc, message))

    def raise_if_any(self) -> None:
        if not self._items:
            return
        summary = "; ".join(f"{render_loc(loc)}: {message}" for loc, message in self._items)
        raise PydanticCustomError(
            CROSS_FIELD_ERROR, "{summary}", {"summary": summary, "problems": tuple(self._items)}
        )


def render_loc(loc: Loc) -> str:
    """``('checkpoints', 3, 'plc', 'scale')`` -> ``checkpoints[3].plc.scale``.

    >>> render_loc(("checkpoints", 3, "plc", "registers", 1, "scale"))
    'checkpoints[3].plc.registers[1].scale'
    >>> render_loc(())
    ''
    """
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
