"""Load a plant config from YAML, with every problem pointing at its file and line.

PyYAML composes the node tree first, which keeps each node's position; walking it
maps every key path to its line and finds duplicate keys (which PyYAML would silently
let the last one win). The constructed data is then validated by the schema, and each
pydantic error becomes a ``ConfigProblem`` at the line of the key it concerns.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import yaml
from pydantic import ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from protocols.config._base import Loc, render_loc
from protocols.config.messages import plain_problems
from protocols.config.problems import ConfigError, ConfigProblem
from protocols.config.schema import PlantConfig

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"


def load_plant_text(text: str, *, source: str) -> PlantConfig:
    """Validate the YAML ``text`` of a plant config; ``source`` names it in problems.

    Raises ``ConfigError`` listing every problem found, in line order.
    """
    document = _compose(text, source=source)
    problems = list(document.problems)
    try:
        plant = PlantConfig.model_validate(document.data)
    except ValidationError as exc:
        # Non-text keys were already reported, at their line, by the walk of the nodes.
        errors = [e for e in exc.errors() if e["type"] != "invalid_key"]
        for loc, message in plain_problems(errors, root=PlantConfig):
            problems.append(ConfigProblem(source, document.line_of(loc), render_loc(loc), message))
        raise ConfigError(_in_file_order(problems)) from None
    if problems:
        raise ConfigError(_in_file_order(problems))
    return plant


def load_plant_file(path: str | os.PathLike[str]) -> PlantConfig:
    """Read and validate the plant config at ``path`` (named in problems as given)."""
    source = os.fspath(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(source, None, "", "no such file")]) from None
    except IsADirectoryError:
        raise ConfigError([ConfigProblem(source, None, "", "is a directory, not a file")]) from None
    except OSError as exc:
        problem = ConfigProblem(source, None, "", f"cannot read: {exc.strerror}")
        raise ConfigError([problem]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start}"
        raise ConfigError([ConfigProblem(source, line, "", message)]) from None
    return load_plant_text(text, source=source)


def config_hash(plant: PlantConfig) -> str:
    """SHA-256 (hex) of the config's canonical content: the same for any file that means
    the same thing, whatever its comments, key order, quoting or omitted defaults."""
    content = plant.model_dump(mode="json", by_alias=True)
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class _Document:
    """The constructed data of a YAML document, the line of each key path in it, and
    the problems its structure has (duplicate or non-text keys)."""

    def __init__(self, source: str, data: object, lines: dict[Loc, int]) -> None:
        self.source = source
        self.data = data
        self.lines = lines
        self.problems: list[ConfigProblem] = []

    def line_of(self, loc: Loc) -> int:
        """Line of ``loc``, or of its nearest ancestor present in the file (a missing
        key is reported at the mapping that lacks it)."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return 1


def _compose(text: str, *, source: str) -> _Document:
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        raise ConfigError([_reader_problem(exc, text, source)]) from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError(
                [
                    ConfigProblem(
                        source,
                        1,
                        "",
                        "the file is empty; expected a plant config (site, line, mqtt,"
                        " checkpoints)",
                    )
                ]
            )
        lines: dict[Loc, int] = {(): node.start_mark.line + 1}
        structure: list[ConfigProblem] = []
        _walk(node, (), lines, structure, source=source, ancestors=set())
        document = _Document(source, loader.construct_document(node), lines)
        document.problems.extend(structure)
        return document
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_syntax_problem(exc, source)]) from None
    except yaml.reader.ReaderError as exc:
        raise ConfigError([_reader_problem(exc, text, source)]) from None
    finally:
        loader.dispose()


def _reader_problem(exc: yaml.reader.ReaderError, text: str, source: str) -> ConfigProblem:
    line = text[: exc.position].count("\n") + 1
    char = exc.character if isinstance(exc.character, int) else ord(exc.character)
    message = f"YAML syntax error: control character U+{char:04X} is not allowed"
    return ConfigProblem(source, line, "", message)


def _syntax_problem(exc: yaml.MarkedYAMLError, source: str) -> ConfigProblem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    what = exc.problem or "malformed YAML"
    # A constructor error is well-formed YAML that PyYAML's safe loader will not build
    # (a !!python/object tag); the rest are syntax errors.
    syntax = not isinstance(exc, yaml.constructor.ConstructorError)
    label = "YAML syntax error" if syntax else "YAML error"
    if exc.context:
        what = f"{what} ({exc.context}"
        if exc.context_mark is not None and exc.context_mark is not mark:
            what += f" at line {exc.context_mark.line + 1}"
        what += ")"
    return ConfigProblem(source, line, "", f"{label}: {what}")


def _walk(
    node: Node,
    path: Loc,
    lines: dict[Loc, int],
    problems: list[ConfigProblem],
    *,
    source: str,
    ancestors: set[int],
) -> None:
    # An alias may point back at an enclosing node; such a config is rejected by the
    # schema anyway, so the walk only has to terminate.
    if id(node) in ancestors:
        return
    ancestors = ancestors | {id(node)}
    if isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _walk(item, (*path, i), lines, problems, source=source, ancestors=ancestors)
    elif isinstance(node, MappingNode):
        _walk_mapping(node, path, lines, problems, source=source, ancestors=ancestors)


def _walk_mapping(
    node: MappingNode,
    path: Loc,
    lines: dict[Loc, int],
    problems: list[ConfigProblem],
    *,
    source: str,
    ancestors: set[int],
) -> None:
    first_line: dict[str, int] = {}
    merged: list[Node] = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE_TAG:
            merged.append(value_node)
            continue
        line = key_node.start_mark.line + 1
        if not isinstance(key_node, ScalarNode) or key_node.tag != _STR_TAG:
            shown = key_node.value if isinstance(key_node, ScalarNode) else "a collection"
            problems.append(
                ConfigProblem(
                    source,
                    line,
                    render_loc(path),
                    f"keys must be text, got {shown} (put it in quotes to make it text)",
                )
            )
            continue
        key = str(key_node.value)
        here = (*path, key)
        if key in first_line:
            problems.append(
                ConfigProblem(
                    source,
                    line,
                    render_loc(here),
                    f"duplicate key '{key}' (first at line {first_line[key]})",
                )
            )
            continue
        first_line[key] = line
        lines[here] = line
        _walk(value_node, here, lines, problems, source=source, ancestors=ancestors)
    # `<<: *defaults` keys count only where the mapping does not set them itself; they
    # are found at the line of the anchored mapping they come from.
    for value_node in merged:
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        for merged_node in sources:
            if not isinstance(merged_node, MappingNode):
                continue
            sub: dict[Loc, int] = {}
            _walk_mapping(merged_node, path, sub, [], source=source, ancestors=ancestors)
            for loc, line in sub.items():
                lines.setdefault(loc, line)


def _in_file_order(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    return sorted(problems, key=lambda p: (p.file, p.line or 0))
