"""`tracegate demo`: a whole plant on one machine. Imported only by the demo command and
its tests (it pulls in the edge and the cloud)."""

from tracegate.demo.errors import DemoError
from tracegate.demo.report import DemoReport
from tracegate.demo.run import DemoOptions, DemoPlantRun

__all__ = ["DemoError", "DemoOptions", "DemoPlantRun", "DemoReport"]
