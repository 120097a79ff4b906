"""Cost of the wire codec per event, beside two baselines measured in the same run.

Baselines: msgspec encoding without the self-check that `encode_event` adds, and the standard
library's json on the same event as builtins. Run: `.venv/bin/python bench/wire_codec.py`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable

import msgspec

from protocols.codec import decode_event, encode_event, event_hash
from protocols.events import (
    InterlockResult,
    ParameterSample,
    ParsedUdi,
    Read,
    Reason,
    UnitInspected,
)
from protocols.ids import uuid7


def sample_event() -> UnitInspected:
    now = dt.datetime.now(dt.UTC)
    return UnitInspected(
        event_id=uuid7(),
        device_id="edge-sealing-1",
        seq=41,
        prev_hash="ab" * 32,
        occurred_at=now,
        site="plant-a",
        line="line-1",
        checkpoint="sealing",
        reads=(
            Read(
                text="010950600013435210ABC123\x1d21SN000123\x1d17271231",
                symbology_id="]d2",
                source="scanner",
                source_name="scanner-1",
                read_at=now,
            ),
        ),
        udi=ParsedUdi(
            issuer="GS1",
            di="09506000134352",
            lot="ABC123",
            serial="SN000123",
            expiry=dt.date(2027, 12, 31),
        ),
        parameters=tuple(
            ParameterSample(
                name=name, value=value, unit=unit, lo=lo, hi=hi, age_ms=35, in_limits=True
            )
            for name, value, unit, lo, hi in (
                ("seal_temp", 181.5, "degC", 175.0, 185.0),
                ("seal_pressure", 4.2, "bar", 3.5, 5.0),
                ("dwell_time", 1200.0, "ms", 1000.0, 1500.0),
            )
        ),
        decision="pass",
        reasons=(Reason(code="ok", text="all rules passed"),),
        work_order="WO-2024-0042",
        ruleset_version="2024.1",
        interlock=InterlockResult(output="pass", written=True, verified=True),
    )


def per_call_us(function: Callable[[], object], *, repeats: int = 20_000) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            function()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best * 1e6


def main() -> None:
    event = sample_event()
    encoded = encode_event(event)
    encoder = msgspec.json.Encoder()
    builtins = msgspec.to_builtins(event)
    text = json.dumps(builtins)
    rows = [
        ("encode_event (checked)", per_call_us(lambda: encode_event(event))),
        ("baseline: msgspec encode, unchecked", per_call_us(lambda: encoder.encode(event))),
        ("baseline: stdlib json.dumps", per_call_us(lambda: json.dumps(builtins))),
        ("decode_event", per_call_us(lambda: decode_event(encoded))),
        ("baseline: stdlib json.loads (untyped)", per_call_us(lambda: json.loads(text))),
        ("event_hash", per_call_us(lambda: event_hash(encoded))),
        ("uuid7", per_call_us(uuid7)),
    ]
    print(f"one unit.inspected event, {len(encoded)} bytes encoded")
    for name, micros in rows:
        print(f"{name:40s} {micros:8.2f} us")


if __name__ == "__main__":
    main()
