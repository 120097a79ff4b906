"""Signing: the password re-entered, the meaning chosen, the signed content hashed and kept.

21 CFR 11.50: the printed name, the time and the meaning are recorded with the
signature; 11.70: the hash of what was signed binds the signature to that
record; 11.200(a): both identity components (username and password) are
entered at every signing, and only the owner of the session can sign in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.database import Database
from cloud.db.types import utc_now
from cloud.domain.audit.canonical import canonical_json, sha256_hex
from cloud.domain.auth.errors import ForbiddenError
from cloud.domain.auth.principal import Principal
from cloud.domain.auth.services import AuthService, Signer
from cloud.domain.errors import InvalidFieldError, NotFoundError
from cloud.domain.signatures.models import Signature
from cloud.domain.signatures.schemas import SignedRecord, SignIn
from cloud.domain.trace.services import signature_out


class SignatureService:
    def __init__(self, db: Database, auth: AuthService) -> None:
        self.db = db
        self.auth = auth

    async def signer(
        self,
        principal: Principal,
        data: SignIn,
        *,
        meanings: Iterable[str],
        role: str,
        request: str,
    ) -> Signer:
        """Check the re-entered credentials (failures are counted and audited) and the meaning."""
        allowed = tuple(meanings)
        if data.meaning not in allowed:
            raise InvalidFieldError(
                "meaning", f"expected one of {list(allowed)}, got {data.meaning!r}"
            )
        if data.username != principal.name:
            raise ForbiddenError(
                f"a signature in this session must be {principal.name!r}'s own, "
                f"got the username {data.username!r}"
            )
        signer = await self.auth.check_password(
            data.username, data.password, request=request, purpose="signature"
        )
        if role not in signer.roles:
            raise ForbiddenError(
                f"signing this needs the role {role!r}; {signer.username!r} has "
                f"{sorted(signer.roles)}"
            )
        return signer

    async def get(self, signature_id: int) -> SignedRecord:
        async with self.db.sessions() as session:
            signature = await session.get(Signature, signature_id)
        if signature is None:
            raise NotFoundError("signature", "signature_id", signature_id)
        return SignedRecord(
            signature=signature_out(signature),
            record_type=signature.record_type,
            record_id=signature.record_id,
            content=msgspec.Raw(signature.content.encode("utf-8")),
            intact=sha256_hex(signature.content) == signature.content_hash,
            checked_at=utc_now(),
        )


async def sign(
    session: AsyncSession,
    signer: Signer,
    *,
    meaning: str,
    reason: str,
    record_type: str,
    record_id: str,
    content: Mapping[str, Any],
) -> Signature:
    """Add the signature row in the caller's transaction (it commits with the signed act)."""
    signed_at = utc_now()
    document = canonical_json(
        {
            "record_type": record_type,
            "record_id": record_id,
            "record": content,
            "meaning": meaning,
            "reason": reason,
            "signer": signer.username,
            "printed_name": signer.full_name,
            "signed_at": signed_at,
        }
    )
    signature = Signature(
        user_id=signer.user_id,
        username=signer.username,
        printed_name=signer.full_name,
        meaning=meaning,
        reason=reason,
        signed_at=signed_at,
        record_type=record_type,
        record_id=record_id,
        content=document,
        content_hash=sha256_hex(document),
    )
    session.add(signature)
    await session.flush()
    return signature


async def signatures_of(
    session: AsyncSession, record_type: str, record_ids: Iterable[str]
) -> dict[str, list[Signature]]:
    ids = list(record_ids)
    found: dict[str, list[Signature]] = {}
    if not ids:
        return found
    rows = await session.scalars(
        select(Signature)
        .where(Signature.record_type == record_type, Signature.record_id.in_(ids))
        .order_by(Signature.id)
    )
    for signature in rows:
        found.setdefault(signature.record_id, []).append(signature)
    return found
