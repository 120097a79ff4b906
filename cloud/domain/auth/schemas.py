"""Request and response bodies of users, logins, tokens and device credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from cloud.domain.auth.roles import HumanRole

Username = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9._-]{1,63}\Z")]
FullName = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
TokenName = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class UserIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    username: Username
    full_name: FullName
    """The printed name shown with the user's signatures."""
    roles: Annotated[list[HumanRole], msgspec.Meta(min_length=1)]
    password: Password


class UserPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    full_name: FullName | msgspec.UnsetType = msgspec.UNSET
    roles: Annotated[list[HumanRole], msgspec.Meta(min_length=1)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    active: bool | msgspec.UnsetType = msgspec.UNSET
    password: Password | msgspec.UnsetType = msgspec.UNSET
    """An administrator's reset; the user should change it at once."""


class UserOut(msgspec.Struct, frozen=True, kw_only=True):
    username: str
    full_name: str
    roles: list[str]
    active: bool
    locked_until: datetime | None
    created_at: datetime


class LoginIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Password


class TokenIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: TokenName
    expires_in_days: Annotated[int, msgspec.Meta(ge=1, le=366)] = 90


class TokenOut(msgspec.Struct, frozen=True, kw_only=True):
    token_id: int
    name: str
    expires_at: datetime
    token: str | None = None
    """The secret itself: returned once, when the token is made; only its hash is kept."""


class PasswordChangeIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    current_password: Password
    new_password: Password


class MeOut(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    name: str
    full_name: str
    roles: list[str]


class DeviceCredentialOut(msgspec.Struct, frozen=True, kw_only=True):
    device_id: str
    credential_id: int
    token: str
    """Returned once; give it to the device (`Authorization: Bearer ...`)."""
