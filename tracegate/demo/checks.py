"""Did each injected fault end as it must: the unit held where planned, for the planned
reason, with the reject output on its PLC, and the kill losing nothing?"""

from __future__ import annotations

from collections.abc import Mapping

from tracegate.demo.faults import KillRecord
from tracegate.demo.plan import AGENT_KILLED, Injection, LinePlan
from tracegate.demo.reconcile import Reconciled, Recorded, unit_key
from tracegate.demo.report import FaultCheck


def check_faults(
    plan: LinePlan,
    outcomes: Mapping[str, Mapping[int, str]],
    recorded: Mapping[str, list[Recorded]],
    reconciled: Mapping[str, Reconciled],
    kill: KillRecord | None,
) -> tuple[FaultCheck, ...]:
    return tuple(
        _kill_check(i, reconciled, kill)
        if i.fault == AGENT_KILLED
        else _hold_check(plan, i, outcomes, recorded, reconciled)
        for i in plan.injections
    )


def _hold_check(
    plan: LinePlan,
    injection: Injection,
    outcomes: Mapping[str, Mapping[int, str]],
    recorded: Mapping[str, list[Recorded]],
    reconciled: Mapping[str, Reconciled],
) -> FaultCheck:
    where = injection.checkpoint
    outcome = outcomes.get(where, {}).get(injection.unit)
    key = unit_key(plan.line_for(where), injection.unit)
    paired = reconciled[where].paired.get(injection.unit) if where in reconciled else None
    if paired is not None:
        holds = [paired] if paired.decision == "hold" else []
    else:
        holds = [r for r in recorded.get(where, []) if r.key == key and r.decision == "hold"]
    wanted = injection.expect_reason
    matching = [r for r in holds if set(injection.accepted) & set(r.reasons)]
    reasons = matching[0].reasons if matching else (holds[0].reasons if holds else None)
    problems = []
    if outcome != "reject":
        problems.append(f"the PLC was told {outcome or 'nothing'}, expected reject")
    if not matching:
        found = ", ".join(sorted({c for r in holds for c in r.reasons})) or "no hold"
        problems.append(f"the cloud has {found} at {where}, expected {wanted}")
    return FaultCheck(
        injection=injection,
        plc_outcome=outcome,
        cloud_reasons=reasons,
        ok=not problems,
        detail="; ".join(problems) or f"held at {where}: {wanted}, PLC reject",
    )


def _kill_check(
    injection: Injection, reconciled: Mapping[str, Reconciled], kill: KillRecord | None
) -> FaultCheck:
    if kill is None:
        return FaultCheck(
            injection=injection,
            plc_outcome=None,
            cloud_reasons=None,
            ok=False,
            detail="the agent was never killed (its unit's output did not come)",
        )
    after = reconciled.get(injection.checkpoint)
    lost = after is None or not after.ok
    detail = (
        f"killed (exit {kill.exit_code}) with {kill.outbox_depth_at_kill} events not yet"
        f" published; line stood {kill.line_stopped_s:.1f} s; "
        + ("decisions missing in the cloud" if lost else "every decision in the cloud")
    )
    return FaultCheck(
        injection=injection, plc_outcome=None, cloud_reasons=None, ok=not lost, detail=detail
    )
