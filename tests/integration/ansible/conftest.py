"""Fixtures for the Ansible tests; the session's deployment run lives in ansible_deployment.py."""

from __future__ import annotations

import sys
from pathlib import Path

# Tests are not a package (pytest runs with --import-mode=importlib): put the helpers on the path.
sys.path.insert(0, str(Path(__file__).parent))

from ansible_deployment import deployment

__all__ = ["deployment"]
