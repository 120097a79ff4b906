"""A unit's genealogy both ways, as graph nodes: what went into it (`TraceService.backward`)
and what it went into (`TraceService.forward_from_unit`, with the unit-to-unit edges among
those units, which the forward trace does not return, read in one statement)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from sqlalchemy import text

from cloud.db.database import Database
from cloud.domain.trace.expand import IdList
from cloud.domain.trace.labels import udi_text
from cloud.domain.trace.schemas import BackwardTrace, ForwardTrace, NodeOut
from cloud.domain.trace.services import TraceService
from cloud.web.graph import GraphEdge, GraphNode
from cloud.web.render import lot_link, unit_link


@dataclass(frozen=True, slots=True)
class Genealogy:
    backward: BackwardTrace
    forward: ForwardTrace
    nodes: list[GraphNode]
    edges: list[GraphEdge]


class GenealogyService:
    def __init__(self, db: Database, trace: TraceService) -> None:
        self.db = db
        self.trace = trace

    async def of_unit(self, unit_id: str) -> Genealogy:
        backward = await self.trace.backward(unit_id)
        forward = await self.trace.forward_from_unit(unit_id)
        root = backward.unit
        ids = {root.unit_id} | {u.unit_id for u in forward.units}
        pairs = await self._unit_edges(ids) if len(ids) > 1 else []
        root_key = f"unit:{root.unit_id}"
        nodes = [
            GraphNode(
                key=root_key,
                level=0,
                title=root.serial or f"lot {root.lot}",
                subtitle=root.product or root.di,
                href=unit_link(root.udi),
                kind="unit",
                status=root.status,
                root=True,
            )
        ]
        nodes += [_backward_node(n) for n in backward.nodes]
        edges = [GraphEdge(child=e.child, parent=e.parent) for e in backward.edges]
        up = _levels_up(root_key, [(f"unit:{c}", f"unit:{p}") for p, c in pairs])
        for u in forward.units:
            key = f"unit:{u.unit_id}"
            nodes.append(
                GraphNode(
                    key=key,
                    level=up.get(key, 1),
                    title=u.serial or f"lot {u.lot}",
                    subtitle=u.di,
                    href=unit_link(u.udi),
                    kind="unit",
                    status=u.status,
                )
            )
        edges += [GraphEdge(child=f"unit:{c}", parent=f"unit:{p}") for p, c in pairs]
        return Genealogy(backward=backward, forward=forward, nodes=nodes, edges=edges)

    async def _unit_edges(self, ids: set[int]) -> list[tuple[int, int]]:
        """(parent, child) unit edges among `ids`: the forward trace's structure."""
        async with self.db.sessions() as session:
            id_list = IdList(session)
            statement = text(
                "SELECT DISTINCT parent_id, child_id FROM genealogy_edges "
                "WHERE parent_kind = 'unit' AND child_kind = 'unit' AND "
                + id_list.member("child_id", "ids")
                + " AND "
                + id_list.member("parent_id", "ids")
            ).bindparams(id_list.bind("ids", ids))
            rows = (await session.execute(statement)).all()
        return sorted((int(p), int(c)) for p, c in rows)


def _levels_up(root: str, child_parent: list[tuple[str, str]]) -> dict[str, int]:
    parents: dict[str, list[str]] = {}
    for child, parent in child_parent:
        parents.setdefault(child, []).append(parent)
    level = {root: 0}
    queue = deque([root])
    while queue:
        key = queue.popleft()
        for parent in parents.get(key, ()):
            if parent not in level:
                level[parent] = level[key] + 1
                queue.append(parent)
    return level


def _backward_node(n: NodeOut) -> GraphNode:
    if n.kind == "lot":
        return GraphNode(
            key=n.key,
            level=-n.depth,
            title=f"lot {n.lot}",
            subtitle=n.di + (f" · {n.supplier}" if n.supplier else ""),
            href=lot_link(n.di, n.lot or ""),
            kind="lot",
        )
    return GraphNode(
        key=n.key,
        level=-n.depth,
        title=n.serial or f"lot {n.lot}",
        subtitle=n.di,
        href=unit_link(udi_text(n.di, serial=n.serial, lot=n.lot)),
        kind="unit",
        status=n.status or "",
    )
