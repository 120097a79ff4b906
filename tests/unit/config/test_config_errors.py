"""A broken config gives one clear problem per mistake, with file:line and key path."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from protocols.config import ConfigError, ConfigProblem, load_plant_text

Problems = Callable[[str], list[str]]
Edit = Callable[[str, str, str], str]


def test_minimal_config_is_valid(minimal: str, two_checkpoints: str) -> None:
    assert load_plant_text(minimal, source="line.yaml").checkpoints[0].id == "sealing"
    assert len(load_plant_text(two_checkpoints, source="line.yaml").checkpoints) == 2


def test_wrong_type(minimal: str, edit: Edit, problems_of: Problems) -> None:
    text = edit(minimal, "scale: 0.01", "scale: x")
    assert problems_of(text) == [
        "line.yaml:30 checkpoints[0].plc.registers[1].scale: expected a number, got 'x'"
    ]


def test_unknown_key_lists_the_allowed_ones(
    minimal: str, edit: Edit, problems_of: Problems
) -> None:
    text = edit(minimal, "    plc:\n      host", "    plc:\n      hostname: plc-1\n      host")
    assert problems_of(text) == [
        "line.yaml:19 checkpoints[0].plc.hostname: unknown key 'hostname' (allowed: host, port,"
        " unit_id, timeout_s, reconnect_backoff_min_s, reconnect_backoff_max_s, registers,"
        " trigger)"
    ]


def test_missing_required_key_points_at_its_mapping(
    minimal: str, edit: Edit, problems_of: Problems
) -> None:
    text = edit(minimal, "          type: uint16\n", "")
    assert problems_of(text) == [
        "line.yaml:27 checkpoints[0].plc.registers[1].type: required key missing"
    ]


def test_yaml_syntax_error(minimal: str, edit: Edit, problems_of: Problems) -> None:
    text = edit(minimal, "  name: Line 1", "  name: Line: 1")
    assert problems_of(text) == [
        "line.yaml:7: YAML syntax error: mapping values are not allowed here"
    ]


def test_yaml_syntax_error_in_flow_mapping(minimal: str, edit: Edit, problems_of: Problems) -> None:
    text = edit(minimal, "  id: line-1\n", "  id: [line-1\n")
    assert problems_of(text) == [
        "line.yaml:7: YAML syntax error: expected ',' or ']', but got ':'"
        " (while parsing a flow sequence at line 6)"
    ]


def test_tab_indentation(minimal: str, edit: Edit, problems_of: Problems) -> None:
    text = edit(minimal, "  timezone: UTC", "\ttimezone: UTC")
    assert problems_of(text) == [
        "line.yaml:4: YAML syntax error: found character '\\t' that cannot start any token"
        " (while scanning for the next token)"
    ]


def test_duplicate_key(minimal: str, edit: Edit, problems_of: Problems) -> None:
    text = edit(minimal, "          lo: 175\n", "          lo: 175\n          lo: 170\n")
    assert problems_of(text) == [
        "line.yaml:26 checkpoints[0].plc.registers[0].lo: duplicate key 'lo' (first at line 25)"
    ]


def test_non_text_key(minimal: str, edit: Edit, problems_of: Problems) -> None:
    text = edit(minimal, "  name: Plant\n", "  name: Plant\n  on: 1\n")
    assert problems_of(text) == [
        "line.yaml:4 site: keys must be text, got on (put it in quotes to make it text)"
    ]


def test_every_problem_is_reported_in_line_order(
    minimal: str, edit: Edit, problems_of: Problems
) -> None:
    text = edit(minimal, "scale: 0.01", "scale: x")
    text = edit(text, "  timezone: UTC\n", "  timezone: UTC\n  country: IE\n")
    text = edit(text, "    role: sealing\n", "    role: sealer\n")
    text = edit(text, "    state_path: /tmp/sealing/state.sqlite3\n", "")
    text = edit(text, "          address: 1\n", "          address: 1.5\n")
    assert problems_of(text) == [
        "line.yaml:5 site.country: unknown key 'country' (allowed: id, name, timezone,"
        " gs1_company_prefix)",
        "line.yaml:12 checkpoints[0].state_path: required key missing",
        "line.yaml:14 checkpoints[0].role: expected one of goods_receipt, assembly, sealing,"
        " inspection, packing, shipping, returns, got 'sealer'",
        "line.yaml:29 checkpoints[0].plc.registers[1].address: expected a whole number, got 1.5",
        "line.yaml:31 checkpoints[0].plc.registers[1].scale: expected a number, got 'x'",
    ]


def test_empty_file(problems_of: Problems) -> None:
    assert problems_of("# nothing yet\n") == [
        "line.yaml:1: the file is empty; expected a plant config (site, line, mqtt, checkpoints)"
    ]


def test_top_level_list(problems_of: Problems) -> None:
    assert problems_of("- site\n- line\n") == [
        "line.yaml:1: expected a mapping of keys, got a list"
    ]


def test_two_documents(minimal: str, problems_of: Problems) -> None:
    assert problems_of(minimal + "---\nsite: {}\n") == [
        "line.yaml:34: YAML syntax error: but found another document"
        " (expected a single document in the stream at line 1)"
    ]


def test_python_tags_are_refused(minimal: str, edit: Edit, problems_of: Problems) -> None:
    text = edit(minimal, "  name: Plant", "  name: !!python/object/apply:os.getcwd []")
    assert problems_of(text) == [
        "line.yaml:3: YAML error: could not determine a constructor for the tag"
        " 'tag:yaml.org,2002:python/object/apply:os.getcwd'"
    ]


def test_control_character(minimal: str, edit: Edit, problems_of: Problems) -> None:
    text = edit(minimal, "  name: Line 1", "  name: Line\x07 1")
    assert problems_of(text) == [
        "line.yaml:7: YAML syntax error: control character U+0007 is not allowed"
    ]


def test_merge_keys_are_followed(minimal: str, edit: Edit, problems_of: Problems) -> None:
    text = edit(
        minimal,
        "        - name: seal_pressure\n",
        "        - <<: {unit: bar, colour: red}\n          name: seal_pressure\n",
    )
    assert problems_of(text) == [
        "line.yaml:27 checkpoints[0].plc.registers[1].colour: unknown key 'colour' (allowed:"
        " name, address, table, type, word_order, scale, unit, lo, hi, max_age_ms,"
        " poll_period_ms)"
    ]


def test_problem_rendering() -> None:
    assert str(ConfigProblem("a.yaml", 3, "site.id", "required key missing")) == (
        "a.yaml:3 site.id: required key missing"
    )
    assert str(ConfigProblem("a.yaml", 3, "", "YAML syntax error: x")) == (
        "a.yaml:3: YAML syntax error: x"
    )
    assert str(ConfigProblem("a.yaml", None, "", "no such file")) == "a.yaml: no such file"
    error = ConfigError([ConfigProblem("a.yaml", None, "", "no such file")])
    assert isinstance(error, ValueError)
    assert str(error) == "a.yaml: no such file"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "      host: 127.0.0.1\n",
            "      host: 127.0.0.1\n      unit_id: yes\n",
            "line.yaml:20 checkpoints[0].plc.unit_id: expected a number, got true",
        ),
        (
            "          hi: 185",
            "          hi: .inf",
            "line.yaml:26 checkpoints[0].plc.registers[0].hi: expected a finite number, got inf",
        ),
        (
            "  id: line-1",
            "  id: 1",
            "line.yaml:6 line.id: expected text, got 1 (put it in quotes to make it text)",
        ),
        (
            "  id: line-1",
            "  id: Line 1",
            "line.yaml:6 line.id: expected lower-case letters, digits and '-' (not at either"
            " end, at most 64), got 'Line 1'",
        ),
        (
            "      host: 127.0.0.1\n",
            "      host: 127.0.0.1\n      port: 70000\n",
            "line.yaml:20 checkpoints[0].plc.port: must be at most 65535, got 70000",
        ),
        (
            "      host: 127.0.0.1\n",
            "      host: 127.0.0.1\n      timeout_s: 0\n",
            "line.yaml:20 checkpoints[0].plc.timeout_s: must be greater than 0, got 0",
        ),
        (
            "    scanners:\n",
            "    read_window_ms: -5\n    scanners:\n",
            "line.yaml:15 checkpoints[0].read_window_ms: must be greater than 0, got -5",
        ),
        (
            "    plc:\n      host",
            "    camera: 5\n    plc:\n      host",
            "line.yaml:18 checkpoints[0].camera: expected a mapping of keys, got 5",
        ),
        (
            "        port: socket://127.0.0.1:17031\n",
            "        port: socket://127.0.0.1:17031\n        gs_substitutes: '~'\n",
            "line.yaml:18 checkpoints[0].scanners[0].gs_substitutes: expected a list, got '~'",
        ),
        (
            "        port: socket://127.0.0.1:17031\n",
            "        port: socket://127.0.0.1\n",
            "line.yaml:17 checkpoints[0].scanners[0].port: expected socket://HOST:PORT with a"
            " port from 1 to 65535, got 'socket://127.0.0.1'",
        ),
        (
            "        port: socket://127.0.0.1:17031\n",
            "        port: ttyUSB0\n",
            "line.yaml:17 checkpoints[0].scanners[0].port: expected a serial device path"
            " (/dev/ttyUSB0, /dev/serial/by-id/...) or a socket://HOST:PORT URL, got 'ttyUSB0'",
        ),
        (
            "        port: socket://127.0.0.1:17031\n",
            "        port: socket://127.0.0.1:17031\n        parity: no\n",
            "line.yaml:18 checkpoints[0].scanners[0].parity: expected one of none, even, odd,"
            " mark, space, got false",
        ),
        (
            "  timezone: UTC",
            "  timezone: Europe/Dubln",
            "line.yaml:4 site.timezone: unknown time zone 'Europe/Dubln' (expected an IANA name"
            " such as 'Europe/Dublin')",
        ),
        (
            "  broker_url: mqtt://127.0.0.1:1883",
            "  broker_url: mqtt://user:secret@127.0.0.1:1883",
            "line.yaml:9 mqtt.broker_url: credentials do not belong in broker_url; use"
            " credentials_file",
        ),
        (
            "  broker_url: mqtt://127.0.0.1:1883",
            "  broker_url: tcp://127.0.0.1:1883",
            "line.yaml:9 mqtt.broker_url: expected a URL starting mqtt://, mqtts://, ws:// or"
            " wss://, got 'tcp://127.0.0.1:1883'",
        ),
        (
            "checkpoints:\n",
            "checkpoints: []\nx:\n",
            "line.yaml:10 checkpoints: expected at least 1 item, got 0",
        ),
    ],
    ids=[
        "bool-for-number",
        "infinite-limit",
        "number-for-text",
        "bad-id",
        "port-range",
        "zero-timeout",
        "negative-window",
        "scalar-for-section",
        "scalar-for-list",
        "socket-without-port",
        "bare-device-name",
        "yaml-1.1-no-is-false",
        "unknown-time-zone",
        "credentials-in-url",
        "wrong-scheme",
        "no-checkpoints",
    ],
)
def test_plain_messages(
    minimal: str, edit: Edit, problems_of: Problems, old: str, new: str, expected: str
) -> None:
    problems = problems_of(edit(minimal, old, new))
    assert problems[0] == expected
