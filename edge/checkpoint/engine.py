"""The checkpoint engine: one unit's path from trigger to output and record.

    trigger -> reads of the window -> identify -> PLC snapshot -> facts -> rules -> decision
    hold: reject output at once, then the record (a hold needs no permission)
    pass: the record committed to the outbox first, then the pass output, read back
    a pass output that does not verify: reject, line stop, alarm, and a correction event
    not decided by the deadline: hold

A pass is recorded before its output is written (record before release), so its event says
`interlock.written = false`: the output is written after. Only a failure is recorded later,
as a correction naming the pass event. Units are inspected concurrently (a no-read waits
out its window while the next unit is decided); the facts and rules of one unit at a time
run under a lock, so two reads of one serial can never both pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Protocol

from edge.adapters.plc_types import Sample, TriggerEdge
from edge.checkpoint.collector import ReadCollector
from edge.checkpoint.facts import Facts, Identification
from edge.checkpoint.identify import identify, warm_up_parsers
from edge.checkpoint.interlock import Alarm, Interlock, OutputWrite
from edge.checkpoint.record import (
    correction,
    inspected_event,
    refusal_reason,
    snapshot_parameters,
)
from edge.checkpoint.roles.base import EventSink, StationRole, StationScan
from edge.checkpoint.rules import evaluate
from edge.checkpoint.state import LocalState, LocalStateError, OwnDecision, unit_key
from edge.checkpoint.verdict import (
    EngineCounters,
    EngineSettings,
    Lookup,
    Outcome,
    Timeline,
    Verdict,
)
from edge.checkpoint.window import Batch, Sweep, Window
from edge.outbox import CommittedEvent
from edge.reads import CodeRead
from protocols.events import Event, InterlockResult, Reason, UnitInspected
from protocols.parts import Decision
from protocols.udi import Udi

log = logging.getLogger("edge.checkpoint")

_RECENT_UNITS = 4096
_PREFETCHED = 256


class ProcessValues(Protocol):
    """The PLC's latest polled values."""

    def snapshot(self, names: Iterable[str] | None = None) -> dict[str, Sample]: ...

    async def read_many(self, names: Iterable[str]) -> dict[str, Sample]: ...


TriggeredSource = Callable[[float, float, float], Awaitable[list[CodeRead]]]
"""`reads(start_monotonic_s, end_monotonic_s, nearest_monotonic_s)` of a source that decodes
what it captured during each unit's window (a camera on trigger)."""


class CheckpointEngine:
    """Decides pass or hold for each unit at one checkpoint and makes the PLC act on it."""

    def __init__(
        self,
        settings: EngineSettings,
        *,
        state: LocalState,
        outbox: EventSink,
        collector: ReadCollector,
        plc: ProcessValues | None = None,
        interlock: Interlock | None = None,
        links_down: Callable[[], tuple[str, ...]] = tuple,
        alarm: Alarm,
        triggered_sources: Mapping[str, TriggeredSource] | None = None,
        role: StationRole | None = None,
    ) -> None:
        self.settings = settings
        self.role = role if role is not None else StationRole()
        self._state = state
        self._outbox = outbox
        self._collector = collector
        self._plc = plc
        self._interlock = interlock
        self._links_down = links_down
        self._alarm = alarm
        self._triggered = dict(triggered_sources or {})
        self._register_names = tuple(r.name for r in settings.registers)
        self._decide_lock = asyncio.Lock()
        self._recent: OrderedDict[str, OwnDecision] = OrderedDict()
        self._tasks: set[asyncio.Task[Outcome]] = set()
        self._accepting = True
        self.counters = EngineCounters()
        self.last: deque[Outcome] = deque(maxlen=20)
        self.on_outcome: Callable[[Outcome], None] = lambda outcome: None
        self._prefetched: OrderedDict[tuple[CodeRead, ...], asyncio.Task[Lookup]] = OrderedDict()
        self._values_ahead: dict[int, asyncio.Task[dict[str, Sample]]] = {}
        self._batch: Batch | None = None
        collector.on_read = lambda read: self._prefetch((read,))
        collector.on_open = self.start
        collector.on_sweep = self._count_sweep

    # --- intake -------------------------------------------------------------------------------

    def trigger(
        self, edge: TriggerEdge, *, lookback_margin_s: float, max_lookback_s: float
    ) -> Window | None:
        """A photo-eye edge: open the unit's window and inspect it.

        The window reaches back over the polling gap the edge happened in, plus a margin: a
        poll's answer arrives a round trip after the PLC sampled the input, so a fast read
        can come before the answer of the poll that still saw the photo-eye clear. After a
        link outage the gap is long; `max_lookback_s` keeps older reads out.
        """
        if not self._accepting:
            return None
        gap_s = min(edge.uncertainty_ms / 1000, max_lookback_s)
        lookback_s = min(gap_s + lookback_margin_s, max_lookback_s)
        batch = None
        if edge.units_in_poll > 1:
            # Units a counter poll counted together: their windows share the poll's times and
            # take their reads in arrival order.
            if edge.index_in_poll == 0 or self._batch is None:
                self._batch = Batch(size=edge.units_in_poll)
            batch = self._batch
            self.counters.batched_units += 1
        window = self._collector.windows.open(
            trigger_s=edge.monotonic_s,
            lookback_s=lookback_s,
            arrived_after_s=edge.monotonic_s - gap_s,
            batch=batch,
        )
        self._read_values_ahead(window)
        self.start(window)
        return window

    def _read_values_ahead(self, window: Window) -> None:
        """Read the unit's process values now, at its trigger, while its reads are still on
        their way: the decision then finds values polled after the trigger instead of
        asking the link for them once the window has closed (0.3-0.5 ms on the decision
        path, more when the link is busy)."""
        plc, names = self._plc, self._register_names
        if plc is None or not names:
            return
        self.counters.parameter_rereads += 1
        task = asyncio.create_task(plc.read_many(names), name=f"values-{window.number}")
        # Awaited by the decision, or not at all (a window that ran out of time).
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        self._values_ahead[window.number] = task

    def start(self, window: Window) -> None:
        """Inspect the unit of an open window in the background."""
        if not self._accepting:
            self._collector.windows.close(window)
            return
        task = asyncio.create_task(self.inspect(window), name=f"inspect-{window.number}")
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    async def drain(self, *, timeout_s: float) -> None:
        """Stop taking triggers and wait for the units being inspected."""
        self._accepting = False
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def _finished(self, task: asyncio.Task[Outcome]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            log.error("inspection failed", exc_info=exc)
            return
        outcome = task.result()
        self.last.append(outcome)
        self.on_outcome(outcome)

    def _count_sweep(self, sweep: Sweep) -> None:
        self.counters.orphan_reads += len(sweep.orphans)
        self.counters.late_reads += len(sweep.late)
        for read in sweep.orphans:
            log.warning(
                "read without a trigger, not judged: %r from %s", read.text, read.source_name
            )

    # --- one unit -----------------------------------------------------------------------------

    async def inspect(self, window: Window) -> Outcome:
        """The whole path of one unit; returns what happened to it."""
        occurred_at = dt.datetime.now(dt.UTC) - dt.timedelta(
            seconds=max(0.0, time.monotonic() - window.trigger_s)
        )
        window.awaiting = frozenset(self._triggered)
        attaching = [
            asyncio.create_task(self._attach(name, source, window))
            for name, source in self._triggered.items()
        ]

        def early(reads: tuple[CodeRead, ...]) -> None:
            # Every source is in and only the poll that settles the reads is missing: look
            # the unit up meanwhile (the reads rarely change in that last millisecond).
            self._prefetch(reads)

        values_ahead = self._values_ahead.pop(window.number, None)
        try:
            async with asyncio.timeout_at(window.deadline_s):
                reads = await self._collector.collect(window, early=early)
                times = Timeline(inputs_s=time.monotonic())
                ahead = self._prefetched.pop(reads, None)
                lookup = await ahead if ahead is not None else await self._lookup(reads)
                verdict = await self._decide(
                    lookup,
                    untriggered=window.by_read,
                    trigger_s=window.trigger_s,
                    values_ahead=values_ahead,
                    unresolved=window.unresolved,
                )
        except TimeoutError:
            reads = self._collector.windows.close(window)
            times = Timeline(inputs_s=time.monotonic())
            verdict = self._late(reads, window)
        except Exception as exc:
            # A bug must not leave a unit without an output: it is held, and says why.
            log.exception("deciding window %d failed", window.number)
            reads = self._collector.windows.close(window)
            times = Timeline(inputs_s=time.monotonic())
            verdict = Verdict(
                reads=reads,
                identification=Identification(udi=None),
                facts=None,
                reasons=(Reason(code="engine_error", text=f"The decision failed: {exc!r}"[:4096]),),
            )
        finally:
            for task in attaching:
                task.cancel()
            if values_ahead is not None:
                values_ahead.cancel()
        times.decided_s = time.monotonic()
        if verdict.station is not None:
            outcome = await self._station(window, verdict, verdict.station, times)
        elif verdict.decision == "hold":
            outcome = await self._hold(window, verdict, occurred_at, times)
        else:
            outcome = await self._pass(window, verdict, occurred_at, times)
        try:
            await self.role.settled(verdict.facts, outcome)
        except Exception:
            log.exception("role %s failed to settle window %d", self.role.name, window.number)
        self._count(outcome)
        return outcome

    async def _attach(self, name: str, source: TriggeredSource, window: Window) -> None:
        try:
            reads = await source(window.start_s, window.end_s, window.trigger_s)
        except Exception as exc:  # a source that fails reports nothing; the unit is held
            log.warning("source %s failed for window %d: %s", name, window.number, exc)
            reads = []
        self._collector.attach(window, name, reads)

    def _prefetch(self, reads: tuple[CodeRead, ...]) -> None:
        """Identify the unit of `reads` and look it up now, before its window closes: a read
        usually waits for its trigger or its settling poll, and the decision then finds the
        work done. What the state says can be a few milliseconds old by then, as if the
        command that changed it had arrived that much later."""
        if reads in self._prefetched:
            return
        self._prefetched[reads] = asyncio.create_task(self._lookup(reads))
        while len(self._prefetched) > _PREFETCHED:
            _, stale = self._prefetched.popitem(last=False)
            stale.cancel()

    async def _lookup(self, reads: tuple[CodeRead, ...]) -> Lookup:
        """Identify the unit and read what the local state knows of it."""
        claims = self.role.claims
        claimed = tuple(read for read in reads if claims(read))
        if claimed and len(claimed) == len(reads):
            return Lookup(reads=reads, identification=Identification(udi=None), claimed=claimed)
        own_reads = tuple(read for read in reads if not claims(read)) if claimed else reads
        identification = identify(own_reads)
        udi = identification.udi
        if udi is None:
            return Lookup(reads=reads, identification=identification, claimed=claimed)
        try:
            unit = await self._state.unit_facts(
                checkpoint=self.settings.station.checkpoint,
                predecessors=self.settings.predecessors,
                udi=udi,
            )
        except LocalStateError as exc:
            return Lookup(
                reads=reads,
                identification=identification,
                error=Reason(code="state_error", text=str(exc)[:4096]),
                claimed=claimed,
            )
        return Lookup(reads=reads, identification=identification, unit=unit, claimed=claimed)

    async def _decide(
        self,
        lookup: Lookup,
        *,
        untriggered: bool,
        trigger_s: float,
        values_ahead: asyncio.Task[dict[str, Sample]] | None = None,
        unresolved: str | None = None,
    ) -> Verdict:
        settings = self.settings
        udi = lookup.identification.udi
        extra: list[Reason] = [lookup.error] if lookup.error is not None else []
        if unresolved is not None:
            # The reads may be another unit's: whatever they say, the unit is held.
            extra.append(Reason(code="reads_not_told_apart", text=unresolved[:4096]))
        samples = await self._process_values(
            untriggered=untriggered, trigger_s=trigger_s, extra=extra, ahead=values_ahead
        )
        parameters = snapshot_parameters(settings.registers, samples)
        station_only = bool(lookup.claimed) and len(lookup.claimed) == len(lookup.reads)
        if untriggered and settings.has_trigger and not station_only:
            # Where the unit was when it was read is not known: the photo-eye could not be
            # watched (PLC link down) or missed it, so whatever the reads say, it is held.
            extra.append(
                Reason(
                    code="no_trigger",
                    text="Read without a photo-eye trigger: the PLC link was down or the"
                    " photo-eye did not see the unit.",
                )
            )
        if station_only:
            return await self._judge_station_scan(lookup, extra)
        unit = lookup.unit
        async with self._decide_lock:
            # This process's own recent decisions come from memory, under the lock: the
            # state file may not have them yet, and two reads of one serial must not both
            # pass.
            own = self._recent.get(unit_key(udi)) if udi is not None else None
            own = own or unit.own
            facts = Facts(
                reads=lookup.reads,
                identification=lookup.identification,
                parameters=parameters,
                work_order=self._state.work_order,
                hold_matches=unit.hold_matches,
                duplicate_of_seq=(own.seq or 0) if own and own.decision == "pass" else None,
                route=unit.route,
                links_down=self._links_down(),
                today=dt.datetime.now(settings.timezone).date(),
            )
            role = self.role
            reasons = (
                *evaluate(facts, settings.rules),
                *role.unit_reasons(facts, lookup.claimed),
                *extra,
            )
            try:
                role_events = await role.unit_events(
                    facts, "hold" if reasons else "pass", lookup.claimed
                )
            except Exception as exc:
                log.exception("role %s failed on a unit", role.name)
                reasons = (*reasons, _role_error(role, exc))
                role_events = ()
            if udi is not None:
                self._remember(udi, OwnDecision("hold" if reasons else "pass", None))
        return Verdict(
            reads=lookup.reads,
            identification=lookup.identification,
            facts=facts,
            reasons=reasons,
            role_events=role_events,
        )

    async def _process_values(
        self,
        *,
        untriggered: bool,
        trigger_s: float,
        extra: list[Reason],
        ahead: asyncio.Task[dict[str, Sample]] | None = None,
    ) -> dict[str, Sample]:
        """The process values of the unit: polled at or after its trigger. A value polled
        before it may describe the unit before; the read started at the trigger (`ahead`)
        is awaited, or the value is read again now (one request per block of registers),
        and if that fails, the unit is held."""
        plc, names = self._plc, self._register_names
        if plc is None or not names:
            return {}
        samples = plc.snapshot(names)
        if untriggered or not self.settings.has_trigger:
            return samples
        stale = [n for n in names if (s := samples.get(n)) is None or s.monotonic_s < trigger_s]
        if not stale:
            return samples
        if ahead is not None:
            with contextlib.suppress(Exception):
                samples.update(await ahead)
            stale = [n for n in names if (s := samples.get(n)) is None or s.monotonic_s < trigger_s]
            if not stale:
                return samples
        else:
            self.counters.parameter_rereads += 1
        try:
            samples.update(await plc.read_many(stale))
        except Exception as exc:
            extra.append(
                Reason(
                    code="parameter_stale",
                    text=f"{', '.join(stale)} not read since the unit's trigger: {exc}"[:4096],
                )
            )
        return samples

    async def _judge_station_scan(self, lookup: Lookup, extra: Sequence[Reason]) -> Verdict:
        """A window of station scans only: the role judges it (the unit rules do not apply),
        and whatever else holds the line (the link down, no trigger) holds it too."""
        links_down = self._links_down()
        if links_down:
            extra = (
                *extra,
                Reason(code="link_down", text=f"Link down: {', '.join(links_down)}."),
            )
        async with self._decide_lock:
            try:
                scan = await self.role.station_scan(lookup.claimed)
            except Exception as exc:
                log.exception("role %s failed on a station scan", self.role.name)
                scan = StationScan(label="station scan", reasons=(_role_error(self.role, exc),))
        return Verdict(
            reads=lookup.reads,
            identification=lookup.identification,
            facts=None,
            reasons=(*scan.reasons, *extra),
            role_events=scan.events,
            station=scan,
        )

    def _late(self, reads: tuple[CodeRead, ...], window: Window) -> Verdict:
        limit_ms = round(self._collector.windows.deadline_s * 1000)
        reason = Reason(
            code="deadline_missed",
            text=f"No decision within the decision deadline ({limit_ms} ms after the trigger).",
        )
        return Verdict(reads=reads, identification=identify(reads), facts=None, reasons=(reason,))

    async def _hold(
        self, window: Window, verdict: Verdict, occurred_at: dt.datetime, times: Timeline
    ) -> Outcome:
        output = await self._hold_output(verdict.reasons, not_after_s=window.output_by_s)
        reasons = (*verdict.reasons, *_undelivered(output))
        event = self._event(verdict, occurred_at, "hold", reasons, output)
        committed = await self._record(event)
        times.recorded_s = time.monotonic() if committed is not None else None
        role_recorded = 0
        for extra in verdict.role_events:
            role_recorded += await self._record(extra) is not None
        await self._index(verdict.udi, "hold", committed)
        return self._outcome(
            window,
            verdict,
            times,
            "hold",
            reasons,
            committed,
            output,
            role_recorded=role_recorded,
        )

    async def _pass(
        self, window: Window, verdict: Verdict, occurred_at: dt.datetime, times: Timeline
    ) -> Outcome:
        interlock = self._interlock
        pending = None
        if interlock is not None and interlock.has("pass"):
            pending = InterlockResult(output="pass", written=False, verified=False)
        event = self._event(verdict, occurred_at, "pass", (), pending)
        commit = asyncio.ensure_future(self._commit_with_role(event, verdict.role_events))
        done, _ = await asyncio.wait(
            {commit}, timeout=max(0.0, window.output_by_s - time.monotonic())
        )
        if not done:
            return await self._pass_too_late(window, verdict, occurred_at, times, event, commit)
        try:
            committed, role_refused, role_recorded = commit.result()
            times.recorded_s = time.monotonic()
        except Exception as exc:
            reason = refusal_reason(exc)
            self._alarm(reason.code, f"Unit held, its record was refused: {exc}")
            reasons = (*verdict.reasons, reason)
            output = await self._hold_output(reasons, not_after_s=window.output_by_s)
            reasons = (*reasons, *_undelivered(output))
            hold = self._event(verdict, occurred_at, "hold", reasons, output)
            recorded = await self._record(hold)
            await self._index(verdict.udi, "hold", recorded)
            return self._outcome(window, verdict, times, "hold", reasons, recorded, output)
        if role_refused is not None:
            # The unit's pass is recorded, its role's record is not: it is held, and its
            # pass corrected, so no unit leaves without the whole of its record.
            self._alarm(
                role_refused.code, f"Unit held, its role's record was refused: {role_refused.text}"
            )
            output = await self._hold_output((role_refused,), not_after_s=window.output_by_s)
            reasons = (role_refused, *_undelivered(output))
            recorded = await self._record(
                correction(event, reasons, output.record if output else None)
            )
            await self._index(verdict.udi, "hold", recorded or committed)
            return self._outcome(
                window,
                verdict,
                times,
                "hold",
                reasons,
                recorded or committed,
                output,
                corrected=True,
                role_recorded=role_recorded,
            )
        output = None
        if interlock is not None and interlock.has("pass"):
            if time.monotonic() > window.output_by_s:
                # Past the deadline the unit may have left the station: a pass written now
                # could let the next unit through. It is held, and its record corrected.
                return await self._pass_too_late(window, verdict, occurred_at, times, event, commit)
            output = await interlock.pulse("pass", not_after_s=window.output_by_s)
            if output.late:
                return await self._pass_too_late(window, verdict, occurred_at, times, event, commit)
        if output is not None and not output.ok:
            return await self._unverified(window, verdict, times, event, committed, output)
        await self._index(verdict.udi, "pass", committed)
        return self._outcome(
            window, verdict, times, "pass", (), committed, output, role_recorded=role_recorded
        )

    async def _pass_too_late(
        self,
        window: Window,
        verdict: Verdict,
        occurred_at: dt.datetime,
        times: Timeline,
        event: UnitInspected,
        commit: asyncio.Future[tuple[CommittedEvent, Reason | None, int]],
    ) -> Outcome:
        """The deadline passed before the pass output could be written (the record was not
        durable yet, or only just): hold now; once the pass record is in, correct it."""
        late = self._late(verdict.reads, window).reasons
        output = await self._hold_output(late, not_after_s=window.output_by_s)
        late = (*late, *_undelivered(output))
        what = (
            "its pass output could not be written"
            if commit.done()
            else "its record was not committed"
        )
        self._alarm("deadline_missed", f"Unit held: {what} by the deadline.")
        try:
            first, _, role_recorded = await commit
        except Exception as exc:
            reasons = (*late, refusal_reason(exc))
            hold = self._event(verdict, occurred_at, "hold", reasons, output)
            recorded = await self._record(hold)
            await self._index(verdict.udi, "hold", recorded)
            return self._outcome(window, verdict, times, "hold", reasons, recorded, output)
        corrected = correction(event, late, output.record if output else None)
        recorded = await self._record(corrected) or first
        await self._index(verdict.udi, "hold", recorded)
        return self._outcome(
            window,
            verdict,
            times,
            "hold",
            late,
            recorded,
            output,
            corrected=True,
            role_recorded=role_recorded,
        )

    async def _unverified(
        self,
        window: Window,
        verdict: Verdict,
        times: Timeline,
        event: UnitInspected,
        committed: CommittedEvent,
        output: OutputWrite,
    ) -> Outcome:
        """The pass output did not take (or could not be read back): the unit is held, the
        line is stopped, and the pass record is corrected."""
        assert self._interlock is not None
        problem = output.record.error or "not verified"
        reason = Reason(
            code="interlock_unverified",
            text=f"The pass output was not verified ({problem}); the unit is held and the line"
            f" stopped. Corrects event seq {committed.seq}.",
        )
        rejected = await self._hold_output((reason,), not_after_s=window.output_by_s)
        reasons = (reason, *_undelivered(rejected))
        await self._interlock.request_line_stop(f"pass output not verified: {problem}")
        self._alarm("interlock_unverified", f"Pass output not verified: {problem}")
        recorded = await self._record(correction(event, reasons, output.record)) or committed
        await self._index(verdict.udi, "hold", recorded)
        return self._outcome(
            window,
            verdict,
            times,
            "hold",
            reasons,
            recorded,
            output,
            corrected=True,
            role_recorded=len(verdict.role_events),
        )

    # --- outputs and records ------------------------------------------------------------------

    async def _hold_output(
        self, reasons: Sequence[Reason], *, not_after_s: float | None = None
    ) -> OutputWrite | None:
        """Pulse the reject output for a held unit. Like the pass, a unit's reject is not sent
        after `not_after_s` (its decision deadline): written later, it would divert the next
        unit. The PLC passes only a unit that got the pass output, so a unit whose reject was
        too late is diverted anyway; without a pass output (the PLC lets units through unless
        rejected) the line is stopped instead."""
        interlock = self._interlock
        if interlock is None or not interlock.has("reject"):
            return None
        output = await interlock.pulse("reject", not_after_s=not_after_s)
        codes = ", ".join(r.code for r in reasons)
        if output.late:
            if interlock.has("pass"):
                self._alarm(
                    "reject_too_late",
                    f"A held unit ({codes}) got no reject output, its deadline had passed:"
                    " the PLC diverts it as a unit without a pass.",
                )
            else:
                await interlock.request_line_stop(
                    f"a held unit ({codes}) could not be rejected by its deadline, and without a"
                    " pass output the PLC lets it through"
                )
            return output
        if not output.ok:
            await interlock.request_line_stop(
                f"a held unit ({codes}) could not be rejected: {output.record.error}"
            )
        return output

    def _event(
        self,
        verdict: Verdict,
        occurred_at: dt.datetime,
        decision: Decision,
        reasons: Sequence[Reason],
        output: OutputWrite | InterlockResult | None,
    ) -> UnitInspected:
        facts = verdict.facts
        order = facts.work_order if facts is not None else self._state.work_order
        record = output.record if isinstance(output, OutputWrite) else output
        return inspected_event(
            self.settings.station,
            occurred_at=occurred_at,
            reads=verdict.reads,
            udi=verdict.udi,
            parameters=facts.parameters if facts is not None else (),
            decision=decision,
            reasons=reasons,
            work_order=order.work_order if order is not None else None,
            interlock=record,
        )

    async def _commit_with_role(
        self, event: UnitInspected, role_events: Sequence[Event]
    ) -> tuple[CommittedEvent, Reason | None, int]:
        """Commit a pass record, then its role's records; a refusal of the latter is
        returned (the pass record is in, and is corrected by the caller), with how many
        of the role's records went in."""
        first = await self._outbox.commit(event)
        done = 0
        try:
            for extra in role_events:
                await self._outbox.commit(extra)
                done += 1
        except Exception as exc:
            return first, refusal_reason(exc), done
        return first, None, done

    async def _station(
        self, window: Window, verdict: Verdict, scan: StationScan, times: Timeline
    ) -> Outcome:
        """Station scans: a hold rejects (and stops the line if the role asks) and records
        the role's events; a pass records them, then writes the pass output."""
        interlock = self._interlock
        committed: CommittedEvent | None = None
        if verdict.decision == "pass":
            try:
                for extra in verdict.role_events:
                    committed = await self._outbox.commit(extra)
                times.recorded_s = time.monotonic()
            except Exception as exc:
                refused = refusal_reason(exc)
                self._alarm(refused.code, f"{scan.label} held, its record was refused: {exc}")
                output = await self._hold_output((refused,))
                return self._outcome(window, verdict, times, "hold", (refused,), committed, output)
            output = None
            if interlock is not None and interlock.has("pass"):
                output = await interlock.pulse("pass")
                if not output.ok:
                    problem = output.record.error or "not verified"
                    reason = Reason(
                        code="interlock_unverified",
                        text=f"The pass output was not verified ({problem}).",
                    )
                    await self._hold_output((reason,))
                    await interlock.request_line_stop(f"pass output not verified: {problem}")
                    self._alarm("interlock_unverified", f"Pass output not verified: {problem}")
                    return self._outcome(
                        window, verdict, times, "hold", (reason,), committed, output
                    )
            return self._outcome(window, verdict, times, "pass", (), committed, output)
        output = await self._hold_output(verdict.reasons)
        if scan.line_stop is not None and interlock is not None:
            await interlock.request_line_stop(scan.line_stop)
        codes = ", ".join(r.code for r in verdict.reasons)
        self._alarm(verdict.reasons[0].code, f"{scan.label} refused ({codes})")
        for extra in verdict.role_events:
            committed = await self._record(extra) or committed
        if committed is not None:
            times.recorded_s = time.monotonic()
        return self._outcome(window, verdict, times, "hold", verdict.reasons, committed, output)

    async def _record(self, event: Event) -> CommittedEvent | None:
        """Commit a hold or a correction; a refusal is an alarm (the unit is held anyway)."""
        try:
            return await self._outbox.commit(event)
        except Exception as exc:
            self.counters.unrecorded += 1
            code = refusal_reason(exc).code
            self._alarm(code, f"A held unit could not be recorded: {exc}")
            return None

    async def _index(
        self, udi: Udi | None, decision: Decision, committed: CommittedEvent | None
    ) -> None:
        if udi is None:
            return
        seq = committed.seq if committed is not None else None
        self._remember(udi, OwnDecision(decision, seq))
        try:
            await self._state.record_decision(
                checkpoint=self.settings.station.checkpoint, udi=udi, decision=decision, seq=seq
            )
        except LocalStateError as exc:
            log.error("decision not indexed: %s", exc)

    def _remember(self, udi: Udi, own: OwnDecision) -> None:
        key = unit_key(udi)
        self._recent[key] = own
        self._recent.move_to_end(key)
        while len(self._recent) > _RECENT_UNITS:
            self._recent.popitem(last=False)

    def _outcome(
        self,
        window: Window,
        verdict: Verdict,
        times: Timeline,
        decision: Decision,
        reasons: Sequence[Reason],
        committed: CommittedEvent | None,
        output: OutputWrite | None,
        *,
        corrected: bool = False,
        role_recorded: int = 0,
    ) -> Outcome:
        udi = verdict.udi
        unit = unit_key(udi) if udi is not None else None
        if verdict.station is not None:
            unit = verdict.station.label
        return Outcome(
            window=window.number,
            trigger_s=window.trigger_s,
            inputs_s=times.inputs_s,
            decided_s=times.decided_s,
            recorded_s=times.recorded_s,
            decision=decision,
            reasons=tuple(r.code for r in reasons),
            unit=unit,
            seq=committed.seq if committed is not None else None,
            output=output.record if output is not None else None,
            output_acked_s=output.acked_monotonic_s if output is not None else None,
            corrected=corrected,
            role_recorded=role_recorded,
        )

    def _count(self, outcome: Outcome) -> None:
        counters = self.counters
        counters.units += 1
        if outcome.decision == "pass":
            counters.passed += 1
        else:
            counters.held += 1
        counters.reasons.update(outcome.reasons)
        counters.corrections += outcome.corrected
        log.info(
            "unit %s: %s",
            outcome.unit or "unidentified",
            outcome.decision,
            extra={
                "unit": outcome.unit,
                "decision": outcome.decision,
                "reasons": ",".join(outcome.reasons),
                "seq": outcome.seq,
                "window": outcome.window,
            },
        )


def _undelivered(output: OutputWrite | None) -> tuple[Reason, ...]:
    """The reason a held unit's record gives when its reject output was not sent in time."""
    if output is None or not output.late:
        return ()
    return (
        Reason(
            code="reject_too_late",
            text="The reject output was not written: the unit's decision deadline had passed"
            f" and the PLC would have applied it to the next unit ({output.record.error}).",
        ),
    )


def _role_error(role: StationRole, exc: Exception) -> Reason:
    return Reason(code="role_error", text=f"The {role.name} role failed: {exc!r}"[:4096])


__all__ = [
    "CheckpointEngine",
    "EngineCounters",
    "EngineSettings",
    "EventSink",
    "Outcome",
    "ProcessValues",
    "TriggeredSource",
    "warm_up_parsers",
]
