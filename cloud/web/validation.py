"""Form fields into the API's own request structs, with the struct's own checks; a refusal
names the field as the API would (`InvalidFieldError`)."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

from cloud.domain.errors import InvalidFieldError

T = TypeVar("T")


def convert_form(fields: dict[str, Any], into: type[T]) -> T:
    try:
        return msgspec.convert(fields, into)
    except msgspec.ValidationError as exc:
        message = str(exc)
        path = message.rsplit(" - at `$.", 1)
        field = path[1].rstrip("`") if len(path) == 2 else "form"
        raise InvalidFieldError(field, path[0]) from None
