"""HTTP routes of logins, tokens, users and device credentials."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from cloud.domain.auth.errors import AuthenticationError
from cloud.domain.auth.principal import Principal
from cloud.domain.auth.schemas import (
    DeviceCredentialOut,
    LoginIn,
    MeOut,
    PasswordChangeIn,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)
from cloud.domain.auth.services import AuthService


def principal_of(request: Request[Any, Any, Any]) -> Principal:
    """The authenticated caller (set by `AuthMiddleware`)."""
    principal = request.scope.get("user")
    if not isinstance(principal, Principal):
        raise AuthenticationError("authentication required")
    return principal


class AuthController(Controller):
    path = "/api/auth"
    tags = ("access",)

    @post("/login", status_code=200)
    async def login(
        self, auth_service: NamedDependency[AuthService], data: JSONBody[LoginIn]
    ) -> TokenOut:
        """A bearer token for 12 hours. Every attempt, good or bad, is in the audit trail."""
        return await auth_service.login(
            data.username, data.password, request="POST /api/auth/login"
        )

    @post("/logout", status_code=204)
    async def logout(
        self, request: Request[Any, Any, Any], auth_service: NamedDependency[AuthService]
    ) -> None:
        await auth_service.logout(principal_of(request))

    @get("/me")
    async def me(self, request: Request[Any, Any, Any]) -> MeOut:
        principal = principal_of(request)
        return MeOut(
            kind=principal.kind,
            name=principal.name,
            full_name=principal.full_name,
            roles=sorted(principal.roles),
        )

    @get("/tokens")
    async def list_tokens(
        self, request: Request[Any, Any, Any], auth_service: NamedDependency[AuthService]
    ) -> list[TokenOut]:
        return await auth_service.list_tokens(principal_of(request))

    @post("/tokens")
    async def create_token(
        self,
        request: Request[Any, Any, Any],
        auth_service: NamedDependency[AuthService],
        data: JSONBody[TokenIn],
    ) -> TokenOut:
        """A token for a script, acting with the caller's roles; shown once."""
        return await auth_service.issue_token(principal_of(request), data)

    @delete("/tokens/{token_id:int}")
    async def revoke_token(
        self,
        request: Request[Any, Any, Any],
        auth_service: NamedDependency[AuthService],
        token_id: FromPath[int],
    ) -> None:
        await auth_service.revoke_token(principal_of(request), token_id)

    @post("/password", status_code=204)
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        auth_service: NamedDependency[AuthService],
        data: JSONBody[PasswordChangeIn],
    ) -> None:
        await auth_service.change_password(
            principal_of(request), data.current_password, data.new_password
        )


class UserController(Controller):
    path = "/api/users"
    tags = ("access",)

    @get("/")
    async def list_users(self, auth_service: NamedDependency[AuthService]) -> list[UserOut]:
        return await auth_service.list_users()

    @post("/")
    async def create_user(
        self, auth_service: NamedDependency[AuthService], data: JSONBody[UserIn]
    ) -> UserOut:
        return await auth_service.create_user(data)

    @patch("/{username:str}")
    async def update_user(
        self,
        auth_service: NamedDependency[AuthService],
        username: FromPath[str],
        data: JSONBody[UserPatch],
    ) -> UserOut:
        """Change roles, deactivate (users are never deleted: their records keep their name)."""
        return await auth_service.update_user(username, data)


class DeviceCredentialController(Controller):
    path = "/api/devices/{device_id:str}/credentials"
    tags = ("access",)

    @post("/")
    async def create_credential(
        self,
        request: Request[Any, Any, Any],
        auth_service: NamedDependency[AuthService],
        device_id: FromPath[str],
    ) -> DeviceCredentialOut:
        """A secret the device posts events with; shown once."""
        return await auth_service.issue_device_credential(
            device_id, created_by=principal_of(request).name
        )

    @delete("/")
    async def revoke_credentials(
        self, auth_service: NamedDependency[AuthService], device_id: FromPath[str]
    ) -> None:
        await auth_service.revoke_device_credentials(device_id)
