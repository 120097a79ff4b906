"""`GET /api/epcis/events`: an EPCIS 2.0 JSON-LD document of the selected events."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery, QueryParameter

from cloud.domain.epcis.services import EpcisService, EventFilter


class EpcisController(Controller):
    path = "/api/epcis"
    tags = ("export",)

    @get("/events", cache=False)
    async def events(
        self,
        epcis_service: NamedDependency[EpcisService],
        start: Annotated[dt.datetime | None, QueryParameter(name="from")] = None,
        end: Annotated[dt.datetime | None, QueryParameter(name="to")] = None,
        kind: FromQuery[list[str] | None] = None,
        di: FromQuery[str | None] = None,
        lot: FromQuery[str | None] = None,
        serial: FromQuery[str | None] = None,
        site: FromQuery[str | None] = None,
        line: FromQuery[str | None] = None,
        checkpoint: FromQuery[str | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=10_000)] = 1000,
        include_holds: FromQuery[bool] = True,
    ) -> Response[dict[str, Any]]:
        """Events `from` <= occurredAt < `to`, of the `kind`s given, of one DI (and lot or
        serial), at one site/line/checkpoint; holds placed from the cloud included."""
        body = await epcis_service.events(
            EventFilter(
                start=start,
                end=end,
                kinds=tuple(kind or ()),
                di=di,
                lot=lot,
                serial=serial,
                site=site,
                line=line,
                checkpoint=checkpoint,
                limit=limit,
                include_holds=include_holds,
            )
        )
        return Response(body, media_type="application/ld+json")
