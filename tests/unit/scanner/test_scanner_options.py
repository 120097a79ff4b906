"""SerialScanner options: checked at construction (no port is touched), and from a config."""

from __future__ import annotations

import doctest
from types import ModuleType
from typing import Any

import pytest

from edge.adapters import aim, backoff, framing, scanner_text
from edge.adapters.framing import Framing
from edge.adapters.scanner import ScannerError, SerialScanner
from edge.sim import scanner_run
from protocols.config.sources import ScannerConfig


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"port": "rfc2218://10.0.0.5:23"},
            "Scanner 'front' (rfc2218://10.0.0.5:23): expected a serial device path or a "
            "socket:// or rfc2217:// URL, found the scheme 'rfc2218'",
        ),
        ({"port": ""}, "Scanner 'front' (): expected a serial device path or URL, found ''"),
        (
            {"read_timeout_s": 0},
            "Scanner 'front' (/dev/ttyACM0): read_timeout_s: expected > 0, got 0",
        ),
        (
            {"max_queued_reads": 0},
            "Scanner 'front' (/dev/ttyACM0): max_queued_reads: expected >= 1, got 0",
        ),
        (
            {"encoding": "utf-9"},
            "Scanner 'front' (/dev/ttyACM0): unknown text encoding 'utf-9'",
        ),
        (
            {"parity": "maybe"},
            "Scanner 'front' (/dev/ttyACM0): parity: expected one of none, even, odd, mark, "
            "space, got 'maybe'",
        ),
        (
            {"reconnect_backoff_min_s": 5.0, "reconnect_backoff_max_s": 1.0},
            "Scanner 'front' (/dev/ttyACM0): ReconnectBackoff: expected 0 < min_s <= max_s, "
            "got min_s=5.0, max_s=1.0",
        ),
    ],
)
def test_bad_options_name_the_scanner(options: dict[str, Any], message: str) -> None:
    settings: dict[str, Any] = {"name": "front", "port": "/dev/ttyACM0", **options}
    with pytest.raises(ScannerError) as info:
        SerialScanner(**settings)
    assert str(info.value) == message
    assert (info.value.name, info.value.port) == ("front", settings["port"])


def test_a_new_scanner_has_an_unknown_link_and_touches_no_port() -> None:
    scanner = SerialScanner(name="front", port="/dev/does-not-exist")
    assert (scanner.link.name, scanner.link.kind, scanner.link.status) == (
        "front",
        "scanner",
        "unknown",
    )


def test_from_config() -> None:
    config = ScannerConfig.model_validate(
        {
            "name": "handheld",
            "port": "socket://127.0.0.1:17011",
            "framing": "etx",
            "symbology_prefixes": ["]C1", "]d2"],
            "gs_substitutes": ["~"],
            "read_timeout_s": 0.5,
            "reconnect_backoff_min_s": 0.1,
            "reconnect_backoff_max_s": 2.0,
        }
    )
    scanner = SerialScanner.from_config(config, max_queued_reads=10)
    assert (scanner.name, scanner.port) == ("handheld", "socket://127.0.0.1:17011")
    assert scanner.framing == Framing(terminator=b"\x03", prefix=b"\x02")
    assert scanner.read_timeout_s == 0.5
    assert scanner.max_queued_reads == 10
    assert scanner.decoder.symbology_ids == frozenset({"]C1", "]d2"})
    assert scanner.decoder.gs_substitutes == "~"


def test_from_config_custom_terminator_and_no_prefixes() -> None:
    config = ScannerConfig.model_validate(
        {"name": "rear", "port": "/dev/ttyUSB0", "framing": "custom", "terminator_hex": "1d04"}
    )
    scanner = SerialScanner.from_config(config)
    assert scanner.framing == Framing(terminator=b"\x1d\x04")
    assert scanner.decoder.symbology_ids is None


@pytest.mark.parametrize(
    "module", [aim, backoff, framing, scanner_text, scanner_run], ids=lambda m: m.__name__
)
def test_docstring_examples_hold(module: ModuleType) -> None:
    results = doctest.testmod(module)
    assert results.failed == 0
    assert results.attempted > 0
