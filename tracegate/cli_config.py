"""`tracegate config ...`: validate plant device configs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from protocols.config import ConfigProblem

config_app = typer.Typer(help="Validate plant device configs.", no_args_is_help=True)

_SUFFIXES = (".yaml", ".yml")


@config_app.command("validate")
def validate(
    paths: list[Path] = typer.Argument(  # noqa: B008  (typer reads its options from defaults)
        ...,
        metavar="PATH",
        help="Config files, or directories whose .yaml/.yml files are all checked.",
    ),
) -> None:
    """Check plant configs: print OK per valid file, or every problem as FILE:LINE PATH: MESSAGE.

    Exits 0 when every file is valid, 1 otherwise.
    """
    from rich.console import Console

    from protocols.config import ConfigError, config_hash, load_plant_file

    console = Console(highlight=False, soft_wrap=True, emoji=False)
    files, missing = _expand(paths)
    problems: list[ConfigProblem] = list(missing)
    invalid = len(missing)
    for file in files:
        try:
            plant = load_plant_file(file)
        except ConfigError as exc:
            invalid += 1
            count = len(exc.problems)
            console.print(
                f"[bold red]FAIL[/] {_escape(str(file))} ({count} problem{'s' * (count != 1)})"
            )
            for problem in exc.problems:
                # Plain text, one line each: `grep`, editors and CI annotate FILE:LINE.
                console.print(str(problem), markup=False)
            problems.extend(exc.problems)
            continue
        console.print(
            f"[bold green]OK[/] {_escape(str(file))} (line {plant.line.id},"
            f" {len(plant.checkpoints)} checkpoints, config hash {config_hash(plant)[:12]})"
        )
    for problem in missing:
        console.print(str(problem), markup=False)
    checked = len(files) + len(missing)
    if invalid:
        console.print(f"{invalid} of {checked} config{'s' * (checked != 1)} invalid")
        raise typer.Exit(code=1)
    console.print(f"{checked} config{'s' * (checked != 1)} valid")


def _expand(paths: list[Path]) -> tuple[list[Path], list[ConfigProblem]]:
    """The config files named by ``paths`` (directories searched recursively), and a
    problem for each path that names none."""
    from protocols.config import ConfigProblem

    files: list[Path] = []
    problems: list[ConfigProblem] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.suffix in _SUFFIXES and p.is_file())
            if not found:
                problems.append(ConfigProblem(str(path), None, "", "no .yaml or .yml files found"))
            files.extend(found)
        elif path.exists():
            files.append(path)
        else:
            problems.append(ConfigProblem(str(path), None, "", "no such file or directory"))
    return files, problems


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
