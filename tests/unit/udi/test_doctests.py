"""The examples in the UDI parsers' docstrings run and hold."""

import doctest
from types import ModuleType

import pytest

from protocols import gs1, hibcc, udi


@pytest.mark.parametrize("module", [gs1, hibcc, udi], ids=lambda module: module.__name__)
def test_docstring_examples_hold(module: ModuleType) -> None:
    results = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert results.failed == 0
    assert results.attempted > 0
