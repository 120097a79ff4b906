"""The CLI must not pull in the cloud stack or OpenCV at import time."""

import subprocess
import sys


def test_cli_help_imports_neither_side() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from tracegate.cli import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "heavy = sorted(m for m in ('litestar', 'sqlalchemy', 'asyncpg', 'cv2', 'pymodbus', 'paho')"
        " if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
