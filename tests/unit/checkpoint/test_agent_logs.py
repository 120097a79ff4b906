"""Structured log lines: JSON objects and logfmt, with `extra` fields as fields of their own."""

from __future__ import annotations

import io
import json
import logging

from edge.checkpoint.logs import JsonFormatter, LogfmtFormatter


def record(message: str, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("edge.checkpoint", logging.WARNING, "x.py", 1, message, None, None)
    rec.created = 1764072000.25
    rec.__dict__.update(extra)
    return rec


def test_json_lines_carry_the_extra_fields() -> None:
    line = JsonFormatter().format(record("unit held", unit="095/S/SN1", reasons="no_read"))
    assert json.loads(line) == {
        "ts": "2025-11-25T12:00:00.250+00:00",
        "level": "warning",
        "logger": "edge.checkpoint",
        "msg": "unit held",
        "unit": "095/S/SN1",
        "reasons": "no_read",
    }


def test_logfmt_quotes_what_needs_quoting() -> None:
    line = LogfmtFormatter().format(record('read "A B"\nagain', alarm="outbox_full", seq=None))
    assert line == (
        "ts=2025-11-25T12:00:00.250+00:00 level=warning logger=edge.checkpoint"
        ' msg="read \\"A B\\"\\nagain" alarm=outbox_full seq=""'
    )


def test_configure_logging_writes_one_json_object_a_line() -> None:
    from edge.checkpoint.logs import configure_logging

    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        configure_logging(log_format="json", level="info", stream=stream)
        logging.getLogger("edge.test").info("one", extra={"task": "scanner unit"})
        logging.getLogger("edge.test").debug("not shown")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = stream.getvalue().splitlines()
    assert [json.loads(x)["msg"] for x in lines] == ["one"]
    assert json.loads(lines[0])["task"] == "scanner unit"
