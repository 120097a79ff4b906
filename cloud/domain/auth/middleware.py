"""Every request is authenticated (401) and checked against the route's roles (403).

`AuthMiddleware` turns the bearer token into a `Principal` and runs the request
in that principal's name (the audit capture reads it); `route_roles_guard`
looks the route up in `policy.ROUTE_ROLES`. A device may post only its own
events: a credential of `edge-1` cannot speak for `edge-2`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.types import ASGIApp, Receive, Scope, Send

from cloud.domain.audit.context import acting_as
from cloud.domain.auth.policy import PUBLIC, roles_for, route_key
from cloud.domain.auth.principal import Principal
from cloud.domain.auth.services import AuthService

_BEARER = "bearer "
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="tracegate"'}
EVENTS_ROUTE = "POST /api/events"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _template(scope: Scope) -> str:
    return str(scope.get("path_template") or scope.get("path", ""))


class AuthMiddleware:
    """ASGI middleware: resolve the bearer token, or answer 401."""

    def __init__(self, app: ASGIApp, auth: AuthService) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        method = str(scope.get("method", "GET"))
        if route_key(method, _template(scope)) in PUBLIC:
            await self.app(scope, receive, send)
            return
        header = _header(scope, b"authorization")
        if header is None or not header.lower().startswith(_BEARER):
            raise NotAuthorizedException(
                detail="authentication required: send 'Authorization: Bearer <token>'",
                headers=_CHALLENGE,
            )
        principal = await self.auth.authenticate(header[len(_BEARER) :].strip())
        if principal is None:
            raise NotAuthorizedException(
                detail="the bearer token is unknown, expired or revoked", headers=_CHALLENGE
            )
        scope["user"] = principal
        reason = (_header(scope, b"x-reason") or "")[:2000]
        actor = principal.actor(request=f"{method} {scope.get('path', '')}"[:300], reason=reason)
        with acting_as(actor):
            await self.app(scope, receive, send)


async def route_roles_guard(
    connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
) -> None:
    method = str(connection.scope.get("method", "GET"))
    template = _template(connection.scope)
    key = route_key(method, template)
    if key in PUBLIC:
        return
    principal = connection.scope.get("user")
    if not isinstance(principal, Principal):
        raise NotAuthorizedException(detail="authentication required", headers=_CHALLENGE)
    allowed = roles_for(method, template)
    if not principal.roles & allowed:
        needed = ", ".join(sorted(allowed)) or "a role no one has (route not in the policy)"
        held = ", ".join(sorted(principal.roles)) or "none"
        raise PermissionDeniedException(
            detail=f"{key} needs one of the roles [{needed}]; "
            f"{principal.kind} {principal.name!r} has [{held}]"
        )
    if principal.kind == "device" and key == EVENTS_ROUTE and isinstance(connection, Request):
        _own_events_only(await connection.body(), principal.name)


class _Named(msgspec.Struct):
    device_id: Any = None


_array = msgspec.json.Decoder(list[msgspec.Raw])
_named = msgspec.json.Decoder(_Named)


def _own_events_only(body: bytes, device_id: str) -> None:
    """Refuse a batch that names another device; malformed bodies are left to the ingest."""
    try:
        raws = _array.decode(body)
    except msgspec.DecodeError:
        return
    for index, raw in enumerate(raws):
        try:
            named = _named.decode(raw).device_id
        except msgspec.DecodeError:
            continue
        if named is not None and named != device_id:
            raise PermissionDeniedException(
                detail=f"event {index} names device {named!r}, but the credential is "
                f"device {device_id!r}'s: a device may post only its own events"
            )
