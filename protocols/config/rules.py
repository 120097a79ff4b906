"""Which pass/hold rules a checkpoint applies, and their parameters.

Every rule is on unless the config switches it off: turning a check off is a
deliberate, reviewable line in the config, never an omission.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from protocols.config._base import ConfigModel, Int, Name, Problems


class Rule(ConfigModel):
    """A rule without parameters."""

    enabled: bool = True
    """Whether the rule is applied at this checkpoint."""


class WorkOrderLotRule(ConfigModel):
    """Hold a unit whose lot (and dates) are not those of the active work order."""

    enabled: bool = True
    """Whether the rule is applied at this checkpoint."""
    match_expiry: bool = True
    """Also hold when the expiry date differs from the work order's."""
    match_production_date: bool = False
    """Also hold when the production date differs from the work order's."""


class ExpiryRule(ConfigModel):
    """Hold an expired unit or lot, or one with too little shelf life left."""

    enabled: bool = True
    """Whether the rule is applied at this checkpoint."""
    min_shelf_life_days: Int = Field(0, ge=0)
    """Days that must remain before expiry, counted in the site's time zone."""


class RoutePredecessorRule(ConfigModel):
    """Hold a unit not passed at every predecessor checkpoint of the route."""

    enabled: bool = True
    """Whether the rule is applied at this checkpoint."""
    unknown_policy: Literal["hold", "pass"] = "hold"
    """What to do when the local route index has no decision for the unit (it was
    inspected while this agent was offline, or before the index began)."""
    index_max_units: Int = Field(1_000_000, ge=1)
    """Unit decisions kept in the local route index; the oldest are forgotten first."""


class ParameterLimitsRule(ConfigModel):
    """Hold a unit whose process parameters are outside their limits or too old."""

    enabled: bool = True
    """Whether the rule is applied at this checkpoint."""
    parameters: tuple[Name, ...] | None = None
    """Register names checked; none: every register of the PLC that has limits."""


class RulesConfig(ConfigModel):
    """The rule set of a checkpoint. Each hold carries the rule's reason code."""

    no_read: Rule = Rule()
    """Hold when no source read a code within the read window."""
    conflicting_reads: Rule = Rule()
    """Hold when the reads of one window name different UDIs."""
    invalid_udi: Rule = Rule()
    """Hold when the read is not a valid UDI (the parser's problems are the reason)."""
    work_order_product: Rule = Rule()
    """Hold when the device identifier is not a product of the active work order."""
    work_order_lot: WorkOrderLotRule = WorkOrderLotRule()
    """Hold when the lot or dates are not those of the active work order."""
    expiry: ExpiryRule = ExpiryRule()
    """Hold when expired or short of shelf life."""
    duplicate_serial: Rule = Rule()
    """Hold when the serial was already seen at this checkpoint."""
    route_predecessor: RoutePredecessorRule = RoutePredecessorRule()
    """Hold when the unit did not pass the route's predecessor checkpoints."""
    parameter_limits: ParameterLimitsRule = ParameterLimitsRule()
    """Hold when a process parameter is out of limits or stale."""
    hold_list: Rule = Rule()
    """Hold a unit, lot or device identifier on the hold list."""
    no_work_order: Rule = Rule()
    """Hold every unit while no work order is active."""
    link_down: Rule = Rule()
    """Hold every unit while the PLC, a scanner or the camera link is down."""

    @model_validator(mode="after")
    def _cross_field(self) -> RulesConfig:
        problems = Problems()
        names = self.parameter_limits.parameters or ()
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                problems.add(("parameter_limits", "parameters", i), f"'{name}' is listed twice")
            seen.add(name)
        problems.raise_if_any()
        return self

    def enabled(self) -> tuple[str, ...]:
        """Names of the rules switched on, in the order above."""
        return tuple(
            name for name in type(self).model_fields if getattr(self, name).enabled is True
        )
