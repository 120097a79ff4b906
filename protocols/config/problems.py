"""What is wrong with a config file, said so that a person can find and fix it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One problem in one file, at one line and key path."""

    file: str
    """The file as the user named it (``device-configs/line-1.yaml``)."""
    line: int | None
    """1-based line, or None when the problem concerns the file as a whole."""
    path: str
    """Key path (``checkpoints[3].plc.registers[1].scale``); empty for syntax errors."""
    message: str
    """What was expected and what was found, in plain words."""

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.path:
            return f"{where} {self.path}: {self.message}"
        return f"{where}: {self.message}"


class ConfigError(ValueError):
    """A config that cannot be used; ``problems`` lists everything found, in file order."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
