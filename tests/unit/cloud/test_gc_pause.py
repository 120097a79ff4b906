"""The collector pause used while a trace or a recall builds its rows leaves the collector as
it found it, also when the block raises."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from cloud.domain.trace.gc_pause import collector_paused


@pytest.fixture(autouse=True)
def restore_collector() -> Iterator[None]:
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_inside_and_as_before_after(enabled: bool) -> None:
    if enabled:
        gc.enable()
    else:
        gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled() is enabled


def test_the_collector_comes_back_when_the_block_raises() -> None:
    gc.enable()
    with pytest.raises(RuntimeError, match="boom"), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
