"""The open holds as the quality team filters them: by line, checkpoint and reason.

`HoldService.list` knows nothing of where a hold was decided; this reads the holds with
their checkpoint in one statement and shows each through the hold service's own `hold_out`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from cloud.db.database import Database
from cloud.domain.holds.models import Hold
from cloud.domain.holds.schemas import HoldOut
from cloud.domain.holds.services import hold_out
from cloud.domain.plant.models import Checkpoint, Line, Site

MAX_ROWS = 500


@dataclass(frozen=True, slots=True)
class HoldRow:
    hold: HoldOut
    where: str
    """`site/line/checkpoint` of an edge decision; "" for a hold placed from the cloud."""
    line: str
    checkpoint: str


@dataclass(frozen=True, slots=True)
class HoldBoardView:
    rows: list[HoldRow]
    truncated: bool
    lines: list[str]
    checkpoints: list[str]
    reasons: list[str]
    """Reason codes among the holds of this status (the filter's choices)."""


class HoldBoard:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def holds(
        self,
        *,
        status: str | None = "open",
        line: str = "",
        checkpoint: str = "",
        reason: str = "",
    ) -> HoldBoardView:
        query = (
            select(Hold, Site.code, Line.code, Checkpoint.code)
            .outerjoin(Checkpoint, Checkpoint.id == Hold.checkpoint_id)
            .outerjoin(Line, Line.id == Checkpoint.line_id)
            .outerjoin(Site, Site.id == Line.site_id)
            .order_by(Hold.id.desc())
        )
        if status:
            query = query.where(Hold.status == status)
        async with self.db.sessions() as session:
            found = (await session.execute(query.limit(MAX_ROWS + 1))).all()
            plant = (
                await session.execute(
                    select(Line.code, Checkpoint.code).join(
                        Checkpoint, Checkpoint.line_id == Line.id
                    )
                )
            ).all()
        codes = sorted({r["code"] for hold, *_ in found for r in hold.reasons})
        rows = []
        for hold, site, line_code, checkpoint_code in found[:MAX_ROWS]:
            if line and line_code != line:
                continue
            if checkpoint and checkpoint_code != checkpoint:
                continue
            if reason and reason not in {r["code"] for r in hold.reasons}:
                continue
            where = f"{site}/{line_code}/{checkpoint_code}" if checkpoint_code else ""
            rows.append(HoldRow(hold_out(hold), where, line_code or "", checkpoint_code or ""))
        return HoldBoardView(
            rows=rows,
            truncated=len(found) > MAX_ROWS,
            lines=sorted({ln for ln, _ in plant}),
            checkpoints=sorted({cp for _, cp in plant}),
            reasons=codes,
        )
