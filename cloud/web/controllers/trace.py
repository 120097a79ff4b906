"""Trace pages: the search box, a unit's history record, its genealogy, a lot, a container."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect

from cloud.domain.trace.schemas import MeasurementOut
from cloud.domain.trace.services import TraceService
from cloud.web.charts import gauge
from cloud.web.finder import Finder
from cloud.web.genealogy import GenealogyService
from cloud.web.graph import render
from cloud.web.render import page
from cloud.web.session import PREFIX

MAX_LOT_ROWS = 500


def _pretty(payload: bytes) -> str:
    try:
        return json.dumps(json.loads(payload), indent=2, ensure_ascii=False)
    except ValueError:
        return payload.decode("utf-8", "replace")


class TraceController(Controller):
    path = PREFIX
    tags = ("console",)

    @get("/search")
    async def search(
        self,
        request: Request[Any, Any, Any],
        finder: NamedDependency[Finder],
        q: FromQuery[str] = "",
    ) -> Response[Any]:
        outcome = await finder.search(q)
        if outcome.redirect is not None:
            return Redirect(outcome.redirect, status_code=303)
        return page(request, "search.html", active="search", outcome=outcome)

    @get("/unit")
    async def unit(
        self,
        request: Request[Any, Any, Any],
        trace_service: NamedDependency[TraceService],
        genealogy_service: NamedDependency[GenealogyService],
        id: FromQuery[str],
    ) -> Response[str]:
        """The device history record, with the genealogy drawn both ways."""
        history = await trace_service.history(id)
        graph = await genealogy_service.of_unit(id)
        by_event: dict[str, list[MeasurementOut]] = defaultdict(list)
        for m in history.measurements:
            by_event[str(m.event_id)].append(m)
        return page(
            request,
            "unit.html",
            active="search",
            h=history,
            by_event=by_event,
            gauge=gauge,
            pretty=lambda raw: _pretty(bytes(raw)),
            svg=render(graph.nodes, graph.edges, label=f"Genealogy of {history.unit.udi}"),
            graph=graph,
        )

    @get("/genealogy")
    async def genealogy(
        self,
        request: Request[Any, Any, Any],
        genealogy_service: NamedDependency[GenealogyService],
        id: FromQuery[str],
    ) -> Response[str]:
        """The genealogy alone, full width, with every node listed."""
        graph = await genealogy_service.of_unit(id)
        unit = graph.backward.unit
        return page(
            request,
            "genealogy.html",
            active="search",
            unit=unit,
            graph=graph,
            hrefs={n.key: n.href for n in graph.nodes},
            svg=render(graph.nodes, graph.edges, label=f"Genealogy of {unit.udi}"),
        )

    @get("/lot")
    async def lot(
        self,
        request: Request[Any, Any, Any],
        finder: NamedDependency[Finder],
        trace_service: NamedDependency[TraceService],
        di: FromQuery[str],
        lot: FromQuery[str],
    ) -> Response[str]:
        """A lot's record and everything made from it (the forward trace)."""
        view = await finder.lot(di, lot)
        forward = await trace_service.forward_from_lot(di, lot)
        return page(
            request,
            "lot.html",
            active="search",
            lot=view,
            forward=forward,
            rows=forward.units[:MAX_LOT_ROWS],
            recall_lots=f"{di} {lot}",
        )

    @get("/container")
    async def container(
        self, request: Request[Any, Any, Any], finder: NamedDependency[Finder], sscc: FromQuery[str]
    ) -> Response[str]:
        view = await finder.container(sscc)
        return page(request, "container.html", active="search", c=view)
