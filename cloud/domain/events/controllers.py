"""HTTP routes of events: the batch ingest for ERP/WMS/LIMS and the ingest's records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from cloud.domain.errors import DomainError, UnavailableError
from cloud.domain.events.ingest import StoreUnavailableError
from cloud.domain.events.queries import EventQueryService
from cloud.domain.events.schemas import (
    DeadLetterOut,
    EventOut,
    IngestReport,
    RefusedItem,
    SeqGapOut,
)
from cloud.domain.events.validation import Incoming
from cloud.runtime import Runtime

MAX_BATCH_EVENTS = 10_000
_array_of_raw = msgspec.json.Decoder(list[msgspec.Raw])


class EventController(Controller):
    path = "/api"
    tags = ("events",)

    @post("/events", status_code=200)
    async def post_events(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
    ) -> IngestReport:
        """Store a JSON array of events exactly as MQTT ingest would (same checks, idempotent).

        Each element is stored as sent (its bytes are what the device's hash chain covers).
        Refused elements are dead-lettered and listed; the others are stored.
        """
        body = await request.body()
        try:
            raws = _array_of_raw.decode(body)
        except msgspec.DecodeError as exc:
            raise DomainError(
                f"body: expected a JSON array of events, {exc}", field="body"
            ) from None
        if len(raws) > MAX_BATCH_EVENTS:
            raise DomainError(
                f"body: expected at most {MAX_BATCH_EVENTS} events per request, got {len(raws)}",
                field="body",
            )
        now = datetime.now(UTC)
        batch = [
            Incoming(payload=bytes(raw), topic="", received_at=now, source="api") for raw in raws
        ]
        try:
            result = await runtime.events.ingest(batch)
        except StoreUnavailableError as exc:
            raise UnavailableError(str(exc)) from exc
        return IngestReport(
            stored=result.count("stored"),
            duplicates=result.count("duplicate"),
            refused=[
                RefusedItem(index=i, code=o.code or "", reason=o.reason or "")
                for i, o in enumerate(result.outcomes)
                if o.status == "refused"
            ],
            gaps_opened=result.gaps_opened,
            gaps_closed=result.gaps_closed,
        )

    @get("/events/{event_id:uuid}")
    async def get_event(
        self, event_query_service: NamedDependency[EventQueryService], event_id: FromPath[uuid.UUID]
    ) -> EventOut:
        return await event_query_service.get_event(event_id)

    @get("/dead-letters")
    async def list_dead_letters(
        self,
        event_query_service: NamedDependency[EventQueryService],
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
    ) -> list[DeadLetterOut]:
        return await event_query_service.dead_letters(limit=limit)

    @get("/seq-gaps")
    async def list_seq_gaps(
        self,
        event_query_service: NamedDependency[EventQueryService],
        open_only: FromQuery[bool] = False,
        device_id: FromQuery[str | None] = None,
    ) -> list[SeqGapOut]:
        return await event_query_service.seq_gaps(open_only=open_only, device_id=device_id)
