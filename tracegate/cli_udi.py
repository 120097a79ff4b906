"""`tracegate udi ...`: parse UDIs from GS1 and HIBCC barcodes."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from protocols.udi import Udi

udi_app = typer.Typer(help="Parse and check UDIs (GS1 and HIBCC).", no_args_is_help=True)

GS = "\x1d"
_ESCAPED_GS = re.compile(r"\\x1d", re.IGNORECASE)


@udi_app.command("parse")
def parse_command(
    texts: Annotated[
        list[str],
        typer.Argument(
            metavar="TEXT",
            help=(
                "The barcode's text. A GS may be given literally or as the four characters "
                "\\x1d. Give several texts for the symbols of one unit (a HIBC primary and "
                "its separate secondary)."
            ),
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
    separators: Annotated[
        list[str] | None,
        typer.Option(
            "--separator",
            help="A character that ends a GS1 variable-length field (repeatable; default GS).",
        ),
    ] = None,
) -> None:
    """Parse a UDI and list every problem found. Exit 0 when valid, 1 when not."""
    from protocols.udi import inspect_udi_reads, udi_to_json_dict

    reads = [_ESCAPED_GS.sub(GS, text) for text in texts]
    chosen = [_ESCAPED_GS.sub(GS, char) for char in separators] if separators else [GS]
    bad = [char for char in chosen if len(char) != 1]
    if bad:
        raise typer.BadParameter(
            f"expected single characters, got {bad!r}", param_hint="'--separator'"
        )
    udi, problems = inspect_udi_reads(reads, separators=chosen)
    result = udi_to_json_dict(udi, problems)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        _print_table(udi, problems)
    raise typer.Exit(0 if result["valid"] else 1)


def _print_table(udi: Udi | None, problems: tuple[str, ...]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    valid = udi is not None and not problems
    table = Table(
        title=Text("valid UDI" if valid else "invalid UDI", style="green" if valid else "red"),
        show_header=False,
    )
    table.add_column("field", style="bold")
    table.add_column("value")
    fields = {
        "issuer": udi.issuer if udi else None,
        "DI": udi.di if udi else None,
        "lot": udi.lot if udi else None,
        "serial": udi.serial if udi else None,
        "expiry": udi.expiry.isoformat() if udi and udi.expiry else None,
        "production date": (
            udi.production_date.isoformat() if udi and udi.production_date else None
        ),
        "symbology": udi.symbology if udi else None,
    }
    for name, value in fields.items():
        table.add_row(name, Text("-", style="dim") if value is None else Text(value))
    console = Console()
    console.print(table)
    for problem in problems:
        console.print(Text(f"✗ {problem}", style="red"))
