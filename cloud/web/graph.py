"""A genealogy drawn as SVG on the server: columns by level, components left, products right.

Pure layout: nodes with a level (negative: went into the unit; positive: the unit went
into it; 0: the unit itself) and edges (child -> parent) in, SVG text out. Each node is a
link. A column shows at most `MAX_PER_COLUMN` nodes and says how many more there are, so
a lot that went into thousands of units still draws a readable page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

NODE_W, NODE_H = 184, 46
COL_GAP, ROW_GAP, PAD = 64, 12, 16
MAX_PER_COLUMN = 40


@dataclass(frozen=True, slots=True)
class GraphNode:
    key: str
    level: int
    title: str
    """First line: serial, or `lot ...`."""
    subtitle: str
    """Second line: the DI (and product name when known)."""
    href: str
    kind: str
    """`unit` or `lot`."""
    status: str = ""
    root: bool = False


@dataclass(frozen=True, slots=True)
class GraphEdge:
    child: str
    parent: str


@dataclass(frozen=True, slots=True)
class Placed:
    node: GraphNode
    x: int
    y: int


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def place(nodes: Sequence[GraphNode]) -> tuple[dict[str, Placed], dict[int, int], int, int]:
    """Node positions, the hidden count per level, and the drawing's width and height."""
    columns: dict[int, list[GraphNode]] = defaultdict(list)
    for node in nodes:
        columns[node.level].append(node)
    levels = sorted(columns)
    placed: dict[str, Placed] = {}
    hidden: dict[int, int] = {}
    tallest = 0
    for index, level in enumerate(levels):
        column = sorted(columns[level], key=lambda n: (n.kind, n.subtitle, n.title))
        shown = column[:MAX_PER_COLUMN]
        hidden[level] = len(column) - len(shown)
        rows = len(shown) + (1 if hidden[level] else 0)
        tallest = max(tallest, rows)
        for row, node in enumerate(shown):
            placed[node.key] = Placed(
                node, PAD + index * (NODE_W + COL_GAP), PAD + row * (NODE_H + ROW_GAP)
            )
    width = PAD * 2 + len(levels) * NODE_W + max(len(levels) - 1, 0) * COL_GAP
    height = PAD * 2 + tallest * (NODE_H + ROW_GAP) - ROW_GAP + 22
    return placed, hidden, width, max(height, NODE_H + 2 * PAD)


def _level_label(level: int) -> str:
    if level == 0:
        return "this unit"
    if level < 0:
        return "component" if level == -1 else f"{-level} levels down"
    return "used in" if level == 1 else f"{level} levels up"


def render(nodes: Sequence[GraphNode], edges: Sequence[GraphEdge], *, label: str) -> Markup:
    """The SVG element (escaped text, links on every node)."""
    placed, hidden, width, height = place(nodes)
    parts = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(label)}">',
        "<title>" + escape(label) + "</title>",
    ]
    for edge in edges:
        a, b = placed.get(edge.child), placed.get(edge.parent)
        if a is None or b is None:
            continue
        (x1, y1), (x2, y2) = _edge_ends(a, b)
        mid = (x1 + x2) // 2
        parts.append(
            f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" '
            'stroke="#8aa0b4" stroke-width="1.4"/>'
        )
    for p in placed.values():
        parts.append(_node(p))
    levels = sorted({p.node.level for p in placed.values()})
    for index, level in enumerate(levels):
        x = PAD + index * (NODE_W + COL_GAP)
        if hidden.get(level):
            shown = sum(1 for p in placed.values() if p.node.level == level)
            y = PAD + shown * (NODE_H + ROW_GAP) + 18
            parts.append(
                f'<text x="{x + 6}" y="{y}" font-size="12" fill="#5d6b7a">'
                f"+ {hidden[level]:,} more</text>"
            )
        parts.append(
            f'<text x="{x}" y="{height - 6}" font-size="11" fill="#5d6b7a">'
            f"{escape(_level_label(level))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _edge_ends(child: Placed, parent: Placed) -> tuple[tuple[int, int], tuple[int, int]]:
    if child.x < parent.x:
        return (child.x + NODE_W, child.y + NODE_H // 2), (parent.x, parent.y + NODE_H // 2)
    return (child.x, child.y + NODE_H // 2), (parent.x + NODE_W, parent.y + NODE_H // 2)


_FILL = {"lot": "#f6efe4", "unit": "#eaf2f9"}
_STROKE = {"lot": "#a07a3c", "unit": "#0b5c8c"}


def _node(p: Placed) -> str:
    n = p.node
    stroke = "#b3261e" if n.status in ("held", "scrapped") else _STROKE.get(n.kind, "#555")
    width = 3 if n.root else 1.5
    fill = "#fff7d6" if n.root else _FILL.get(n.kind, "#fff")
    status = f" · {n.status}" if n.status else ""
    marker = ' data-root="1"' if n.root else ""
    return (
        f'<a href="{escape(n.href)}"{marker}><title>{escape(n.title)} — {escape(n.subtitle)}'
        f"{escape(status)}</title>"
        f'<rect x="{p.x}" y="{p.y}" width="{NODE_W}" height="{NODE_H}" rx="6" '
        f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"/>'
        f'<text x="{p.x + 8}" y="{p.y + 18}" font-size="13" font-weight="600" fill="#1d2733">'
        f"{escape(_clip(n.title, 24))}</text>"
        f'<text x="{p.x + 8}" y="{p.y + 35}" font-size="11" fill="#5d6b7a">'
        f"{escape(_clip(n.subtitle + status, 30))}</text></a>"
    )
