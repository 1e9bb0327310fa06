"""The CLI as a user runs it: a subprocess (`python -m audiobook`), its exit code and stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

AUDIOBOOK = [sys.executable, "-m", "audiobook"]


def run(*args: str, cwd: Path | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([*AUDIOBOOK, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0]
