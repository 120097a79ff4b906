"""Pages from Jinja2 templates (autoescaped), with what every page needs: user, nav, CSRF."""

from __future__ import annotations

import functools
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request, Response
from litestar.enums import MediaType

from cloud.domain.auth.policy import INSPECTION, QUALITY, roles_for
from cloud.domain.auth.principal import Principal
from cloud.web.session import PREFIX, csrf_token

TEMPLATES = Path(__file__).parent / "templates"

NAV = (
    ("search", "Trace", f"{PREFIX}/search"),
    ("holds", "Holds", f"{PREFIX}/holds"),
    ("recalls", "Recalls", f"{PREFIX}/recalls"),
    ("lines", "Lines", f"{PREFIX}/lines"),
    ("dashboard", "KPIs", f"{PREFIX}/dashboard"),
    ("audit", "Audit trail", f"{PREFIX}/audit"),
)


def when(value: datetime | date | None, *, seconds: bool = False) -> str:
    """UTC times as people read them in a record: `2026-03-01 14:05 UTC`."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def number(value: float | int | None, digits: int = 1) -> str:
    """Thousands separated, at most `digits` decimals, no trailing zeros: 186.5, 1,204, 0.25."""
    if value is None:
        return "—"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".")


def unit_link(udi: str) -> str:
    return f"{PREFIX}/unit?{urlencode({'id': udi})}"


def lot_link(di: str, lot: str) -> str:
    return f"{PREFIX}/lot?{urlencode({'di': di, 'lot': lot})}"


def container_link(sscc: str) -> str:
    return f"{PREFIX}/container?{urlencode({'sscc': sscc})}"


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "svg"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=when,
        number=number,
        quote=lambda v: quote(str(v), safe=""),
        unit_link=unit_link,
        container_link=container_link,
    )
    env.globals.update(lot_link=lot_link, prefix=PREFIX)
    return env


def can(principal: Principal | None, method: str, template: str) -> bool:
    """Whether the user may use a console route (to show only the actions they may take)."""
    return principal is not None and bool(principal.roles & roles_for(method, template))


def page(
    request: Request[Any, Any, Any] | None,
    template: str,
    *,
    status_code: int = 200,
    active: str = "",
    **context: Any,
) -> Response[str]:
    principal = request.scope.get("user") if request is not None else None
    user = principal if isinstance(principal, Principal) else None
    nav = [
        (key, label, href)
        for key, label, href in NAV
        if user is not None and (key != "audit" or user.roles & INSPECTION)
    ]
    html = (
        environment()
        .get_template(template)
        .render(
            user=user,
            nav=nav,
            active=active,
            csrf=csrf_token(request.scope) if request is not None and user else "",
            is_quality=user is not None and bool(user.roles & QUALITY),
            can=lambda method, path: can(user, method, path),
            **context,
        )
    )
    return Response(
        html,
        status_code=status_code,
        media_type=MediaType.HTML,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
