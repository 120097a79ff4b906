"""How the console answers what the API answers with JSON errors.

A browser asking for a page without a valid session is sent to the login page (303),
with the page it wanted as `next`; any other client keeps the API's 401 and its
`WWW-Authenticate` challenge. A wrong role, a missing record or a refused input is
shown as a page with the same status code and the service's own message.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect
from litestar.types import ExceptionHandlersMap

from cloud.domain.errors import DomainError
from cloud.web.render import page
from cloud.web.session import PREFIX


def wants_html(request: Request[Any, Any, Any]) -> bool:
    return "text/html" in request.headers.get("accept", "")


def login_redirect(request: Request[Any, Any, Any]) -> Redirect:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = f"{PREFIX}/search"
    return Redirect(f"{PREFIX}/login?{urlencode({'next': target})}", status_code=303)


def unauthenticated(request: Request[Any, Any, Any], exc: NotAuthorizedException) -> Response[Any]:
    if wants_html(request):
        return login_redirect(request)
    return Response(
        {"status_code": 401, "detail": exc.detail},
        status_code=401,
        headers=dict(exc.headers or {}),
    )


def forbidden(request: Request[Any, Any, Any], exc: PermissionDeniedException) -> Response[Any]:
    return error_page(request, 403, "Not allowed", exc.detail)


def domain_error(request: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    return error_page(request, exc.status_code, _title(exc.status_code), exc.message)


def invalid_request(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    problems = (
        "; ".join(f"{e.get('key', '')}: {e.get('message', '')}" for e in exc.extra)
        if isinstance(exc.extra, list)
        else ""
    )
    return error_page(request, 400, "Bad request", f"{exc.detail} {problems}".strip())


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    return error_page(request, exc.status_code, _title(exc.status_code), exc.detail)


def error_page(
    request: Request[Any, Any, Any], status_code: int, title: str, message: str
) -> Response[Any]:
    return page(request, "error.html", status_code=status_code, title=title, message=message)


def _title(status_code: int) -> str:
    return {
        400: "Bad request",
        401: "Not signed",
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        422: "Invalid input",
        503: "Unavailable",
    }.get(status_code, "Error")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    NotAuthorizedException: unauthenticated,
    PermissionDeniedException: forbidden,
    ValidationException: invalid_request,
    DomainError: domain_error,
    HTTPException: http_error,
}
