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


def test_voices_lists_an_offline_engines_voices() -> None:
    result = runner.invoke(app, ["voices", "--engine", "kokoro"])
    assert result.exit_code == 0, result.stderr
    for name in ("zf_xiaoyi", "zm_yunxi", "zm_yunyang"):
        assert name in result.stdout
    assert "not recommended" in result.stdout  # zf_xiaoni's measured error rate
    listed = json.loads(runner.invoke(app, ["voices", "--engine", "kokoro", "--json"]).stdout)
    assert len(listed) == 8 and {v["engine"] for v in listed} == {"kokoro"}
    unknown = runner.invoke(app, ["voices", "--engine", "nope"])
    assert unknown.exit_code == 1 and "unknown engine 'nope'" in unknown.stderr


def test_preview_speaks_with_a_kokoro_voice_and_checks_the_name(tmp_path: Path) -> None:
    from audiobook.audio.ffmpeg import decode_pcm

    out = tmp_path / "yunxi.wav"
    result = runner.invoke(app, ["preview", "我们用DeepSeek训练模型。", "--engine", "kokoro", "--voice", "zm_yunxi",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"{out} (kokoro engine)"
    assert len(decode_pcm(out, 24000)) > 24000  # more than a second of speech
    wrong = runner.invoke(app, ["preview", "你好。", "--engine", "kokoro", "--voice", "zh-CN-YunxiNeural",
                                "-o", str(out)])
    assert wrong.exit_code == 1 and "is not a voice of the kokoro engine" in wrong.stderr
