"""The examples in the config package's docstrings run and hold."""

import doctest
from types import ModuleType

import pytest

from protocols.config import _base


@pytest.mark.parametrize("module", [_base], ids=lambda module: module.__name__)
def test_docstring_examples_hold(module: ModuleType) -> None:
    results = doctest.testmod(module)
    assert results.failed == 0
    assert results.attempted > 0
