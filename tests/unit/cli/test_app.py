"""The CLI in-process (typer's CliRunner): the one error boundary lives inside the app, so a runner
sees what a user sees: exit code 1 and one `error:` line, a traceback only with --verbose, usage
errors as typer's own. (tests/e2e/test_cli.py runs the same as a subprocess.)"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from audiobook import __version__
from audiobook.cli import app
from tests.support import EXAMPLE

runner = CliRunner()


def test_an_error_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", str(tmp_path / "nope.md"), "--dry-run", "--engine", "local"])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [f"error: {tmp_path / 'nope.md'}: no such file; check the path"]
    assert result.stdout == ""


def test_verbose_adds_the_traceback(tmp_path: Path) -> None:
    result = runner.invoke(app, ["render", str(tmp_path / "nope.md"), "--dry-run", "--engine", "local", "-v"])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and result.stderr.rstrip().splitlines()[-1].startswith("error: ")


def test_an_unknown_engine_names_the_known_ones() -> None:
    result = runner.invoke(app, ["render", str(EXAMPLE), "--dry-run", "--engine", "nope"])
    assert result.exit_code == 1 and "unknown engine 'nope'" in result.stderr


def test_usage_errors_are_typers_own() -> None:
    result = runner.invoke(app, ["render", "--no-such-option"])
    assert result.exit_code == 2 and "No such option" in result.stderr


def test_dry_run_json_and_version() -> None:
    result = runner.invoke(app, ["render", str(EXAMPLE), "--dry-run", "--json", "--engine", "local"])
    assert result.exit_code == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["title"] == "一杯茶的工程学" and all("key" not in s for c in plan["chapters"] for s in c["sentences"])
    assert runner.invoke(app, ["version"]).stdout.strip() == __version__
