"""`tracegate edge run` settles its process before watching the line: parsers loaded, what it
needed only to start given back, the rest frozen out of the cyclic GC."""

from __future__ import annotations

import subprocess
import sys

# In a child process: freezing and dropping tables are for the whole process.
CHILD = """
import gc
import sys

from edge.checkpoint.run_agent import settle_after_start

assert "biip" not in sys.modules
settle_after_start()
assert "biip" in sys.modules
import biip.gs1_prefixes as prefixes

assert prefixes.GS1CompanyPrefix.extract("7044610873466") is None
frozen = gc.get_freeze_count()
assert frozen > 10_000, frozen
garbage = [[] for _ in range(1000)]
for item in garbage:
    item.append(item)  # cycles created after the freeze are still collected
del garbage, item
assert gc.collect() >= 1000
from protocols.udi import inspect_udi

udi, problems = inspect_udi("0109506000134352172512311012345\\x1d21SN1")
assert udi is not None and udi.serial == "SN1" and problems == ()
print("ok")
"""


def test_the_agent_process_is_settled_before_the_line_is_watched() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"
