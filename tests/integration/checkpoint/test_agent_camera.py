"""A final-inspection agent with a camera on trigger: the simulated camera (frames rendered
from the same line, on the same clock as the simulated PLC) is decoded around each photo-eye
edge; what the PLC saw for each unit."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

from checkpoint_plant import FAR_FUTURE_S, EventTap, by_serial, reason_codes

from edge.checkpoint.agent import Agent, AgentOptions
from edge.sim.camera import CameraLook, SimCamera
from edge.sim.plc import SimPlc
from edge.sim.units import Fault, LineClock, SimLine
from protocols.commands import WorkOrder
from protocols.config import load_plant_text
from protocols.ids import uuid7

UNITS = 6
CONFIG = """\
site: {{id: plant-t, name: Test plant, timezone: UTC}}
line: {{id: line-t, name: Test line}}
mqtt: {{broker_url: "mqtt://127.0.0.1:1883", topic_prefix: "{prefix}", status_period_s: 5}}
checkpoints:
  - id: final-inspection
    name: Final inspection
    role: inspection
    device_id: edge-t-sealing
    camera: {{name: camera, source: simulated, formats: [datamatrix], trigger: on_trigger,
              fps: 30}}
    plc:
      host: 127.0.0.1
      port: {plc_port}
      timeout_s: 0.2
      trigger: {{table: discrete_input, address: 0, poll_period_ms: 5}}
    interlock:
      pass: {{table: coil, address: 0}}
      reject: {{table: coil, address: 1}}
      line_stop: {{table: coil, address: 2}}
      pulse_ms: 30
    read_window_ms: 100
    decision_deadline_ms: 380
    rules:
      route_predecessor: {{enabled: false}}
      parameter_limits: {{enabled: false}}
    outbox: {{path: "{tmp}/outbox.sqlite3"}}
    state_path: "{tmp}/state.sqlite3"
"""


async def test_units_are_judged_on_the_codes_the_camera_decodes_around_each_trigger(
    tmp_path: Path, prefix: str, tap: EventTap
) -> None:
    line = SimLine(
        seed=9,
        rate_per_s=2.5,
        first_arrival_s=0.3,
        photo_eye_pulse_ms=60,
        unit_count=UNITS,
        faults={2: [Fault.NO_READ], 4: [Fault.MISREAD]},
    )
    standing = LineClock(start_monotonic_s=time.monotonic() + FAR_FUTURE_S)
    plc = SimPlc(line=line, clock=standing)
    await plc.start()
    camera = SimCamera(
        line, look=CameraLook(width_px=640, height_px=480, module_px=3), fps=30, clock=standing
    )
    text = CONFIG.format(prefix=prefix, plc_port=plc.port, tmp=tmp_path)
    agent = Agent(
        load_plant_text(text, source="test"),
        "final-inspection",
        options=AgentOptions(software_version="test", flush_timeout_s=2.0),
        camera_grabber=camera,
    )
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop))
    try:
        await asyncio.wait_for(agent.ready.wait(), 5)
        assert agent.state is not None and agent.plc is not None
        assert await agent.plc.wait_up(timeout_s=3)
        await agent.state.apply(
            WorkOrder(
                command_id=uuid7(),
                issued_at=dt.datetime.now(dt.UTC),
                issued_by="test",
                work_order="WO-CAM",
                products=(line.product.di,),
                lot=line.lot,
                expiry=line.unit(0).udi.expiry,
                quantity=100,
            )
        )
        clock = LineClock()
        plc.clock = clock
        camera.clock = clock
        await asyncio.sleep(line.arrival_s(UNITS - 1) + 0.4)
        events = await tap.wait_for(UNITS)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await plc.stop()

    outcomes = [plc.unit_history(i).outcome for i in range(UNITS)]
    assert outcomes == ["pass", "pass", "reject", "pass", "reject", "pass"], [
        (e.seq, reason_codes(e)) for e in events
    ]
    units = by_serial(events)
    (passed,) = units[line.unit(0).udi.serial]
    assert [(r.source, r.source_name, r.symbology_id) for r in passed.reads] == [
        ("camera", "camera", "]d2")
    ]
    assert [reason_codes(e) for e in events if e.decision == "hold"] == [
        ["no_read"],
        ["invalid_udi"],
    ]
