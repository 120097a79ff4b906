"""Users, tokens and device credentials for the cloud tests, written straight to the database.

The password hash is computed once per process: argon2 is slow on purpose
(about 0.2 s here), and most tests only need a token.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import timedelta

from cloud.db.database import Database
from cloud.db.types import utc_now
from cloud.domain.auth.credentials import hash_password, new_token
from cloud.domain.auth.models import ApiToken, DeviceCredential, User

PASSWORD = "correct horse battery"


@functools.cache
def password_hash() -> str:
    return hash_password(PASSWORD)


async def bearer(
    db: Database, *, username: str, roles: Iterable[str], full_name: str | None = None
) -> dict[str, str]:
    """Create a user (password `PASSWORD`) and return headers with a token of theirs."""
    token, digest = new_token("user")
    async with db.sessions.begin() as session:
        user = User(
            username=username,
            full_name=full_name or username.title(),
            roles=sorted(roles),
            password_hash=password_hash(),
        )
        session.add(user)
        await session.flush()
        session.add(
            ApiToken(
                user_id=user.id,
                token_hash=digest,
                name="test",
                expires_at=utc_now() + timedelta(hours=1),
            )
        )
    return {"Authorization": f"Bearer {token}"}


async def device_bearer(db: Database, device_id: str) -> dict[str, str]:
    """Headers with a credential of a registered device."""
    token, digest = new_token("device")
    async with db.sessions.begin() as session:
        session.add(DeviceCredential(device_id=device_id, token_hash=digest, created_by="test"))
    return {"Authorization": f"Bearer {token}"}
