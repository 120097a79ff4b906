"""Dropping biip's company prefix table (an edge agent's memory) changes no parse result."""

from __future__ import annotations

import subprocess
import sys

# Run in a child process: the table is dropped for the whole process.
CHILD = """
import biip.gs1_prefixes as prefixes
from protocols.gs1 import parse_gs1_element_string, parse_gtin, release_unused_tables
from protocols.udi import inspect_udi

texts = ["0109506000134352172512311012345\\x1d21SN1", "010950600013435317250230", "]d2011234"]
before = [parse_gs1_element_string(t.removeprefix("]d2")) for t in texts]
gtins = [parse_gtin(t) for t in ("9506000134352", "9506000134353", "12345670")]
udi = inspect_udi("0109506000134352172512311012345\\x1d21SN1")
assert prefixes.GS1CompanyPrefix.extract("7044610873466") is not None
assert release_unused_tables() is True
assert release_unused_tables() is False
assert prefixes.GS1CompanyPrefix.extract("7044610873466") is None
assert [parse_gs1_element_string(t.removeprefix("]d2")) for t in texts] == before
assert [parse_gtin(t) for t in ("9506000134352", "9506000134353", "12345670")] == gtins
assert inspect_udi("0109506000134352172512311012345\\x1d21SN1") == udi
print("ok")
"""


def test_parses_are_the_same_after_the_company_prefix_table_is_dropped() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"
