"""`tracegate udi ...`: parse UDIs (being written)."""

from __future__ import annotations

import typer

udi_app = typer.Typer(help="Parse and check UDIs (GS1 and HIBCC).", no_args_is_help=True)
