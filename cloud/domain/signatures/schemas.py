"""Request and response bodies of signed acts: dispositions, and signatures themselves."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from cloud.domain.trace.schemas import DispositionOut, HoldSummary, SignatureOut

Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Meaning = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class SignIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The signature's parts: both components of the signer's identity are entered again
    (21 CFR 11.200(a)), the meaning chosen, the reason given."""

    meaning: Meaning
    reason: Reason
    username: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    password: Secret


class DispositionIn(SignIn, frozen=True, kw_only=True, forbid_unknown_fields=True):
    decision: Literal["release", "scrap", "rework", "quarantine"]


class DispositionResult(msgspec.Struct, frozen=True, kw_only=True):
    hold: HoldSummary
    disposition: DispositionOut
    units_changed: int
    """Units whose status the decision changed."""
    commands_queued: int
    """`cmd/release` messages queued to the edges (holds placed from the cloud only)."""


class SignedRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A signature with exactly what was signed, and whether it still matches its hash."""

    signature: SignatureOut
    record_type: str
    record_id: str
    content: msgspec.Raw
    """The canonical JSON that was signed."""
    intact: bool
    """sha256(content) equals the hash recorded at signing."""
    checked_at: datetime
