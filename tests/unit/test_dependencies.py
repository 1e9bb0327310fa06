"""No dependency that is never used: every package in pyproject.toml's dependencies is imported
by the code, or is named in [tool.deptry] as data (its files are read) with the reason beside it.
deptry also flags imports of packages that are not declared (a transitive dependency used
directly). Runs offline, in a second or two."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from tests.support import PROJECT


def test_deptry_finds_no_unused_missing_or_transitive_dependency() -> None:
    proc = subprocess.run([sys.executable, "-m", "deptry", "--no-ansi", "."], capture_output=True,
                          text=True, timeout=120, cwd=PROJECT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No dependency issues found" in proc.stdout + proc.stderr


def test_every_exception_is_explained_in_pyproject() -> None:
    """A dependency deptry is told to accept unimported has a comment saying why, next to it."""
    text = (PROJECT / "pyproject.toml").read_text(encoding="utf-8")
    ignored = tomllib.loads(text)["tool"]["deptry"]["per_rule_ignores"]["DEP002"]
    lines = text.splitlines()
    for name in ignored:
        (at,) = [i for i, line in enumerate(lines) if re.match(rf'\s*"{re.escape(name)}[>=<;]', line)]
        assert lines[at - 1].strip().startswith("#"), f"{name}: say why it is declared but not imported"
