"""From the reads of one window to the unit's identity (pure)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence

from edge.checkpoint.facts import Identification
from edge.reads import CodeRead
from protocols.udi import GS, Udi, inspect_udi, inspect_udi_reads


def udi_key(udi: Udi) -> str:
    """The identity two reads must share to be the same unit."""
    return f"{udi.issuer}:{udi.di}:{udi.lot or ''}:{udi.serial or ''}"


def identify(reads: Sequence[CodeRead], *, separators: Iterable[str] = (GS,)) -> Identification:
    """Read the unit's UDI from every read of the window.

    Several reads are first parsed together, as a HIBC primary and its separate
    secondary symbol, or a GS1-128 label split over two barcodes, must be (the
    primary alone would pass as a UDI without its lot). Failing that, each read
    is parsed alone: reads that are valid UDIs must agree, and an invalid read
    beside a valid one is kept in the record but does not decide (a camera may
    catch a neighbour's damaged label).
    """
    seps = tuple(separators)
    texts = [read.text for read in reads if read.problem is None]
    if len(set(texts)) > 1:
        udi, found = inspect_udi_reads(list(dict.fromkeys(texts)), separators=seps)
        if udi is not None and not found:
            return Identification(udi=udi, distinct=(udi_key(udi),))
    valid: dict[str, Udi] = {}
    problems: list[str] = [f"{read.source_name}: {read.problem}" for read in reads if read.problem]
    for text in texts:
        udi, found = inspect_udi(text, separators=seps)
        if udi is not None and not found:
            valid.setdefault(udi_key(udi), udi)
        else:
            problems.extend(found)
    if len(valid) == 1:
        (udi,) = valid.values()
        return Identification(udi=udi, distinct=tuple(valid))
    if len(valid) > 1:
        return Identification(udi=None, distinct=tuple(valid))
    return Identification(udi=None, problems=tuple(dict.fromkeys(problems)))


_WARM_UP_UDIS = ("0109506000134352172512001012345\x1d21SN1", "+A99912345/$$52001510X33")


def warm_up_parsers() -> None:
    """Parse a GS1 and a HIBC UDI once: biip loads its tables on first use (about 0.3 s
    here), which would otherwise stall the event loop on the first unit."""
    for text in _WARM_UP_UDIS:
        identify(
            (
                CodeRead(
                    text=text,
                    symbology_id=None,
                    source_kind="scanner",
                    source_name="warm-up",
                    read_at=dt.datetime.now(dt.UTC),
                    monotonic_s=time.monotonic(),
                ),
            )
        )
