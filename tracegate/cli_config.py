"""`tracegate config ...`: validate device configs (being written)."""

from __future__ import annotations

import typer

config_app = typer.Typer(help="Validate plant device configs.", no_args_is_help=True)
