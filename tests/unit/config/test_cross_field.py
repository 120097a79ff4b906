"""Rules that span several keys: each problem lands on the key it concerns."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from protocols.config import PlantConfig, load_plant_text

Problems = Callable[[str], list[str]]
Edit = Callable[[str, str, str], str]

INSPECTION_PLC = """\
    plc:
      host: 127.0.0.1
      port: 15024
"""

CASES: list[tuple[str, list[tuple[str, str]], list[str]]] = [
    (
        "duplicate-checkpoint-id",
        [("  - id: inspection", "  - id: sealing"), ("    predecessors: [sealing]\n", "")],
        [
            "line.yaml:34 checkpoints[1].id: checkpoint id 'sealing' is already used by"
            " checkpoints[0].id"
        ],
    ),
    (
        "duplicate-device-id",
        [("device_id: edge-inspection", "device_id: edge-sealing")],
        [
            "line.yaml:37 checkpoints[1].device_id: device_id 'edge-sealing' is already used by"
            " checkpoints[0].device_id"
        ],
    ),
    (
        "shared-outbox-file",
        [("/tmp/inspection/outbox.sqlite3", "/tmp/sealing/outbox.sqlite3")],
        [
            "line.yaml:42 checkpoints[1].outbox.path: file '/tmp/sealing/outbox.sqlite3' is"
            " already used by checkpoints[0].outbox.path"
        ],
    ),
    (
        "outbox-is-state",
        [("/tmp/inspection/state.sqlite3", "/tmp/inspection/outbox.sqlite3")],
        ["line.yaml:43 checkpoints[1].state_path: must not be the outbox's file"],
    ),
    (
        "shared-scanner-port",
        [
            (
                "    camera:\n      source: 0\n",
                "    scanners:\n      - name: unit\n        port: socket://127.0.0.1:17031\n",
            )
        ],
        [
            "line.yaml:40 checkpoints[1].scanners[0].port: scanner port 'socket://127.0.0.1:17031'"
            " is already used by checkpoints[0].scanners[0].port"
        ],
    ),
    (
        "unknown-predecessor",
        [("predecessors: [sealing]", "predecessors: [sealer]")],
        [
            "line.yaml:40 checkpoints[1].predecessors[0]: no checkpoint 'sealer' in line 'line-1'"
            " (checkpoints: sealing, inspection)"
        ],
    ),
    (
        "self-predecessor",
        [("predecessors: [sealing]", "predecessors: [sealing, inspection, sealing]")],
        [
            "line.yaml:40 checkpoints[1].predecessors[1]: a checkpoint cannot precede itself",
            "line.yaml:40 checkpoints[1].predecessors[2]: 'sealing' is listed twice",
        ],
    ),
    (
        "route-cycle",
        [
            (
                "    outbox:\n      path: /tmp/sealing",
                "    predecessors: [inspection]\n    outbox:\n      path: /tmp/sealing",
            )
        ],
        [
            "line.yaml:31 checkpoints[0].predecessors: the route has a cycle:"
            " inspection -> sealing -> inspection"
        ],
    ),
    (
        "duplicate-register-name",
        [("- name: seal_pressure", "- name: seal_temp")],
        [
            "line.yaml:27 checkpoints[0].plc.registers[1].name: 'seal_temp' is already the name"
            " of registers[0]"
        ],
    ),
    (
        "overlapping-registers",
        [("          type: int16\n", "          type: int32\n")],
        [
            "line.yaml:28 checkpoints[0].plc.registers[1].address: 'seal_pressure' (uint16 at"
            " word 1) overlaps 'seal_temp' (int32 at words 0-1)"
        ],
    ),
    (
        "register-past-the-end",
        [
            (
                "          address: 1\n          type: uint16\n",
                "          address: 65535\n          type: float32\n",
            )
        ],
        [
            "line.yaml:28 checkpoints[0].plc.registers[1].address: a float32 at 65535 would end"
            " at word 65536, past 65535"
        ],
    ),
    (
        "lo-above-hi-and-slow-poll",
        [("          lo: 175\n", "          lo: 190\n          poll_period_ms: 2000\n")],
        [
            "line.yaml:25 checkpoints[0].plc.registers[0].lo: must not exceed hi (185), got 190",
            "line.yaml:26 checkpoints[0].plc.registers[0].poll_period_ms: must not exceed"
            " max_age_ms (1000), or every value would be stale before the next poll; got 2000",
        ],
    ),
    (
        "zero-scale",
        [("scale: 0.01", "scale: 0")],
        ["line.yaml:30 checkpoints[0].plc.registers[1].scale: must not be 0"],
    ),
    (
        "no-reader-for-role",
        [("    scanners:\n      - name: unit\n        port: socket://127.0.0.1:17031\n", "")],
        [
            "line.yaml:11 checkpoints[0].scanners: role 'sealing' needs at least one scanner or"
            " a camera; none is configured"
        ],
    ),
    (
        "on-trigger-without-trigger",
        [("      source: 0\n", "      source: 0\n      trigger: on_trigger\n")],
        ["line.yaml:40 checkpoints[1].camera.trigger: 'on_trigger' needs plc.trigger"],
    ),
    (
        "interlock-without-plc",
        [
            (
                "    predecessors: [sealing]\n",
                "    predecessors: [sealing]\n"
                "    interlock:\n      reject: {table: coil, address: 1}\n",
            )
        ],
        ["line.yaml:41 checkpoints[1].interlock: needs a plc to write its outputs to"],
    ),
    (
        "interlock-outputs-clash",
        [
            (
                "    predecessors: [sealing]\n",
                "    predecessors: [sealing]\n" + INSPECTION_PLC + "    interlock:\n"
                "      pass: {table: coil, address: 1}\n      reject: {table: coil, address: 1}\n",
            )
        ],
        ["line.yaml:46 checkpoints[1].interlock.reject: coil 1 is already used by 'pass'"],
    ),
    (
        "output-on-polled-register",
        [
            (
                "    outbox:\n      path: /tmp/sealing",
                "    interlock:\n      line_stop: {table: holding_register, address: 1}\n"
                "    outbox:\n      path: /tmp/sealing",
            )
        ],
        [
            "line.yaml:32 checkpoints[0].interlock.line_stop.address: holding register 1 is"
            " polled as 'seal_pressure'"
        ],
    ),
    (
        "bit-of-a-coil",
        [
            (
                "    predecessors: [sealing]\n",
                "    predecessors: [sealing]\n"
                + INSPECTION_PLC
                + "      trigger: {table: discrete_input, address: 0, bit: 3}\n",
            )
        ],
        [
            "line.yaml:44 checkpoints[1].plc.trigger.bit: only allowed for registers, not for a"
            " discrete_input"
        ],
    ),
    (
        "limits-for-unknown-register",
        [
            (
                "    outbox:\n      path: /tmp/sealing",
                "    rules:\n      parameter_limits: {parameters: [seal_temp, seal_tmp]}\n"
                "    outbox:\n      path: /tmp/sealing",
            )
        ],
        [
            "line.yaml:32 checkpoints[0].rules.parameter_limits.parameters[1]: no register"
            " 'seal_tmp' (registers: seal_pressure, seal_temp)"
        ],
    ),
    (
        "deadline-inside-read-window",
        [
            (
                "    role: sealing\n",
                "    role: sealing\n    read_window_ms: 200\n    decision_deadline_ms: 200\n",
            )
        ],
        [
            "line.yaml:15 checkpoints[0].decision_deadline_ms: must be greater than"
            " read_window_ms (200), got 200"
        ],
    ),
    (
        "packing-without-section",
        [("    role: inspection", "    role: packing")],
        ["line.yaml:34 checkpoints[1].packing: required with role 'packing'"],
    ),
    (
        "packing-section-elsewhere",
        [
            (
                "    predecessors: [sealing]\n",
                "    predecessors: [sealing]\n    packing: {case_size: 10}\n",
            )
        ],
        ["line.yaml:41 checkpoints[1].packing: only allowed with role 'packing', not 'inspection'"],
    ),
    (
        "generated-sscc-without-prefix",
        [
            ("    role: inspection", "    role: packing"),
            (
                "    predecessors: [sealing]\n",
                "    predecessors: [sealing]\n"
                "    packing: {case_size: 10, sscc_source: generated}\n",
            ),
        ],
        [
            "line.yaml:41 checkpoints[1].packing.sscc_source: 'generated' needs"
            " site.gs1_company_prefix"
        ],
    ),
    (
        "tls-without-tls-scheme",
        [
            (
                "  broker_url: mqtt://127.0.0.1:1883\n",
                "  broker_url: mqtt://127.0.0.1:1883\n  tls: {ca_file: /etc/tracegate/ca.pem}\n",
            )
        ],
        ["line.yaml:10 mqtt.tls: given, but broker_url uses mqtt:// (use mqtts:// or wss://)"],
    ),
    (
        "client-cert-without-key",
        [
            (
                "  broker_url: mqtt://127.0.0.1:1883\n",
                "  broker_url: mqtts://broker.plant:8883\n"
                "  tls: {cert_file: /etc/tracegate/c.pem}\n",
            )
        ],
        ["line.yaml:10 mqtt.tls.key_file: required when cert_file is given"],
    ),
    (
        "custom-framing-without-terminator",
        [
            (
                "        port: socket://127.0.0.1:17031\n",
                "        port: socket://127.0.0.1:17031\n        framing: custom\n",
            )
        ],
        ["line.yaml:16 checkpoints[0].scanners[0].terminator_hex: required with framing 'custom'"],
    ),
    (
        "terminator-with-cr-framing",
        [
            (
                "        port: socket://127.0.0.1:17031\n",
                "        port: socket://127.0.0.1:17031\n        terminator_hex: '04'\n",
            )
        ],
        [
            "line.yaml:18 checkpoints[0].scanners[0].terminator_hex: only allowed with framing"
            " 'custom', not 'cr'"
        ],
    ),
    (
        "terminator-not-hex",
        [
            (
                "        port: socket://127.0.0.1:17031\n",
                "        port: socket://127.0.0.1:17031\n        framing: custom\n"
                "        terminator_hex: EOT\n",
            )
        ],
        [
            "line.yaml:19 checkpoints[0].scanners[0].terminator_hex: expected hex bytes like '04'"
            " or '1d0d', got 'EOT'"
        ],
    ),
    (
        "backoff-min-above-max",
        [
            (
                "        port: socket://127.0.0.1:17031\n",
                "        port: socket://127.0.0.1:17031\n        reconnect_backoff_min_s: 60\n",
            )
        ],
        [
            "line.yaml:18 checkpoints[0].scanners[0].reconnect_backoff_min_s: must not exceed"
            " reconnect_backoff_max_s (30), got 60"
        ],
    ),
    (
        "pyzbar-cannot-read-datamatrix",
        [
            (
                "      source: 0\n",
                "      source: 0\n      decoder: pyzbar\n      formats: [code128, datamatrix]\n",
            )
        ],
        [
            "line.yaml:41 checkpoints[1].camera.formats[1]: pyzbar cannot decode 'datamatrix';"
            " use decoder 'zxing'"
        ],
    ),
    (
        "bad-stopbits",
        [
            (
                "        port: socket://127.0.0.1:17031\n",
                "        port: socket://127.0.0.1:17031\n        stopbits: 3\n",
            )
        ],
        ["line.yaml:18 checkpoints[0].scanners[0].stopbits: expected one of 1, 1.5, 2, got 3"],
    ),
]


@pytest.mark.parametrize(
    ("edits", "expected"), [(e, x) for _, e, x in CASES], ids=[name for name, _, _ in CASES]
)
def test_cross_field_problem(
    two_checkpoints: str,
    edit: Edit,
    problems_of: Problems,
    edits: list[tuple[str, str]],
    expected: list[str],
) -> None:
    text = two_checkpoints
    for old, new in edits:
        text = edit(text, old, new)
    assert problems_of(text) == expected


def test_problems_in_several_checkpoints_are_all_reported(
    two_checkpoints: str, edit: Edit, problems_of: Problems
) -> None:
    text = edit(two_checkpoints, "          lo: 175\n", "          lo: 190\n")
    text = edit(text, "      source: 0\n", "      source: 0\n      trigger: on_trigger\n")
    text = edit(text, "  timezone: UTC", "  timezone: Mars/Olympus")
    assert problems_of(text) == [
        "line.yaml:4 site.timezone: unknown time zone 'Mars/Olympus' (expected an IANA name"
        " such as 'Europe/Dublin')",
        "line.yaml:25 checkpoints[0].plc.registers[0].lo: must not exceed hi (185), got 190",
        "line.yaml:40 checkpoints[1].camera.trigger: 'on_trigger' needs plc.trigger",
    ]


def test_configs_built_in_code_meet_the_same_rules(two_checkpoints: str) -> None:
    plant = load_plant_text(two_checkpoints, source="line.yaml")
    data = plant.model_dump(by_alias=True)
    data["checkpoints"][1]["id"] = "sealing"
    data["checkpoints"][1]["predecessors"] = []
    with pytest.raises(ValueError, match="checkpoint id 'sealing' is already used"):
        PlantConfig.model_validate(data)


def test_models_are_frozen(minimal: str) -> None:
    plant = load_plant_text(minimal, source="line.yaml")
    with pytest.raises(ValueError, match="frozen"):
        plant.checkpoints[0].plc.timeout_s = 5  # type: ignore[misc, union-attr]
    assert hash(plant) == hash(load_plant_text(minimal, source="other.yaml"))
