"""`tracegate trace ...`: ask a running cloud service what went into a unit, or where a lot went.

httpx and rich are imported inside the command: the CLI loads on an edge device too.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import typer

if TYPE_CHECKING:
    from rich.tree import Tree

DEFAULT_URL = "http://127.0.0.1:8000"


def trace_command(
    unit: Annotated[
        str | None,
        typer.Argument(
            metavar="UDI",
            help="The unit: a UDI as `tracegate udi parse` reads it (a GS may be written \\x1d), "
            "or DI:SERIAL.",
        ),
    ] = None,
    forward: Annotated[
        bool,
        typer.Option(
            "--forward", help="Where it went: every unit containing the lot (or the UDI's unit)."
        ),
    ] = False,
    history: Annotated[
        bool, typer.Option("--history", help="The unit's device history record instead.")
    ] = False,
    di: Annotated[str | None, typer.Option("--di", help="DI of the lot (with --forward).")] = None,
    lot: Annotated[str | None, typer.Option("--lot", help="The lot (with --forward).")] = None,
    url: Annotated[
        str | None,
        typer.Option("--url", help=f"The service (default $TRACEGATE_URL or {DEFAULT_URL})."),
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", help="API token (default $TRACEGATE_TOKEN).")
    ] = None,
    timeout_s: Annotated[float, typer.Option("--timeout-s", help="Request timeout.")] = 30.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the service's JSON.")] = False,
) -> None:
    """Trace a unit backward (default), forward (--forward), or show its history (--history)."""
    path, params = _request(unit, forward=forward, history=history, di=di, lot=lot)
    body = _get(
        (url or os.environ.get("TRACEGATE_URL") or DEFAULT_URL).rstrip("/") + path,
        params=params,
        token=token or os.environ.get("TRACEGATE_TOKEN"),
        timeout_s=timeout_s,
    )
    if as_json:
        typer.echo(json.dumps(body, indent=2))
    elif forward:
        _print_forward(body)
    elif history:
        _print_history(body)
    else:
        _print_backward(body)


def _request(
    unit: str | None, *, forward: bool, history: bool, di: str | None, lot: str | None
) -> tuple[str, dict[str, str]]:
    if forward and history:
        raise typer.BadParameter("give --forward or --history, not both", param_hint="'--history'")
    if forward:
        if unit is not None and (di or lot):
            raise typer.BadParameter("give a UDI or --di and --lot, not both", param_hint="UDI")
        if unit is not None:
            return "/api/trace/forward", {"unit": unit}
        if not (di and lot):
            raise typer.BadParameter(
                "expected --di and --lot (or a UDI) with --forward", param_hint="'--lot'"
            )
        return "/api/trace/forward", {"di": di, "lot": lot}
    if unit is None:
        raise typer.BadParameter("expected the unit's UDI", param_hint="UDI")
    if di or lot:
        raise typer.BadParameter("--di and --lot go with --forward", param_hint="'--di'")
    encoded = quote(unit.replace("\\x1d", "\x1d"), safe="")
    return (f"/api/units/{encoded}" if history else f"/api/trace/backward/{encoded}"), {}


def _get(url: str, *, params: dict[str, str], token: str | None, timeout_s: float) -> Any:
    import httpx

    if not token:
        typer.echo("no API token: pass --token or set TRACEGATE_TOKEN", err=True)
        raise typer.Exit(2)
    try:
        response = httpx.get(
            url,
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )
    except httpx.HTTPError as exc:
        typer.echo(f"{url}: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(3) from None
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        typer.echo(f"{url}: {response.status_code}: {detail}", err=True)
        raise typer.Exit(1)
    return response.json()


def _measurements(items: list[dict[str, Any]]) -> str:
    parts = []
    for m in items:
        low, high = ("" if v is None else f"{v:g}" for v in (m["low"], m["high"]))
        limits = f"[{low}..{high}]"
        mark = "ok" if m["in_limits"] else "OUT"
        parts.append(f"{m['checkpoint']}:{m['parameter']}={m['value']:g}{m['uom']} {limits} {mark}")
    return "; ".join(parts)


def _label(node: dict[str, Any]) -> str:
    if node["kind"] == "lot":
        supplier = f" from {node['supplier']}" if node.get("supplier") else ""
        return f"lot {node['di']}/{node['lot']}{supplier}"
    ident = node["serial"] or node["lot"]
    process = _measurements(node.get("measurements", []))
    return f"unit {node['di']}/{ident} [{node.get('status')}]" + (f"  {process}" if process else "")


def _print_backward(body: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.text import Text
    from rich.tree import Tree

    unit = body["unit"]
    root = Tree(Text(f"{unit['udi']} [{unit['status']}]  {_measurements(body['measurements'])}"))
    nodes = {n["key"]: n for n in body["nodes"]}
    children: dict[str, list[str]] = {}
    for edge in body["edges"]:
        children.setdefault(edge["parent"], []).append(edge["child"])

    def grow(branch: Tree, key: str, seen: frozenset[str]) -> None:
        for child in children.get(key, []):
            if child in seen:
                continue
            grow(branch.add(Text(_label(nodes[child]))), child, seen | {child})

    grow(root, f"unit:{unit['unit_id']}", frozenset())
    Console().print(root)


def _print_forward(body: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"forward trace of {body['origin']}")
    for column in ("UDI", "stage", "container", "pallet", "shipment", "recipient"):
        table.add_column(column)
    for u in body["units"]:
        table.add_row(
            u["udi"],
            u["stage"],
            u["container"] or "",
            u["outer_container"] or "",
            u["shipment"] or "",
            u["recipient_name"] or "",
        )
    console = Console()
    console.print(table)
    console.print(", ".join(f"{stage}: {n}" for stage, n in body["by_stage"].items()))


def _print_history(body: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    unit = body["unit"]
    table = Table(title=Text(f"{unit['udi']} [{unit['status']}]"))
    for column in ("time", "event", "role", "where", "decision"):
        table.add_column(column)
    for e in body["events"]:
        reasons = "; ".join(r["code"] for r in e["reasons"])
        table.add_row(
            e["occurred_at"],
            e["kind"],
            e["role"],
            f"{e['line']}/{e['checkpoint']}",
            (e["decision"] or "") + (f" ({reasons})" if reasons else ""),
        )
    console = Console()
    console.print(table)
    placement = body["placement"]
    console.print(
        f"container {placement['container'] or '-'}, pallet {placement['outer_container'] or '-'},"
        f" shipment {placement['shipment'] or '-'}"
    )
    for hold in body["holds"]:
        console.print(
            f"hold {hold['hold_id']} {hold['status']}: "
            + "; ".join(r["text"] or r["code"] for r in hold["reasons"])
        )
        for d in hold["dispositions"]:
            signature = d["signature"] or {}
            console.print(
                Text(
                    f"  {d['decision']} by {signature.get('printed_name', d['decided_by'])} "
                    f"({signature.get('meaning', '')}) at {d['decided_at']}: {d['reason']}"
                )
            )
