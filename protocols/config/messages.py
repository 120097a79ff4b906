"""Pydantic's validation errors rewritten in the plain words of a config file.

Pydantic says "Input should be a valid integer, unable to parse string as an integer";
a technician editing a YAML file needs "expected a number, got 'x'". The schema is
consulted where the message names what is allowed (unknown keys, literal choices).
"""

from __future__ import annotations

import datetime as dt
import types
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from protocols.config._base import CROSS_FIELD_ERROR, Loc, describe_value

_NUMBER_ERRORS = frozenset({"int_parsing", "int_type", "float_parsing", "float_type"})
_BOOL_ERRORS = frozenset({"bool_parsing", "bool_type"})
_MAPPING_ERRORS = frozenset({"model_type", "dict_type", "model_attributes_type"})
_LIST_ERRORS = frozenset({"list_type", "tuple_type", "iterable_type"})
_BOUNDS = {
    "greater_than": ("gt", "must be greater than"),
    "greater_than_equal": ("ge", "must be at least"),
    "less_than": ("lt", "must be less than"),
    "less_than_equal": ("le", "must be at most"),
}


def plain_problems(
    errors: list[ErrorDetails], *, root: type[BaseModel]
) -> Iterator[tuple[Loc, str]]:
    """Each error of a validation of ``root`` as (key path, message); cross-field errors
    expand into one entry per problem, at the key each one concerns."""
    for error in errors:
        loc: Loc = tuple(error["loc"])
        if error["type"] == CROSS_FIELD_ERROR:
            ctx = error.get("ctx") or {}
            for sub, message in ctx.get("problems", ()):
                yield (*loc, *sub), message
            continue
        if _follows_item_errors(error):
            continue
        yield loc, plain_message(error, root=root)


def _follows_item_errors(error: ErrorDetails) -> bool:
    # Pydantic counts only the valid items of a tuple against its min_length, so a list
    # with one broken item would also be reported as too short.
    if error["type"] != "too_short":
        return False
    found = error.get("input")
    least = (error.get("ctx") or {}).get("min_length", 0)
    return isinstance(found, list | tuple) and len(found) >= least


def plain_message(error: ErrorDetails, *, root: type[BaseModel]) -> str:
    """The message of one (non cross-field) error."""
    kind = error["type"]
    loc: Loc = tuple(error["loc"])
    found = error.get("input")
    ctx = error.get("ctx") or {}
    got = describe_value(found)
    if kind == "missing":
        return "required key missing"
    if kind == "extra_forbidden":
        allowed = allowed_keys(root, loc[:-1])
        key = loc[-1] if loc else "?"
        return f"unknown key '{key}' (allowed: {', '.join(allowed)})"
    if kind in _NUMBER_ERRORS:
        return f"expected a number, got {got}"
    if kind == "finite_number":
        return f"expected a finite number, got {got}"
    if kind == "int_from_float":
        return f"expected a whole number, got {got}"
    if kind in _BOOL_ERRORS:
        return f"expected true or false, got {got}"
    if kind == "literal_error":
        choices = literal_choices(root, loc)
        if choices is None:
            return f"expected {ctx.get('expected', 'one of the allowed values')}, got {got}"
        return f"expected one of {', '.join(str(c) for c in choices)}, got {got}"
    if kind == "string_type":
        if isinstance(found, int | float | dt.date):
            return f"expected text, got {got} (put it in quotes to make it text)"
        return f"expected text, got {got}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        plural = "item" if least == 1 else "items"
        return f"expected at least {least} {plural}, got {ctx.get('actual_length', 0)}"
    if kind in _MAPPING_ERRORS:
        return f"expected a mapping of keys, got {got}"
    if kind in _LIST_ERRORS:
        return f"expected a list, got {got}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        bound = ctx.get(key)
        shown = f"{bound:g}" if isinstance(bound, float) else str(bound)
        return f"{words} {shown}, got {got}"
    if kind == "path_type":
        return f"expected a file path, got {got}"
    message = error["msg"]
    return message.removeprefix("Value error, ")


def allowed_keys(root: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the mapping at ``loc`` accepts, in schema order."""
    model = _unwrap(annotation_at(root, loc))
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def literal_choices(root: type[BaseModel], loc: Loc) -> tuple[Any, ...] | None:
    """The values a literal field at ``loc`` accepts, or None when it is not one."""
    annotation = _unwrap(annotation_at(root, loc))
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    return None


def annotation_at(root: type[BaseModel], loc: Loc) -> Any:
    """The type the schema expects at ``loc``, or None when ``loc`` leaves the schema."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            if get_origin(current) in (tuple, list) and get_args(current):
                current = get_args(current)[0]
                continue
            return None
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next(
                (f for name, f in current.model_fields.items() if part in (name, f.alias)),
                None,
            )
            if field is None:
                return None
            current = field.annotation
            continue
        return None
    return current


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``X | None`` down to the type that matters."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation
