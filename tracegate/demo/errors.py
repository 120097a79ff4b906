"""The one error the demo raises for "could not run": the message says what failed and,
where there is one, which log to read."""

from __future__ import annotations


class DemoError(RuntimeError):
    """The demo could not run; the message says what failed and where its log is."""
