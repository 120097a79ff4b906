"""The plant config: one YAML file per line, validated at load.

A file holds the site, the line and the checkpoints of that line. Every section is a
frozen pydantic model that rejects unknown keys; cross-field rules (unique ids, route
predecessors that exist, register maps that do not overlap, ...) are checked here so
that a config built in code is held to the same rules as one loaded from YAML.
"""

from __future__ import annotations

import zoneinfo
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from protocols.config._base import (
    ConfigModel,
    Int,
    Loc,
    Problems,
    Slug,
    describe_value,
    invalid,
    render_loc,
)
from protocols.config.links import MqttConfig, OutboxConfig, TlsFiles
from protocols.config.plc import (
    InterlockConfig,
    PlcConfig,
    PlcInput,
    PlcOutput,
    RegisterConfig,
)
from protocols.config.roles import (
    ROLES_NEEDING_A_READER,
    AssemblyConfig,
    GoodsReceiptConfig,
    MaterialConfig,
    PackingConfig,
    Role,
    ShippingConfig,
)
from protocols.config.rules import (
    ExpiryRule,
    ParameterLimitsRule,
    RoutePredecessorRule,
    Rule,
    RulesConfig,
    WorkOrderLotRule,
)
from protocols.config.sources import CameraConfig, RegionOfInterest, ScannerConfig

__all__ = [
    "AssemblyConfig",
    "CameraConfig",
    "Checkpoint",
    "ExpiryRule",
    "GoodsReceiptConfig",
    "InterlockConfig",
    "LineConfig",
    "MaterialConfig",
    "MqttConfig",
    "OutboxConfig",
    "PackingConfig",
    "ParameterLimitsRule",
    "PlantConfig",
    "PlcConfig",
    "PlcInput",
    "PlcOutput",
    "RegionOfInterest",
    "RegisterConfig",
    "Role",
    "RoutePredecessorRule",
    "Rule",
    "RulesConfig",
    "ScannerConfig",
    "ShippingConfig",
    "SiteConfig",
    "TlsFiles",
    "WorkOrderLotRule",
]


class SiteConfig(ConfigModel):
    """The plant."""

    id: Slug
    """Site identifier, the first level of every topic (``plant-ie``)."""
    name: str = Field(min_length=1)
    """Human name of the site."""
    timezone: str
    """IANA time zone of the site (``Europe/Dublin``): expiry and shelf life are counted
    in local days."""
    gs1_company_prefix: str | None = None
    """The site's GS1 company prefix (6 to 12 digits), for SSCCs generated at packing."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise invalid(
                f"unknown time zone {describe_value(value)} (expected an IANA name such as"
                " 'Europe/Dublin')"
            ) from None
        return value

    @field_validator("gs1_company_prefix")
    @classmethod
    def _prefix_digits(cls, value: str | None) -> str | None:
        digits = value is not None and value.isascii() and value.isdigit()
        if value is not None and not (digits and 6 <= len(value) <= 12):
            raise invalid(f"expected 6 to 12 digits, got {describe_value(value)}")
        return value


class LineConfig(ConfigModel):
    """The production line this file describes."""

    id: Slug
    """Line identifier, the second level of every topic (``line-1``)."""
    name: str = Field(min_length=1)
    """Human name of the line."""


class Checkpoint(ConfigModel):
    """One station of the line and the edge agent that runs it."""

    id: Slug
    """Checkpoint identifier, unique in the line; the third level of its topics."""
    name: str = Field(min_length=1)
    """Human name of the station."""
    role: Role
    """``goods_receipt``, ``assembly``, ``sealing``, ``inspection``, ``packing``,
    ``shipping`` or ``returns``."""
    device_id: Slug
    """The edge device's identifier, unique in the line: the ``device_id`` and ``seq``
    chain of every event it emits."""
    scanners: tuple[ScannerConfig, ...] = ()
    """Barcode scanners at the station."""
    camera: CameraConfig | None = None
    """A camera decoding codes, if the station has one."""
    plc: PlcConfig | None = None
    """The station's PLC: process values, trigger input and interlock outputs."""
    interlock: InterlockConfig | None = None
    """Outputs that make the PLC act on decisions (needs ``plc``)."""
    rules: RulesConfig = RulesConfig()
    """Rules applied to each unit; all on unless switched off."""
    read_window_ms: Int = Field(150, gt=0)
    """After a trigger, how long reads from every source are collected for one unit."""
    decision_deadline_ms: Int = Field(250, gt=0)
    """After a trigger, when a decision not yet made becomes a hold; must leave room
    after the read window and fit the conveyor's reject window."""
    predecessors: tuple[Slug, ...] = ()
    """Checkpoints of this line a unit must have passed before this one."""
    mqtt: MqttConfig | None = None
    """This agent's broker settings, when they differ from the line's."""
    outbox: OutboxConfig
    """This agent's outbox."""
    state_path: Path
    """SQLite file of the agent's local state: work order, hold list, route index."""
    goods_receipt: GoodsReceiptConfig | None = None
    """Settings for role ``goods_receipt``."""
    assembly: AssemblyConfig | None = None
    """Settings for role ``assembly``: which scanners read loaded component lots."""
    packing: PackingConfig | None = None
    """Settings for role ``packing`` (required there)."""
    shipping: ShippingConfig | None = None
    """Settings for role ``shipping``: whose events tell the containers' contents."""

    @model_validator(mode="after")
    def _cross_field(self) -> Checkpoint:
        problems = Problems()
        self._check_sources(problems)
        self._check_plc_use(problems)
        self._check_role_sections(problems)
        if self.decision_deadline_ms <= self.read_window_ms:
            problems.add(
                ("decision_deadline_ms",),
                f"must be greater than read_window_ms ({self.read_window_ms}),"
                f" got {self.decision_deadline_ms}",
            )
        if self.outbox.path == self.state_path:
            problems.add(("state_path",), "must not be the outbox's file")
        seen: set[str] = set()
        for i, pred in enumerate(self.predecessors):
            if pred == self.id:
                problems.add(("predecessors", i), "a checkpoint cannot precede itself")
            elif pred in seen:
                problems.add(("predecessors", i), f"'{pred}' is listed twice")
            seen.add(pred)
        problems.raise_if_any()
        return self

    def _check_sources(self, problems: Problems) -> None:
        names: set[str] = set()
        for i, scanner in enumerate(self.scanners):
            if scanner.name in names:
                problems.add(("scanners", i, "name"), f"'{scanner.name}' is already a source name")
            names.add(scanner.name)
        if self.camera is not None and self.camera.name in names:
            problems.add(("camera", "name"), f"'{self.camera.name}' is already a scanner name")
        if self.role in ROLES_NEEDING_A_READER and not self.scanners and self.camera is None:
            problems.add(
                ("scanners",),
                f"role '{self.role}' needs at least one scanner or a camera; none is configured",
            )

    def _check_plc_use(self, problems: Problems) -> None:
        plc = self.plc
        if (
            self.camera is not None
            and self.camera.trigger == "on_trigger"
            and (plc is None or plc.trigger is None)
        ):
            problems.add(("camera", "trigger"), "'on_trigger' needs plc.trigger")
        if self.interlock is not None and plc is None:
            problems.add(("interlock",), "needs a plc to write its outputs to")
        limits = self.rules.parameter_limits.parameters or ()
        known = {reg.name for reg in plc.registers} if plc is not None else set()
        for i, name in enumerate(limits):
            if name not in known:
                problems.add(
                    ("rules", "parameter_limits", "parameters", i),
                    f"no register '{name}' (registers: {', '.join(sorted(known)) or 'none'})",
                )
        if self.interlock is None or plc is None:
            return
        for key, output in self.interlock.outputs().items():
            if output.table != "holding_register":
                continue
            for reg in plc.registers:
                if reg.table == "holding_register" and (
                    reg.address <= output.address < reg.address + reg.words
                ):
                    problems.add(
                        ("interlock", key, "address"),
                        f"holding register {output.address} is polled as '{reg.name}'",
                    )

    def _check_role_sections(self, problems: Problems) -> None:
        if self.packing is not None and self.role != "packing":
            problems.add(("packing",), f"only allowed with role 'packing', not '{self.role}'")
        if self.role == "packing" and self.packing is None:
            problems.add(("packing",), "required with role 'packing'")
        if self.goods_receipt is not None and self.role != "goods_receipt":
            problems.add(
                ("goods_receipt",), f"only allowed with role 'goods_receipt', not '{self.role}'"
            )
        if self.assembly is not None and self.role != "assembly":
            problems.add(("assembly",), f"only allowed with role 'assembly', not '{self.role}'")
        if self.assembly is not None:
            names = {scanner.name for scanner in self.scanners}
            for i, name in enumerate(self.assembly.loading_scanners):
                if name not in names:
                    problems.add(
                        ("assembly", "loading_scanners", i),
                        f"no scanner '{name}' (scanners: {', '.join(sorted(names)) or 'none'})",
                    )
        if self.shipping is not None and self.role != "shipping":
            problems.add(("shipping",), f"only allowed with role 'shipping', not '{self.role}'")
        close = self.packing.close_case_input if self.packing is not None else None
        if close is not None and self.plc is None:
            problems.add(("packing", "close_case_input"), "needs a plc to read it from")


class PlantConfig(ConfigModel):
    """One line of a site: the content of one file under ``device-configs/``."""

    site: SiteConfig
    """The plant."""
    line: LineConfig
    """The line."""
    mqtt: MqttConfig
    """Broker settings of every agent on the line, unless a checkpoint overrides them."""
    checkpoints: tuple[Checkpoint, ...] = Field(min_length=1)
    """The line's checkpoints, in the order units pass them."""

    @model_validator(mode="after")
    def _cross_field(self) -> PlantConfig:
        problems = Problems()
        ids = [cp.id for cp in self.checkpoints]
        numbered = list(enumerate(self.checkpoints))
        _unique(problems, "checkpoint id", [(i, ("id",), cp.id) for i, cp in numbered])
        _unique(problems, "device_id", [(i, ("device_id",), cp.device_id) for i, cp in numbered])
        _unique(
            problems,
            "file",
            [
                use
                for i, cp in numbered
                for use in (
                    (i, ("outbox", "path"), str(cp.outbox.path)),
                    (i, ("state_path",), str(cp.state_path)),
                )
            ],
        )
        _unique(
            problems,
            "scanner port",
            [
                (i, ("scanners", j, "port"), scanner.port)
                for i, cp in numbered
                for j, scanner in enumerate(cp.scanners)
            ],
        )
        for i, cp in enumerate(self.checkpoints):
            for j, pred in enumerate(cp.predecessors):
                if pred != cp.id and pred not in ids:
                    problems.add(
                        ("checkpoints", i, "predecessors", j),
                        f"no checkpoint '{pred}' in line '{self.line.id}'"
                        f" (checkpoints: {', '.join(ids)})",
                    )
            if (
                cp.packing is not None
                and cp.packing.sscc_source == "generated"
                and self.site.gs1_company_prefix is None
            ):
                problems.add(
                    ("checkpoints", i, "packing", "sscc_source"),
                    "'generated' needs site.gs1_company_prefix",
                )
        receipts = [cp.id for cp in self.checkpoints if cp.role == "goods_receipt"]
        for i, cp in enumerate(self.checkpoints):
            named = cp.assembly.receipt_checkpoints if cp.assembly is not None else None
            for j, receipt in enumerate(named or ()):
                if receipt not in receipts:
                    problems.add(
                        ("checkpoints", i, "assembly", "receipt_checkpoints", j),
                        f"no goods_receipt checkpoint '{receipt}' in line '{self.line.id}'"
                        f" (goods_receipt checkpoints: {', '.join(receipts) or 'none'})",
                    )
        for i, cp in enumerate(self.checkpoints):
            follow = cp.shipping.follow if cp.shipping is not None else None
            for j, followed in enumerate(follow or ()):
                if followed not in ids or followed == cp.id:
                    problems.add(
                        ("checkpoints", i, "shipping", "follow", j),
                        f"no other checkpoint '{followed}' in line '{self.line.id}'"
                        f" (checkpoints: {', '.join(ids)})",
                    )
        cycle = _route_cycle(self.checkpoints)
        if cycle:
            problems.add(
                ("checkpoints", ids.index(cycle[0]), "predecessors"),
                f"the route has a cycle: {' -> '.join([*reversed(cycle), cycle[-1]])}",
            )
        problems.raise_if_any()
        return self

    def checkpoint(self, checkpoint_id: str) -> Checkpoint:
        """The checkpoint called ``checkpoint_id``; KeyError naming the known ones otherwise."""
        for cp in self.checkpoints:
            if cp.id == checkpoint_id:
                return cp
        known = ", ".join(cp.id for cp in self.checkpoints)
        raise KeyError(
            f"no checkpoint '{checkpoint_id}' in line '{self.line.id}' (checkpoints: {known})"
        )

    def mqtt_for(self, checkpoint_id: str) -> MqttConfig:
        """The broker settings the agent of ``checkpoint_id`` uses."""
        return self.checkpoint(checkpoint_id).mqtt or self.mqtt


def _unique(problems: Problems, what: str, uses: list[tuple[int, Loc, str]]) -> None:
    """Report every use of a value that an earlier checkpoint already uses. ``uses``
    holds (checkpoint index, key path within that checkpoint, value)."""
    first: dict[str, str] = {}
    for index, sub, value in uses:
        if value in first:
            problems.add(
                ("checkpoints", index, *sub),
                f"{what} {describe_value(value)} is already used by {first[value]}",
            )
        else:
            first[value] = f"checkpoints[{index}].{render_loc(sub)}"


def _route_cycle(checkpoints: tuple[Checkpoint, ...]) -> list[str]:
    """The checkpoint ids of one cycle through the predecessors, or [] when there is none."""
    preds = {cp.id: [p for p in cp.predecessors if p != cp.id] for cp in checkpoints}
    done: set[str] = set()
    for start in preds:
        path: list[str] = []
        on_path: set[str] = set()
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            node, n = stack.pop()
            if n == 0:
                if node in on_path:
                    return path[path.index(node) :]
                if node in done or node not in preds:
                    continue
                path.append(node)
                on_path.add(node)
            if n < len(preds[node]):
                stack.append((node, n + 1))
                stack.append((preds[node][n], 0))
            else:
                done.add(node)
                on_path.discard(node)
                path.pop()
    return []
