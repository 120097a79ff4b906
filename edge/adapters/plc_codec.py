"""PLC register map: what each named value is and how it sits in Modbus registers.

Pure code (no I/O, no pymodbus): `RegisterSpec` describes one value, `decode` turns
the raw words or bits read from the PLC into an engineering value, `encode` does
the reverse for writes, and `plan_reads` groups specs into the fewest read requests.

>>> temp = RegisterSpec(name="seal_temp", table="holding_register", address=0,
...     data_type="int16", scale=0.1, unit="°C")
>>> decode(temp, [1802])
180.2
>>> encode(temp, -12.5)
[65411]
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Table = Literal["coil", "discrete_input", "holding_register", "input_register"]
DataType = Literal["bool", "int16", "uint16", "int32", "uint32", "float32"]
WordOrder = Literal["big", "little"]
Value = bool | int | float

BIT_TABLES: frozenset[str] = frozenset({"coil", "discrete_input"})
WRITABLE_TABLES: frozenset[str] = frozenset({"coil", "holding_register"})
WORDS: dict[str, int] = {
    "bool": 1,
    "int16": 1,
    "uint16": 1,
    "int32": 2,
    "uint32": 2,
    "float32": 2,
}
_STRUCT: dict[str, str] = {
    "int16": ">h",
    "uint16": ">H",
    "int32": ">i",
    "uint32": ">I",
    "float32": ">f",
}
INT_RANGE: dict[str, tuple[int, int]] = {
    "int16": (-(2**15), 2**15 - 1),
    "uint16": (0, 2**16 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}
MAX_REGISTERS_PER_READ = 125
"""Modbus limit for function codes 3 and 4."""
MAX_BITS_PER_READ = 2000
"""Modbus limit for function codes 1 and 2."""


class RegisterMapError(ValueError):
    """A register spec or a value that does not fit the register map."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterSpec:
    """One named value in the PLC's address space."""

    name: str
    table: Table
    address: int
    """Zero-based protocol address (holding register 40001 is address 0)."""
    data_type: DataType = "uint16"
    word_order: WordOrder = "big"
    """Order of the 16-bit words of a 32-bit value: `big` puts the high word first."""
    scale: float = 1.0
    """Engineering value = raw value x scale."""
    unit: str = ""
    bit: int | None = None
    """For a status word: take only this bit (0-15) of a 16-bit register, as a bool."""

    def __post_init__(self) -> None:
        where = f"register {self.name!r}"
        if not self.name:
            raise RegisterMapError("register name: expected a non-empty name, got ''")
        if not 0 <= self.address <= 65535:
            raise RegisterMapError(f"{where} address: expected 0 to 65535, got {self.address}")
        if self.data_type not in WORDS:
            raise RegisterMapError(
                f"{where} data_type: expected one of {', '.join(WORDS)}, got {self.data_type!r}"
            )
        in_bits = self.table in BIT_TABLES
        if in_bits != (self.data_type == "bool"):
            expected = "bool" if in_bits else "a register type (not bool)"
            raise RegisterMapError(
                f"{where} data_type: a {self.table} holds {expected}, got {self.data_type!r}"
            )
        if self.word_order not in ("big", "little"):
            raise RegisterMapError(
                f"{where} word_order: expected 'big' or 'little', got {self.word_order!r}"
            )
        if not (math.isfinite(self.scale) and self.scale != 0):
            raise RegisterMapError(f"{where} scale: expected a non-zero number, got {self.scale}")
        if self.bit is not None and not (
            self.data_type in ("uint16", "int16") and 0 <= self.bit <= 15
        ):
            raise RegisterMapError(
                f"{where} bit: expected 0 to 15 on a 16-bit register, got bit {self.bit} "
                f"on {self.data_type}"
            )
        if self.address + WORDS[self.data_type] - 1 > 65535:
            raise RegisterMapError(f"{where}: its words run past address 65535")

    @property
    def words(self) -> int:
        """How many addresses the value occupies (1 for bits)."""
        return WORDS[self.data_type]

    @property
    def is_flag(self) -> bool:
        """Whether the value is a bool (a coil, a discrete input or a bit of a register)."""
        return self.data_type == "bool" or self.bit is not None

    def describe(self) -> str:
        """`holding_register 12 (seal_temp)`: how errors name the address."""
        span = f"{self.address}-{self.address + self.words - 1}" if self.words > 1 else ""
        bit = f".{self.bit}" if self.bit is not None else ""
        return f"{self.table} {span or self.address}{bit} ({self.name})"


def decode(spec: RegisterSpec, raw: Sequence[int] | Sequence[bool]) -> Value:
    """The engineering value of `spec` from its raw words (or its one bit).

    >>> decode(RegisterSpec(name="n", table="holding_register", address=0, data_type="int32",
    ...     word_order="little"), [0xFFFE, 0xFFFF])
    -2
    """
    if len(raw) != spec.words:
        raise RegisterMapError(
            f"register {spec.name!r}: expected {spec.words} raw value(s), got {len(raw)}"
        )
    if spec.data_type == "bool":
        return bool(raw[0])
    words = [int(w) for w in raw]
    for w in words:
        if not 0 <= w <= 0xFFFF:
            raise RegisterMapError(f"register {spec.name!r}: raw word {w} is not 16-bit")
    if spec.bit is not None:
        return bool((words[0] >> spec.bit) & 1)
    if spec.word_order == "little":
        words.reverse()
    packed = b"".join(w.to_bytes(2, "big") for w in words)
    (number,) = struct.unpack(_STRUCT[spec.data_type], packed)
    if spec.scale == 1 and spec.data_type != "float32":
        return int(number)
    if spec.data_type == "float32":
        # a float32 holds about 7 significant digits; more would be noise from widening
        return float(f"{float(number) * spec.scale:.7g}")
    return _scaled(number, spec)


def _scaled(raw: int, spec: RegisterSpec) -> float:
    # rounded past the scale's own decimals so 1802 x 0.1 reads 180.2, not 180.20000000000002
    return round(raw * spec.scale, max(0, 6 - math.floor(math.log10(abs(spec.scale)))))


def encode(spec: RegisterSpec, value: Value) -> list[int]:
    """The raw words (or the one bit as 0/1) that make `spec` read `value`.

    Raises RegisterMapError when the value does not fit the register's type.
    """
    if spec.bit is not None:
        raise RegisterMapError(
            f"register {spec.name!r}: a single bit of a register cannot be written on its own"
        )
    if spec.data_type == "bool":
        if not isinstance(value, bool):
            raise RegisterMapError(f"{spec.describe()}: expected True or False, got {value!r}")
        return [int(value)]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RegisterMapError(f"{spec.describe()}: expected a number, got {value!r}")
    if spec.data_type == "float32":
        try:
            packed = struct.pack(">f", value / spec.scale)
        except OverflowError:
            raise RegisterMapError(
                f"{spec.describe()}: value {value} is outside the float32 range"
            ) from None
    else:
        raw = round(value / spec.scale)
        low, high = INT_RANGE[spec.data_type]
        if not low <= raw <= high:
            raise RegisterMapError(
                f"{spec.describe()}: value {value} (raw {raw} at scale {spec.scale}) is outside "
                f"{spec.data_type} {low} to {high}"
            )
        packed = struct.pack(_STRUCT[spec.data_type], raw)
    words = [int.from_bytes(packed[i : i + 2], "big") for i in range(0, len(packed), 2)]
    if spec.word_order == "little":
        words.reverse()
    return words


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One Modbus read request covering several specs of one table."""

    table: Table
    address: int
    count: int
    specs: tuple[RegisterSpec, ...]

    def slice_for(self, spec: RegisterSpec, raw: Sequence[int] | Sequence[bool]) -> list[int]:
        start = spec.address - self.address
        return [int(v) for v in raw[start : start + spec.words]]

    def describe(self) -> str:
        names = ", ".join(s.name for s in self.specs)
        last = self.address + self.count - 1
        span = f"{self.address}-{last}" if last != self.address else f"{self.address}"
        return f"{self.table} {span} ({names})"


def plan_reads(specs: Iterable[RegisterSpec], *, max_gap: int = 8) -> list[ReadBlock]:
    """Group specs into read requests: one per table and run of addresses, bridging gaps of
    up to `max_gap` unused addresses (one bigger read costs less than two round trips)."""
    by_table: dict[Table, list[RegisterSpec]] = {}
    for spec in specs:
        by_table.setdefault(spec.table, []).append(spec)
    blocks: list[ReadBlock] = []
    for table, table_specs in by_table.items():
        limit = MAX_BITS_PER_READ if table in BIT_TABLES else MAX_REGISTERS_PER_READ
        ordered = sorted(table_specs, key=lambda s: (s.address, s.name))
        current: list[RegisterSpec] = []
        start = end = 0
        for spec in ordered:
            spec_end = spec.address + spec.words
            if current and spec.address - end <= max_gap and max(end, spec_end) - start <= limit:
                current.append(spec)
                end = max(end, spec_end)
                continue
            if current:
                blocks.append(ReadBlock(table, start, end - start, tuple(current)))
            current, start, end = [spec], spec.address, spec_end
        if current:
            blocks.append(ReadBlock(table, start, end - start, tuple(current)))
    return blocks
