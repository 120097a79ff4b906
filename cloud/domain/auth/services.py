"""Users, logins, API tokens and device credentials; every change lands in the audit trail.

Failed password checks (at login or when signing) are counted per user; after
`MAX_FAILED_PASSWORDS` in a row the account is locked for `LOCKOUT_S`
(21 CFR 11.300(d): attempts at unauthorized use are detected and reported; each
one is an audit row).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.db.types import utc_now
from cloud.domain.audit.capture import Change, record
from cloud.domain.audit.context import Actor
from cloud.domain.auth.credentials import (
    DEVICE_TOKEN_PREFIX,
    USER_TOKEN_PREFIX,
    hash_password,
    new_token,
    password_problem,
    token_digest,
    verify_password,
)
from cloud.domain.auth.errors import AuthenticationError, ForbiddenError
from cloud.domain.auth.models import ApiToken, DeviceCredential, User
from cloud.domain.auth.principal import Principal
from cloud.domain.auth.roles import DEVICE, HUMAN_ROLES
from cloud.domain.auth.schemas import (
    DeviceCredentialOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)
from cloud.domain.errors import ConflictError, InvalidFieldError, NotFoundError
from cloud.domain.plant.models import Device

MAX_FAILED_PASSWORDS = 5
LOCKOUT_S = 15 * 60
LOGIN_TOKEN_HOURS = 12

# Verified against when the username is unknown, so both cases take as long.
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$1xiYsngz+ot8wbn4NUpBCw$"
    "bCe4Y0WItDN3rnVkaP1dXTzffqJCGrNIujx4mVPVGd8"
)


def user_out(user: User) -> UserOut:
    return UserOut(
        username=user.username,
        full_name=user.full_name,
        roles=sorted(user.roles),
        active=user.active,
        locked_until=user.locked_until,
        created_at=user.created_at,
    )


@dataclass(frozen=True, slots=True)
class Signer:
    """A user whose password was just re-entered: who a signature is by."""

    user_id: int
    username: str
    full_name: str
    roles: frozenset[str]


class AuthService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def authenticate(self, token: str) -> Principal | None:
        """The principal a bearer token stands for, or None (unknown, expired, revoked)."""
        digest = token_digest(token)
        now = utc_now()
        async with self.db.sessions() as session:
            if token.startswith(DEVICE_TOKEN_PREFIX):
                credential = await session.scalar(
                    select(DeviceCredential).where(DeviceCredential.token_hash == digest)
                )
                if credential is None or credential.revoked_at is not None:
                    return None
                return Principal(
                    kind="device",
                    name=credential.device_id,
                    roles=frozenset({DEVICE}),
                    token_id=credential.id,
                )
            if not token.startswith(USER_TOKEN_PREFIX):
                return None
            found = (
                await session.execute(
                    select(ApiToken, User)
                    .join(User, User.id == ApiToken.user_id)
                    .where(ApiToken.token_hash == digest)
                )
            ).first()
        if found is None:
            return None
        api_token, user = found
        if api_token.revoked_at is not None or api_token.expires_at <= now or not user.active:
            return None
        return Principal(
            kind="user",
            name=user.username,
            roles=frozenset(user.roles) & HUMAN_ROLES,
            full_name=user.full_name,
            user_id=user.id,
            token_id=api_token.id,
        )

    async def create_user(self, data: UserIn) -> UserOut:
        problem = password_problem(data.password, username=data.username)
        if problem is not None:
            raise InvalidFieldError("password", problem)
        password_hash = await asyncio.to_thread(hash_password, data.password)
        async with self.db.sessions.begin() as session:
            if await session.scalar(select(User.id).where(User.username == data.username)):
                raise ConflictError(f"user {data.username!r} already exists", field="username")
            user = User(
                username=data.username,
                full_name=data.full_name,
                roles=sorted(set(data.roles)),
                password_hash=password_hash,
            )
            session.add(user)
            await session.flush()
            await session.refresh(user)
        return user_out(user)

    async def list_users(self) -> list[UserOut]:
        async with self.db.sessions() as session:
            users = (await session.scalars(select(User).order_by(User.username))).all()
        return [user_out(u) for u in users]

    async def update_user(self, username: str, patch: UserPatch) -> UserOut:
        password_hash = None
        if not isinstance(patch.password, msgspec.UnsetType):
            problem = password_problem(patch.password, username=username)
            if problem is not None:
                raise InvalidFieldError("password", problem)
            password_hash = await asyncio.to_thread(hash_password, patch.password)
        async with self.db.sessions.begin() as session:
            user = await _user(session, username)
            if not isinstance(patch.full_name, msgspec.UnsetType):
                user.full_name = patch.full_name
            if not isinstance(patch.roles, msgspec.UnsetType):
                user.roles = sorted(set(patch.roles))
            if not isinstance(patch.active, msgspec.UnsetType):
                user.active = patch.active
                if patch.active:
                    user.failed_logins, user.locked_until = 0, None
            if password_hash is not None:
                user.password_hash = password_hash
                user.password_changed_at = utc_now()
                user.failed_logins, user.locked_until = 0, None
        return user_out(user)

    async def login(self, username: str, password: str, *, request: str) -> TokenOut:
        """A bearer token valid for `LOGIN_TOKEN_HOURS`; every attempt is an audit row."""
        signer = await self.check_password(username, password, request=request, purpose="login")
        token, digest = new_token("user")
        async with self.db.sessions.begin() as session:
            api_token = ApiToken(
                user_id=signer.user_id,
                token_hash=digest,
                name="login",
                expires_at=utc_now() + timedelta(hours=LOGIN_TOKEN_HOURS),
            )
            session.add(api_token)
            await session.flush()
            record(
                session,
                Change(
                    Actor(signer.username, "user", request),
                    "login",
                    "users",
                    str(signer.user_id),
                    None,
                    {"token_id": api_token.id, "expires_at": api_token.expires_at},
                ),
            )
        return TokenOut(
            token_id=api_token.id, name=api_token.name, expires_at=api_token.expires_at, token=token
        )

    async def check_password(
        self, username: str, password: str, *, request: str, purpose: str
    ) -> Signer:
        """The user, if `password` is theirs and they may log in; else AuthenticationError.

        Failures are counted and audited in their own transaction, so a caller that
        rolls back still leaves the failed attempt on record.
        """
        async with self.db.sessions() as session:
            user = await session.scalar(select(User).where(User.username == username))
        now = utc_now()
        if user is None:
            await asyncio.to_thread(verify_password, _DUMMY_HASH, password)
            await self._failed(None, username, request=request, purpose=purpose, why="unknown")
            raise AuthenticationError("wrong username or password")
        if user.locked_until is not None and user.locked_until > now:
            await self._failed(user.id, username, request=request, purpose=purpose, why="locked")
            raise AuthenticationError(
                f"account {username!r} is locked until {user.locked_until.isoformat()} after "
                f"{MAX_FAILED_PASSWORDS} wrong passwords"
            )
        good = await asyncio.to_thread(verify_password, user.password_hash, password)
        if not good or not user.active:
            await self._failed(
                user.id,
                username,
                request=request,
                purpose=purpose,
                why="password" if not good else "inactive",
            )
            raise AuthenticationError("wrong username or password")
        if user.failed_logins:
            async with self.db.sessions.begin() as session:
                fresh = await session.get(User, user.id)
                if fresh is not None:
                    fresh.failed_logins, fresh.locked_until = 0, None
        return Signer(
            user_id=user.id,
            username=user.username,
            full_name=user.full_name,
            roles=frozenset(user.roles) & HUMAN_ROLES,
        )

    async def _failed(
        self, user_id: int | None, username: str, *, request: str, purpose: str, why: str
    ) -> None:
        async with self.db.sessions.begin() as session:
            locked_until: datetime | None = None
            if user_id is not None and why == "password":
                user = await session.get(User, user_id)
                if user is not None:
                    user.failed_logins += 1
                    if user.failed_logins >= MAX_FAILED_PASSWORDS:
                        locked_until = utc_now() + timedelta(seconds=LOCKOUT_S)
                        user.locked_until = locked_until
            record(
                session,
                Change(
                    Actor(username[:64], "user", request),
                    f"{purpose}_failed",
                    "users",
                    "" if user_id is None else str(user_id),
                    None,
                    {"why": why, **({"locked_until": locked_until} if locked_until else {})},
                ),
            )

    async def logout(self, principal: Principal) -> None:
        await self.revoke_token(principal, principal.token_id or 0)

    async def issue_token(self, principal: Principal, data: TokenIn) -> TokenOut:
        user_id = _user_id(principal)
        token, digest = new_token("user")
        async with self.db.sessions.begin() as session:
            api_token = ApiToken(
                user_id=user_id,
                token_hash=digest,
                name=data.name,
                expires_at=utc_now() + timedelta(days=data.expires_in_days),
            )
            session.add(api_token)
            await session.flush()
        return TokenOut(
            token_id=api_token.id, name=api_token.name, expires_at=api_token.expires_at, token=token
        )

    async def list_tokens(self, principal: Principal) -> list[TokenOut]:
        user_id = _user_id(principal)
        async with self.db.sessions() as session:
            tokens = (
                await session.scalars(
                    select(ApiToken)
                    .where(
                        ApiToken.user_id == user_id,
                        ApiToken.revoked_at.is_(None),
                        ApiToken.expires_at > utc_now(),
                    )
                    .order_by(ApiToken.id)
                )
            ).all()
        return [TokenOut(token_id=t.id, name=t.name, expires_at=t.expires_at) for t in tokens]

    async def revoke_token(self, principal: Principal, token_id: int) -> None:
        user_id = _user_id(principal)
        async with self.db.sessions.begin() as session:
            api_token = await session.get(ApiToken, token_id)
            if api_token is None or api_token.user_id != user_id:
                raise NotFoundError("token", "token_id", token_id)
            if api_token.revoked_at is None:
                api_token.revoked_at = utc_now()

    async def change_password(self, principal: Principal, current: str, new: str) -> None:
        signer = await self.check_password(
            principal.name, current, request="POST /api/auth/password", purpose="password_change"
        )
        problem = password_problem(new, username=signer.username)
        if problem is not None:
            raise InvalidFieldError("new_password", problem)
        password_hash = await asyncio.to_thread(hash_password, new)
        async with self.db.sessions.begin() as session:
            user = await session.get(User, signer.user_id)
            if user is None:
                raise NotFoundError("user", "username", principal.name)
            user.password_hash = password_hash
            user.password_changed_at = utc_now()

    async def issue_device_credential(
        self, device_id: str, *, created_by: str
    ) -> DeviceCredentialOut:
        token, digest = new_token("device")
        async with self.db.sessions.begin() as session:
            if await session.scalar(select(Device.id).where(Device.device_id == device_id)) is None:
                raise NotFoundError("device", "device_id", device_id)
            credential = DeviceCredential(
                device_id=device_id, token_hash=digest, created_by=created_by
            )
            session.add(credential)
            await session.flush()
        return DeviceCredentialOut(device_id=device_id, credential_id=credential.id, token=token)

    async def revoke_device_credentials(self, device_id: str) -> int:
        async with self.db.sessions.begin() as session:
            credentials = (
                await session.scalars(
                    select(DeviceCredential).where(
                        DeviceCredential.device_id == device_id,
                        DeviceCredential.revoked_at.is_(None),
                    )
                )
            ).all()
            for credential in credentials:
                credential.revoked_at = utc_now()
        return len(credentials)


def _user_id(principal: Principal) -> int:
    if principal.user_id is None:
        raise ForbiddenError(f"{principal.kind} {principal.name!r} has no user account")
    return principal.user_id


async def _user(session: AsyncSession, username: str) -> User:
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError("user", "username", username)
    return user
