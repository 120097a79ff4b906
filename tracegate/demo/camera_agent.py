"""The agent of a camera checkpoint in the demo: `tracegate edge run`, with the simulated
camera as the camera adapter's frame source.

A camera's frames are decoded inside the agent's process, so the simulated camera must run
there: it renders the demo line's units (rebuilt from the plan file) at the line time the
demo's shared clock file gives. Everything else is the agent as deployed.

    python -m tracegate.demo.camera_agent PLANT.yaml CHECKPOINT PLAN.json CLOCK.json
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

from edge.adapters.decoders import Image
from edge.checkpoint.agent import Agent, AgentOptions
from edge.checkpoint.logs import configure_logging
from edge.checkpoint.run_agent import GIL_SWITCH_INTERVAL_S
from edge.sim.camera import CameraLook, SimCamera
from edge.sim.camera_render import to_bgr
from protocols.config import load_plant_file
from tracegate import __version__
from tracegate.demo.clock import FollowingLineClock
from tracegate.demo.plan import LinePlan

log = logging.getLogger("edge.checkpoint.agent")

DEMO_CAMERA_LOOK = CameraLook(width_px=640, height_px=360, module_px=3.0, noise_sigma=0.0)
"""640x360 without sensor noise: rendering noise for every frame costs ~8 ms, which at 30
frames a second is a quarter of a core taken from the demo's other processes."""


class EndlessCamera(SimCamera):
    """The simulated camera, still showing the empty belt after the last unit (a plain
    `SimCamera` ends its stream there, which the adapter takes for a lost camera)."""

    def grab(self) -> Image | None:
        frame = super().grab()
        if frame is None and self.clock is not None:
            return to_bgr(self.frame_at(self.clock.now_s()))
        return frame


def simulated_camera(plan: LinePlan, checkpoint: str, clock_file: Path, *, fps: float) -> SimCamera:
    return EndlessCamera(
        plan.line_for(checkpoint),
        look=DEMO_CAMERA_LOOK,
        fps=fps,
        seed=plan.seed,
        name=f"{checkpoint} camera",
        clock=FollowingLineClock(clock_file),
    )


async def _serve(agent: Agent) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await agent.run(stop)


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    config, checkpoint, plan_file, clock_file = argv
    configure_logging(log_format="logfmt", level="INFO")
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    plant = load_plant_file(config)
    camera = plant.checkpoint(checkpoint).camera
    if camera is None:
        print(f"checkpoint {checkpoint} has no camera", file=sys.stderr)
        return 2
    plan = LinePlan.from_json(Path(plan_file).read_bytes())
    grabber = simulated_camera(plan, checkpoint, Path(clock_file), fps=camera.fps)
    agent = Agent(
        plant,
        checkpoint,
        options=AgentOptions(software_version=__version__),
        camera_grabber=grabber,
    )
    asyncio.run(_serve(agent))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
