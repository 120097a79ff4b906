"""What the config models tell the adapters beyond their fields."""

from __future__ import annotations

import pytest

from protocols.config import (
    CameraConfig,
    MqttConfig,
    PlcConfig,
    RegisterConfig,
    RulesConfig,
    ScannerConfig,
)


@pytest.mark.parametrize(
    ("framing", "terminator_hex", "expected"),
    [
        ("cr", None, b"\r"),
        ("lf", None, b"\n"),
        ("crlf", None, b"\r\n"),
        ("etx", None, b"\x03"),
        ("custom", "1d0d", b"\x1d\r"),
    ],
)
def test_scanner_terminator(framing: str, terminator_hex: str | None, expected: bytes) -> None:
    scanner = ScannerConfig.model_validate(
        {"name": "s", "port": "/dev/ttyACM0", "framing": framing, "terminator_hex": terminator_hex}
    )
    assert scanner.terminator == expected
    assert scanner.is_network is False


def test_scanner_over_tcp() -> None:
    scanner = ScannerConfig(name="front", port="socket://10.0.0.21:23")
    assert scanner.is_network is True
    assert (scanner.baud, scanner.bytesize, scanner.parity, scanner.stopbits) == (
        9600,
        8,
        "none",
        1,
    )


@pytest.mark.parametrize(
    ("source", "kind", "index"),
    [
        (0, "index", 0),
        ("/dev/video2", "device", None),
        ("rtsp://10.20.1.41/stream1", "rtsp", None),
        ("frames/run-1.mkv", "file", None),
    ],
)
def test_camera_source_kind(source: int | str, kind: str, index: int | None) -> None:
    camera = CameraConfig.model_validate({"source": source})
    assert (camera.source_kind, camera.device_index) == (kind, index)


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "transport", "path"),
    [
        ("mqtt://broker", "broker", 1883, False, "tcp", "/mqtt"),
        ("mqtts://broker.plant:18883", "broker.plant", 18883, True, "tcp", "/mqtt"),
        ("ws://127.0.0.1:9001/mqtt", "127.0.0.1", 9001, False, "websockets", "/mqtt"),
        ("wss://broker/ws", "broker", 443, True, "websockets", "/ws"),
    ],
)
def test_mqtt_url_parts(
    url: str, host: str, port: int, tls: bool, transport: str, path: str
) -> None:
    mqtt = MqttConfig(broker_url=url)
    assert (mqtt.host, mqtt.port, mqtt.uses_tls, mqtt.transport, mqtt.websocket_path) == (
        host,
        port,
        tls,
        transport,
        path,
    )


def test_register_lookup_names_the_known_ones() -> None:
    plc = PlcConfig(
        host="127.0.0.1",
        registers=(
            RegisterConfig(name="seal_temp", address=0, type="int16"),
            RegisterConfig(name="cycle_count", address=1, type="uint32"),
        ),
    )
    assert plc.register("cycle_count").words == 2
    with pytest.raises(KeyError) as info:
        plc.register("seal_tmp")
    assert info.value.args[0] == (
        "no register 'seal_tmp' on PLC 127.0.0.1:502 (known: seal_temp, cycle_count)"
    )


def test_rules_are_on_unless_switched_off() -> None:
    assert RulesConfig().enabled() == (
        "no_read",
        "conflicting_reads",
        "invalid_udi",
        "work_order_product",
        "work_order_lot",
        "expiry",
        "duplicate_serial",
        "route_predecessor",
        "parameter_limits",
        "hold_list",
        "no_work_order",
        "link_down",
    )
    rules = RulesConfig.model_validate(
        {"expiry": {"enabled": False}, "route_predecessor": {"unknown_policy": "pass"}}
    )
    assert "expiry" not in rules.enabled()
    assert rules.route_predecessor.unknown_policy == "pass"
