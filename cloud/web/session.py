"""The console's session: the API's own bearer token, kept in a cookie for `/console` only.

A browser cannot send `Authorization` on a link or a form, so the login page puts the
token it gets from `AuthService.login` into an HttpOnly, SameSite=Strict cookie scoped
to `/console`; `ConsoleSessionMiddleware` (outside the auth middleware) turns the cookie
back into the header for console paths. The API never accepts the cookie: a page of
another site cannot make a browser call `/api` in the user's name.

Forms also carry a CSRF token derived from the session token (SameSite is a second
line, not the only one): a POST that came with the cookie and not with the right form
token is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

PREFIX = "/console"
COOKIE = "tracegate_console"
_STATE_KEY = "console_cookie_token"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    for part in raw.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


def is_console_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class ConsoleSessionMiddleware:
    """For `/console` paths without an `Authorization` header: the cookie's token as one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and is_console_path(str(scope.get("path", ""))):
            token = _cookie(scope, COOKIE)
            if token is not None and _header(scope, b"authorization") is None:
                headers = list(scope.get("headers", ()))
                headers.append((b"authorization", f"Bearer {token}".encode("latin-1")))
                scope["headers"] = headers
                state: dict[str, Any] = scope.setdefault("state", {})
                state[_STATE_KEY] = token
        await self.app(scope, receive, send)


def session_token(scope: Scope) -> str | None:
    """The token of this request: from the console cookie, else from `Authorization`."""
    state = scope.get("state") or {}
    token = state.get(_STATE_KEY) if isinstance(state, dict) else None
    if isinstance(token, str):
        return token
    header = _header(scope, b"authorization") or ""
    return header[7:].strip() if header.lower().startswith("bearer ") else None


def came_with_cookie(scope: Scope) -> bool:
    state = scope.get("state") or {}
    return isinstance(state, dict) and isinstance(state.get(_STATE_KEY), str)


def csrf_token(scope: Scope) -> str:
    """The form token of this session: a keyed hash of the session token (never the token)."""
    token = session_token(scope) or ""
    return hmac.new(token.encode(), b"tracegate-console-csrf", hashlib.sha256).hexdigest()[:40]


def csrf_ok(scope: Scope, submitted: str | None) -> bool:
    """A POST with the cookie must carry this session's form token; one with an explicit
    `Authorization` header cannot be forged by another site and needs none."""
    if not came_with_cookie(scope):
        return True
    return submitted is not None and hmac.compare_digest(submitted, csrf_token(scope))
