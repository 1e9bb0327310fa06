"""The package type-checks cleanly under [tool.mypy] (strict; pyproject.toml says where and why it is relaxed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import PROJECT


@pytest.mark.slow
def test_mypy_is_clean() -> None:
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=PROJECT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
