"""Login, logout, the console's own static files, and the way in."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect

from cloud.domain.auth.controllers import principal_of
from cloud.domain.auth.errors import AuthenticationError
from cloud.domain.auth.services import LOGIN_TOKEN_HOURS, AuthService
from cloud.web.forms import read_form, text
from cloud.web.render import page
from cloud.web.session import COOKIE, PREFIX
from cloud.web.static import static_file

HOME = f"{PREFIX}/search"


def _safe_next(target: str) -> str:
    """Only a console path: never an open redirect to another site."""
    if target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


def _session_cookie(request: Request[Any, Any, Any], value: str, *, max_age: int) -> Cookie:
    return Cookie(
        key=COOKIE,
        value=value,
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=max_age,
    )


class AccessController(Controller):
    path = PREFIX
    tags = ("console",)

    @get("/", name="console:home")
    async def home(self) -> Redirect:
        return Redirect(HOME, status_code=303)

    @get("/login")
    async def login_form(
        self, request: Request[Any, Any, Any], next: FromQuery[str] = HOME
    ) -> Response[str]:
        return page(request, "login.html", next=_safe_next(next), username="", error="")

    @post("/login", status_code=303)
    async def login(
        self, request: Request[Any, Any, Any], auth_service: NamedDependency[AuthService]
    ) -> Response[Any]:
        """The API's login; its token goes into the console cookie (see `cloud.web.session`)."""
        form = await read_form(request, check_csrf=False)
        username, target = text(form, "username"), _safe_next(text(form, "next", default=HOME))
        password = form.get("password")
        try:
            if not username or not isinstance(password, str) or not password:
                raise AuthenticationError("enter your username and password")
            issued = await auth_service.login(username, password, request=f"POST {PREFIX}/login")
        except AuthenticationError as exc:
            return page(
                request,
                "login.html",
                status_code=401,
                next=target,
                username=username,
                error=exc.message,
            )
        return Redirect(
            target,
            status_code=303,
            cookies=[
                _session_cookie(request, issued.token or "", max_age=LOGIN_TOKEN_HOURS * 3600)
            ],
        )

    @post("/logout", status_code=303)
    async def logout(
        self, request: Request[Any, Any, Any], auth_service: NamedDependency[AuthService]
    ) -> Redirect:
        await read_form(request)
        await auth_service.logout(principal_of(request))
        return Redirect(
            f"{PREFIX}/login",
            status_code=303,
            cookies=[_session_cookie(request, "", max_age=0)],
        )

    @get("/static/{name:str}")
    async def static(self, name: FromPath[str]) -> Response[bytes]:
        found = static_file(name)
        if found is None:
            raise NotFoundException(detail=f"no console file {name!r}")
        body, media_type = found
        return Response(
            body, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"}
        )
