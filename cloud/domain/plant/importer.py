"""Read the plant files of device-configs/ into checkpoints to import."""

from __future__ import annotations

from pathlib import Path

from cloud.domain.plant.services import PlantCheckpoint
from protocols.config import load_plant_file


def plant_files(path: Path) -> list[Path]:
    """`path` itself if it is a file, else its `*.yaml` / `*.yml` files in name order."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: expected a plant file or a folder of them, found nothing")
    return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))


def read_plant(path: Path) -> list[PlantCheckpoint]:
    """Every checkpoint of every plant file; raises ConfigError naming file, line and key."""
    entries: list[PlantCheckpoint] = []
    for file in plant_files(path):
        plant = load_plant_file(file)
        for checkpoint in plant.checkpoints:
            entries.append(
                PlantCheckpoint(
                    site=plant.site.id,
                    line=plant.line.id,
                    checkpoint=checkpoint.id,
                    device_id=checkpoint.device_id,
                    site_name=plant.site.name,
                    line_name=plant.line.name,
                    checkpoint_name=checkpoint.name,
                )
            )
    return entries
