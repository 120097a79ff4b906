"""Reading the console's HTML forms: fields as text, CSRF checked first."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.exceptions import PermissionDeniedException

from cloud.web.session import csrf_ok


async def read_form(request: Request[Any, Any, Any], *, check_csrf: bool = True) -> FormMultiDict:
    """The submitted fields; a cookie-borne POST without this session's form token is refused."""
    form = await request.form()
    if check_csrf:
        submitted = form.get("csrf")
        if not csrf_ok(request.scope, submitted if isinstance(submitted, str) else None):
            raise PermissionDeniedException(
                detail="the form's security token is missing or belongs to another session: "
                "reload the page and submit it again"
            )
    return form


def text(form: FormMultiDict, name: str, *, default: str = "") -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else default


def lines(form: FormMultiDict, name: str) -> list[str]:
    """A textarea, one entry per line (blank lines skipped)."""
    return [line.strip() for line in text(form, name).splitlines() if line.strip()]
