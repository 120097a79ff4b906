"""The units on a simulated line: realistic UDIs and the one schedule every simulator consults.

`SimLine` is the single source of truth for "which unit is where": the simulated
PLC pulses its photo-eye for `line.unit(i)` at `line.arrival_s(i)`, the simulated
scanner emits `line.unit(i).reader_text`, the simulated camera renders
`line.unit(i).udi.text`. Times are seconds since the line started (each simulator
keeps its own start instant). Everything is deterministic for a given seed, and
units are generated lazily by index, so a line may run forever.

Unit indexes start at 0: unit 17 is the eighteenth unit put on the conveyor.

>>> line = SimLine(seed=7, rate_per_s=2.0)
>>> line.unit(0).udi.text == line.unit(0).udi.text
True
>>> gtin_check_digit("0950600013435")
'2'
>>> hibcc_check_character("+A99912345/$$52001510X3")
'3'
"""

from __future__ import annotations

import functools
import math
import random
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Literal

GS = "\x1d"
"""ASCII group separator: ends a variable-length GS1 field (FNC1 in the symbol)."""

HIBCC_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

Issuer = Literal["gs1", "hibcc"]


class Symbology(StrEnum):
    """How a unit's UDI is marked; decides the AIM prefix a reader reports."""

    GS1_DATAMATRIX = "gs1_datamatrix"
    GS1_128 = "gs1_128"
    GS1_QR = "gs1_qr"
    HIBC_DATAMATRIX = "hibc_datamatrix"
    HIBC_128 = "hibc_128"


AIM_PREFIX: Mapping[Symbology, str] = {
    Symbology.GS1_DATAMATRIX: "]d2",
    Symbology.GS1_128: "]C1",
    Symbology.GS1_QR: "]Q3",
    Symbology.HIBC_DATAMATRIX: "]d1",
    Symbology.HIBC_128: "]C0",
}
"""AIM symbology identifier a reader prefixes when configured to (ISO/IEC 15424)."""


class Fault(StrEnum):
    """A planned defect of one unit, so tests can assert what the agent does about it."""

    NO_READ = "no_read"
    """Scanner and camera see nothing readable (damaged or missing mark)."""
    MISREAD = "misread"
    """The reader reports a corrupted code (a GTIN digit changed, so its check digit fails)."""
    DOUBLE_READ = "double_read"
    """The scanner reports the same code twice for this unit."""
    DUPLICATE_SERIAL = "duplicate_serial"
    """The unit carries the serial of the previous unit."""
    WRONG_LOT = "wrong_lot"
    """The unit carries a lot other than the work order's."""
    SEAL_EXCURSION = "seal_excursion"
    """Seal temperature is out of limits while this unit is at the checkpoint."""
    PRESSURE_EXCURSION = "pressure_excursion"
    """Seal pressure is out of limits while this unit is at the checkpoint."""
    SKIPS_CHECKPOINT = "skips_checkpoint"
    """The unit never passes the photo-eye (taken off the line upstream): no trigger, no read."""


# --- check digits -------------------------------------------------------------------------


def gtin_check_digit(digits: str) -> str:
    """GS1 mod-10 check digit of `digits` (weights 3,1 from the right).

    >>> gtin_check_digit("629104150021")
    '3'
    """
    if not digits.isdigit():
        raise ValueError(f"GTIN body {digits!r}: expected digits only")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return str((10 - total % 10) % 10)


def hibcc_check_character(data: str) -> str:
    """HIBCC mod-43 check character of `data` (the leading `+` included)."""
    try:
        total = sum(HIBCC_CHARSET.index(c) for c in data)
    except ValueError:
        bad = next(c for c in data if c not in HIBCC_CHARSET)
        raise ValueError(
            f"HIBCC data {data!r}: character {bad!r} is not in the HIBCC set"
        ) from None
    return HIBCC_CHARSET[total % 43]


# --- UDIs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitUdi:
    """One unit's UDI: its parts and its encoded text."""

    issuer: Issuer
    di: str
    """Device identifier: the GTIN-14, or HIBCC labeler + product + unit of measure."""
    lot: str
    serial: str
    expiry: date
    production_date: date
    text: str
    """Data as a reader decodes it, without AIM prefix; GS1 fields separated by GS (U+001D)."""
    hri: str
    """Human-readable interpretation: `(01)...(21)...` for GS1, `*+...*`-less data for HIBCC."""


def _yymmdd(d: date) -> str:
    return d.strftime("%y%m%d")


def gs1_element_string(
    *, gtin: str, lot: str, serial: str, expiry: date, production_date: date
) -> tuple[str, str]:
    """GS1 element string (fixed-length AIs first, GS after each variable field but the last)
    and its human-readable form.

    >>> text, hri = gs1_element_string(gtin="09506000134352", lot="A1", serial="7",
    ...     expiry=date(2027, 1, 31), production_date=date(2025, 1, 31))
    >>> text.replace(GS, "<GS>")
    '0109506000134352112501311727013110A1<GS>217'
    >>> hri
    '(01)09506000134352(11)250131(17)270131(10)A1(21)7'
    """
    prod, exp = _yymmdd(production_date), _yymmdd(expiry)
    text = f"01{gtin}11{prod}17{exp}10{lot}{GS}21{serial}"
    hri = f"(01){gtin}(11){prod}(17){exp}(10){lot}(21){serial}"
    return text, hri


def hibcc_string(
    *,
    labeler: str,
    product: str,
    unit_of_measure: int,
    lot: str,
    serial: str,
    expiry: date,
    production_date: date,
) -> str:
    """Concatenated HIBCC primary + secondary data with its check character.

    Secondary: `$$3` expiry YYMMDD then lot, then `/S` serial and `/16D` production date.

    >>> hibcc_string(labeler="A999", product="12345", unit_of_measure=0, lot="10X3",
    ...     serial="77DE1G45", expiry=date(2020, 1, 15), production_date=date(2011, 12, 12))
    '+A999123450/$$320011510X3/S77DE1G45/16D20111212Z'
    """
    body = (
        f"+{labeler}{product}{unit_of_measure}/$$3{_yymmdd(expiry)}{lot}"
        f"/S{serial}/16D{production_date:%Y%m%d}"
    )
    return body + hibcc_check_character(body)


def random_gtin14(rng: random.Random, *, indicator: int = 0) -> str:
    """A GTIN-14 with a valid check digit under a plausible GS1 company prefix (country 0xx-1xx
    or 4xx-7xx ranges)."""
    prefix = rng.choice(["0", "4", "5", "7", "8"]) + f"{rng.randrange(10, 100)}"
    body = f"{indicator}{prefix}{rng.randrange(10**9):09d}"
    return body + gtin_check_digit(body)


@dataclass(frozen=True, slots=True, kw_only=True)
class Product:
    """What a line makes: the device identifier parts and shelf life."""

    issuer: Issuer = "gs1"
    gtin: str = "09506000134352"
    hibcc_labeler: str = "A999"
    hibcc_product: str = "TG1234"
    hibcc_unit_of_measure: int = 0
    shelf_life_days: int = 3 * 365
    symbology: Symbology | None = None
    """How units are marked; None means GS1 DataMatrix for GS1, HIBC DataMatrix for HIBCC."""

    def __post_init__(self) -> None:
        if self.symbology is None:
            default = (
                Symbology.GS1_DATAMATRIX if self.issuer == "gs1" else Symbology.HIBC_DATAMATRIX
            )
            object.__setattr__(self, "symbology", default)

    @property
    def marking(self) -> Symbology:
        """The symbology units are marked with (never None after construction)."""
        assert self.symbology is not None
        return self.symbology

    @property
    def di(self) -> str:
        if self.issuer == "gs1":
            return self.gtin
        return f"{self.hibcc_labeler}{self.hibcc_product}{self.hibcc_unit_of_measure}"

    @classmethod
    def random(cls, rng: random.Random, *, issuer: Issuer = "gs1") -> Product:
        """A product with a random valid GTIN (or HIBCC labeler code and product number)."""
        labeler = rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") + "".join(rng.choices(_ALNUM, k=3))
        return cls(
            issuer=issuer,
            gtin=random_gtin14(rng),
            hibcc_labeler=labeler,
            hibcc_product="".join(rng.choices(_ALNUM, k=rng.randint(4, 8))),
        )


def make_udi(product: Product, *, lot: str, serial: str, production_date: date) -> UnitUdi:
    """The UDI of one unit of `product`; expiry is production date + shelf life."""
    expiry = production_date + timedelta(days=product.shelf_life_days)
    if product.issuer == "gs1":
        text, hri = gs1_element_string(
            gtin=product.gtin,
            lot=lot,
            serial=serial,
            expiry=expiry,
            production_date=production_date,
        )
    else:
        text = hibcc_string(
            labeler=product.hibcc_labeler,
            product=product.hibcc_product,
            unit_of_measure=product.hibcc_unit_of_measure,
            lot=lot,
            serial=serial,
            expiry=expiry,
            production_date=production_date,
        )
        hri = text
    return UnitUdi(
        issuer=product.issuer,
        di=product.di,
        lot=lot,
        serial=serial,
        expiry=expiry,
        production_date=production_date,
        text=text,
        hri=hri,
    )


def corrupt_gs1(text: str, rng: random.Random) -> str:
    """A misread of a GS1 text: one GTIN body digit changed, so the check digit no longer fits."""
    pos = 2 + rng.randrange(13)
    old = text[pos]
    new = rng.choice([d for d in "0123456789" if d != old])
    return text[:pos] + new + text[pos + 1 :]


def corrupt_hibcc(text: str, rng: random.Random) -> str:
    """A misread of a HIBCC text: one product character changed, so the check character fails."""
    pos = 5 + rng.randrange(max(1, text.index("/") - 6))
    old = text[pos]
    new = rng.choice([c for c in _ALNUM if c != old])
    return text[:pos] + new + text[pos + 1 :]


# --- the line -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class SimUnit:
    """One unit on the simulated line."""

    index: int
    """Position on the conveyor, from 0."""
    udi: UnitUdi
    faults: frozenset[Fault]
    symbology: Symbology
    arrival_s: float
    """Seconds after line start when the unit's leading edge reaches the photo-eye."""
    leaves_s: float
    """Seconds after line start when the unit's trailing edge clears the photo-eye."""
    reader_text: str | None
    """What a working reader reports, without AIM prefix: the UDI, a corrupted text on a
    misread, None on a no-read or when the unit skips the checkpoint."""

    @property
    def aim_prefix(self) -> str:
        return AIM_PREFIX[self.symbology]

    @property
    def seen(self) -> bool:
        """Whether the unit passes the photo-eye (triggers the checkpoint)."""
        return Fault.SKIPS_CHECKPOINT not in self.faults


class SimLine:
    """A conveyor's worth of units: who they are, when each passes the photo-eye, what goes
    wrong with which, and the process values at any instant.

    Faults come from `faults` (unit index -> faults, exact) and from `fault_rates`
    (fault -> probability per unit, drawn deterministically from the seed).
    """

    def __init__(
        self,
        *,
        seed: int = 0,
        rate_per_s: float = 2.0,
        first_arrival_s: float = 0.5,
        photo_eye_pulse_ms: float = 60.0,
        pitch_jitter: float = 0.0,
        unit_count: int | None = None,
        product: Product | None = None,
        lot: str | None = None,
        production_date: date = date(2025, 6, 2),
        serial_start: int = 1,
        faults: Mapping[int, frozenset[Fault] | set[Fault] | list[Fault]] | None = None,
        fault_rates: Mapping[Fault, float] | None = None,
    ) -> None:
        pitch_s = 1.0 / rate_per_s if rate_per_s > 0 else math.inf
        if not rate_per_s > 0:
            raise ValueError(f"rate_per_s: expected > 0, got {rate_per_s}")
        if not 0 <= pitch_jitter <= 0.5:
            raise ValueError(f"pitch_jitter: expected 0 to 0.5 of the pitch, got {pitch_jitter}")
        gap_ms = pitch_s * (1 - pitch_jitter) * 1000
        if not 0 < photo_eye_pulse_ms < gap_ms:
            raise ValueError(
                f"photo_eye_pulse_ms: expected between 0 and the smallest gap between units "
                f"({gap_ms:.1f} ms at {rate_per_s}/s), got {photo_eye_pulse_ms}"
            )
        rng = random.Random(f"tracegate-line:{seed}")
        self.seed = seed
        self.rate_per_s = rate_per_s
        self.pitch_s = pitch_s
        self.first_arrival_s = first_arrival_s
        self.photo_eye_pulse_s = photo_eye_pulse_ms / 1000
        self.pitch_jitter = pitch_jitter
        self.unit_count = unit_count
        self.product = product or Product.random(rng)
        self.lot = lot or "L" + "".join(rng.choices(_ALNUM, k=6))
        self.production_date = production_date
        self.serial_start = serial_start
        self.serial_prefix = "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ", k=2))
        self._faults = {i: frozenset(f) for i, f in (faults or {}).items()}
        self._fault_rates = dict(fault_rates or {})
        self._unit = functools.lru_cache(maxsize=4096)(self._make_unit)
        self._seen_counted = (-1, 0)

    # unit identities

    def serial_of(self, index: int) -> str:
        """The serial a unit would carry without faults."""
        return f"{self.serial_prefix}{self.serial_start + index:07d}"

    def faults_of(self, index: int) -> frozenset[Fault]:
        planned = self._faults.get(index, frozenset())
        if not self._fault_rates:
            return planned
        rng = random.Random(f"tracegate-faults:{self.seed}:{index}")
        drawn = {f for f, p in sorted(self._fault_rates.items()) if rng.random() < p}
        return planned | frozenset(drawn)

    def arrival_s(self, index: int) -> float:
        """Seconds after line start when unit `index` reaches the photo-eye."""
        base = self.first_arrival_s + index * self.pitch_s
        if self.pitch_jitter == 0:
            return base
        rng = random.Random(f"tracegate-pitch:{self.seed}:{index}")
        return base + (rng.random() - 0.5) * self.pitch_jitter * self.pitch_s

    def unit(self, index: int) -> SimUnit:
        """Unit `index` (from 0); raises IndexError past `unit_count`."""
        if index < 0 or (self.unit_count is not None and index >= self.unit_count):
            raise IndexError(f"unit {index}: the line has units 0 to {self._last_label()}")
        return self._unit(index)

    def _last_label(self) -> str:
        return "infinity" if self.unit_count is None else str(self.unit_count - 1)

    def _make_unit(self, index: int) -> SimUnit:
        faults = self.faults_of(index)
        rng = random.Random(f"tracegate-unit:{self.seed}:{index}")
        lot = self.lot
        if Fault.WRONG_LOT in faults:
            lot = "L" + "".join(rng.choices(_ALNUM, k=6))
        serial = self.serial_of(index)
        if Fault.DUPLICATE_SERIAL in faults and index > 0:
            serial = self.serial_of(index - 1)
        udi = make_udi(self.product, lot=lot, serial=serial, production_date=self.production_date)
        reader_text: str | None = udi.text
        if Fault.NO_READ in faults or Fault.SKIPS_CHECKPOINT in faults:
            reader_text = None
        elif Fault.MISREAD in faults:
            corrupt = corrupt_gs1 if udi.issuer == "gs1" else corrupt_hibcc
            reader_text = corrupt(udi.text, rng)
        arrival = self.arrival_s(index)
        return SimUnit(
            index=index,
            udi=udi,
            faults=faults,
            symbology=self.product.marking,
            arrival_s=arrival,
            leaves_s=arrival + self.photo_eye_pulse_s,
            reader_text=reader_text,
        )

    def units(self, start: int = 0) -> Iterator[SimUnit]:
        """Units from `start` in conveyor order, to `unit_count` or forever."""
        index = start
        while self.unit_count is None or index < self.unit_count:
            yield self.unit(index)
            index += 1

    def seen_units(self) -> Iterator[SimUnit]:
        """Units that pass the photo-eye, in order: the n-th of these is the n-th trigger."""
        return (u for u in self.units() if u.seen)

    def triggers_through(self, index: int) -> int:
        """How many photo-eye triggers units 0 to `index` make (units that skip make none)."""
        can_skip = Fault.SKIPS_CHECKPOINT in self._fault_rates or any(
            Fault.SKIPS_CHECKPOINT in f for f in self._faults.values()
        )
        if not can_skip:
            return index + 1
        done, count = self._seen_counted
        if index < done:
            done, count = -1, 0
        for i in range(done + 1, index + 1):
            count += self.unit(i).seen
        self._seen_counted = (index, count)
        return count

    def nth_trigger(self, n: int) -> SimUnit:
        """The unit behind the n-th photo-eye trigger (from 0)."""
        for i, unit in enumerate(self.seen_units()):
            if i == n:
                return unit
        raise IndexError(f"trigger {n}: the line has fewer seen units")

    # where units are

    def _index_before(self, t_s: float) -> int | None:
        """Largest index with arrival_s <= t_s, or None before the first unit."""
        if t_s < self.first_arrival_s - self.pitch_jitter * self.pitch_s:
            return None
        i = math.floor((t_s - self.first_arrival_s) / self.pitch_s) + 1
        if self.unit_count is not None:
            i = min(i, self.unit_count - 1)
        while i >= 0 and self.arrival_s(i) > t_s:
            i -= 1
        return i if i >= 0 else None

    def unit_at(self, t_s: float) -> SimUnit | None:
        """The unit the checkpoint is handling at `t_s`: the last seen unit that has reached the
        photo-eye, until the next seen unit arrives (its reject window). None before the first."""
        i = self._index_before(t_s)
        while i is not None and i >= 0:
            unit = self.unit(i)
            if unit.seen:
                return unit
            i -= 1
        return None

    def photo_eye_blocked(self, t_s: float) -> bool:
        """Whether a unit is in front of the photo-eye at `t_s`."""
        unit = self.unit_at(t_s)
        return unit is not None and unit.arrival_s <= t_s < unit.leaves_s

    def noise(self, name: str, t_s: float) -> float:
        """Standard normal noise for signal `name` at `t_s`: deterministic for the seed, new
        every 10 ms, so two reads within 10 ms agree."""
        return random.Random(f"tracegate-noise:{self.seed}:{name}:{math.floor(t_s * 100)}").gauss()

    def faults_at(self, t_s: float) -> frozenset[Fault]:
        """Faults of the unit at the checkpoint at `t_s` (none before the first unit)."""
        unit = self.unit_at(t_s)
        return unit.faults if unit is not None else frozenset()


class LineClock:
    """Line time: seconds since the line started, not counting the time it was stopped.

    Simulators in one process share one clock, so a stop the PLC is told to make holds the
    scanner and the camera too. Simulators in separate processes agree on a start with
    `LineClock.from_epoch` (a wall-clock start time in the config); they cannot share a stop.
    """

    def __init__(self, *, start_monotonic_s: float | None = None) -> None:
        self.start_monotonic_s = (
            time.monotonic() if start_monotonic_s is None else start_monotonic_s
        )
        self._paused_total_s = 0.0
        self._paused_at_s: float | None = None

    @classmethod
    def from_epoch(cls, epoch_s: float) -> LineClock:
        """A clock whose line time 0 is the Unix time `epoch_s`."""
        return cls(start_monotonic_s=time.monotonic() - (time.time() - epoch_s))

    def at(self, monotonic_s: float) -> float:
        """Line time at the monotonic instant `monotonic_s` (not before the current pause)."""
        t = monotonic_s - self.start_monotonic_s - self._paused_total_s
        if self._paused_at_s is not None and monotonic_s > self._paused_at_s:
            t -= monotonic_s - self._paused_at_s
        return t

    def now_s(self) -> float:
        return self.at(time.monotonic())

    def to_monotonic(self, line_s: float) -> float:
        """The monotonic instant line time `line_s` is reached, if the line runs from now on
        (exact for instants after the last stop)."""
        paused_s = self._paused_total_s
        if self._paused_at_s is not None:
            paused_s += time.monotonic() - self._paused_at_s
        return self.start_monotonic_s + paused_s + line_s

    @property
    def paused(self) -> bool:
        return self._paused_at_s is not None

    def pause(self) -> None:
        """Stop the line (idempotent)."""
        if self._paused_at_s is None:
            self._paused_at_s = time.monotonic()

    def resume(self) -> None:
        """Restart the line where it stopped (idempotent)."""
        if self._paused_at_s is not None:
            self._paused_total_s += time.monotonic() - self._paused_at_s
            self._paused_at_s = None
