"""The examples in the wire modules' docstrings are true."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from protocols import codec, ids, parts, scalars, sscc, topics


@pytest.mark.parametrize("module", [codec, ids, parts, scalars, sscc, topics])
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
