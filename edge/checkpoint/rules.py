"""The pass/hold rules: pure functions from `Facts` and the rule config to reasons.

Each rule returns the reasons it holds the unit for (empty: no objection). Every
enabled rule runs, so a hold lists all that is wrong with the unit, not just
the first thing found: the quality engineer sees the whole picture at once.
The engine adds its own reasons (outbox full, deadline missed, interlock not
verified) outside these rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from edge.checkpoint.facts import Facts
from protocols.config.rules import RulesConfig
from protocols.events import Reason

RULESET_VERSION = "tracegate-rules/1"
"""Recorded in every unit.inspected event; bump when a rule's meaning changes."""

Rule = Callable[[Facts, RulesConfig], Iterator[Reason]]


def _reason(code: str, text: str) -> Reason:
    return Reason(code=code, text=text[:1024])


def no_read(facts: Facts, rules: RulesConfig) -> Iterator[Reason]:
    if not facts.reads:
        yield _reason("no_read", "No code was read within the read window.")


def conflicting_reads(facts: Facts, rules: RulesConfig) -> Iterator[Reason]:
    distinct = facts.identification.distinct
    if len(distinct) > 1:
        yield _reason(
            "conflicting_reads",
            f"Reads of {len(distinct)} different UDIs in one window: {', '.join(distinct)}.",
        )


def invalid_udi(facts: Facts, rules: RulesConfig) -> Iterator[Reason]:
    ident = facts.identification
    if facts.reads and ident.udi is None and len(ident.distinct) <= 1:
        problems = " ".join(ident.problems) or "The reads are not a UDI."
        yield _reason("invalid_udi", problems)


def work_order_product(facts: Facts, rules: RulesConfig) -> Iterator[Reason]:
    udi, order = facts.identification.udi, facts.work_order
    if udi is not None and order is not None and udi.di not in order.products:
        yield _reason(
            "not_work_order_product",
            f"Device identifier {udi.di} is not a product of work order {order.work_order}"
            f" (expected one of {', '.join(order.products)}).",
        )


def work_order_lot(facts: Facts, rules: RulesConfig) -> Iterator[Reason]:
    udi, order, rule = facts.identification.udi, facts.work_order, rules.work_order_lot
    if udi is None or order is None:
        return
    checks = [("lot", order.lot, udi.lot)]
    if rule.match_expiry:
        checks.append(("expiry", _iso(order.expiry), _iso(udi.expiry)))
    if rule.match_production_date:
        checks.append(("production date", _iso(order.production_date), _iso(udi.production_date)))
    for what, expected, found in checks:
        if expected is not None and found != expected:
            yield _reason(
                "work_order_mismatch",
                f"The unit's {what} is {found or 'missing'}; work order {order.work_order}"
                f" expects {expected}.",
            )


def expiry(facts: Facts, rules: RulesConfig) -> Iterator[Reason]:
    udi = facts.identification.udi
    if udi is None or udi.expiry is None:
        return
    left_days = (udi.expiry - facts.today).days
    minimum = rules.expiry.min_shelf_life_days
    if left_days < 0:
        yield _reason("expired", f"Expired on {udi.expiry.isoformat()}.")
    elif left_days < minimum:
        yield _reason(
            "shelf_life_short",
            f"Expires on {udi.expiry.isoformat()}: {left_days} days of shelf life left,"
            f" {minimum} required.",
        )


def duplicate_serial(facts: Facts, rules: RulesConfig) -> Iterator[Reason]:
    udi = facts.identification.udi
    if udi is not None and udi.serial is not None and facts.duplicate_of_seq is not None:
        yield _reason(
            "duplicate_serial",
            f"Serial {udi.serial} of {udi.di} was already seen at this checkpoint"
            f" (event seq {facts.duplicate_of_seq}).",
        )


def route_predecessor(facts: Facts, rules: RulesConfig) -> Iterator[Reason]:
    if facts.identification.udi is None:
        return
    for checkpoint, answer in sorted(facts.route.items()):
        if answer == "hold":
            yield _reason("route_held", f"The unit was held at {checkpoint}.")
        elif answer == "unknown" and rules.route_predecessor.unknown_policy == "hold":
            yield _reason(
                "route_unknown", f"No record that the unit passed {checkpoint} (policy: hold)."
            )


def parameter_limits(facts: Facts, rules: RulesConfig) -> Iterator[Reason]:
    wanted = rules.parameter_limits.parameters
    for param in facts.parameters:
        if wanted is not None and param.name not in wanted:
            continue
        if param.lo is None and param.hi is None and wanted is None:
            continue
        if param.value is None:
            yield _reason("parameter_missing", f"{param.name} has not been read from the PLC.")
            continue
        if not param.fresh:
            yield _reason(
                "parameter_stale",
                f"{param.name} is {param.age_ms} ms old (max {param.max_age_ms} ms).",
            )
        if not param.in_limits:
            value = f"{param.value:g} {param.unit}".strip()
            lo = "-inf" if param.lo is None else f"{param.lo:g}"
            hi = "+inf" if param.hi is None else f"{param.hi:g}"
            yield _reason(
                "parameter_out_of_limits", f"{param.name} = {value} is outside [{lo}, {hi}]."
            )


def hold_list(facts: Facts, rules: RulesConfig) -> Iterator[Reason]:
    for match in facts.hold_matches:
        yield _reason(
            "on_hold_list", f"The {match.scope} is on hold {match.hold_id}: {match.reason}"
        )


def no_work_order(facts: Facts, rules: RulesConfig) -> Iterator[Reason]:
    if facts.work_order is None:
        yield _reason("no_work_order", "No work order is active at this checkpoint.")


def link_down(facts: Facts, rules: RulesConfig) -> Iterator[Reason]:
    if facts.links_down:
        yield _reason("link_down", f"Link down: {', '.join(sorted(facts.links_down))}.")


RULES: dict[str, Rule] = {
    "no_read": no_read,
    "conflicting_reads": conflicting_reads,
    "invalid_udi": invalid_udi,
    "work_order_product": work_order_product,
    "work_order_lot": work_order_lot,
    "expiry": expiry,
    "duplicate_serial": duplicate_serial,
    "route_predecessor": route_predecessor,
    "parameter_limits": parameter_limits,
    "hold_list": hold_list,
    "no_work_order": no_work_order,
    "link_down": link_down,
}
"""Every rule by its config name, in the order their reasons are listed."""


def evaluate(facts: Facts, rules: RulesConfig) -> tuple[Reason, ...]:
    """Every reason to hold the unit, from every enabled rule; empty means pass."""
    enabled = set(rules.enabled())
    return tuple(
        reason for name, rule in RULES.items() if name in enabled for reason in rule(facts, rules)
    )


def _iso(value: object) -> str | None:
    return None if value is None else str(value)
