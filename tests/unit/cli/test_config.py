"""Bad settings are one-line errors naming the file, the [section] and key, and what is allowed,
before any work: ranges, unreadable files, URLs, voice values. Checked in-process (the message)
and through the CLI (one line, exit 1, no traceback, nothing written)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from audiobook.config import load_config, load_profile
from audiobook.errors import ConfigError


def config_file(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "audiobook.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "message"), [
    ("[render]\nloudness_lufs = -100\n",
     r"\[render\] loudness_lufs = -100.0 is out of range; allowed: -40 to -10 LUFS"),
    ("[render]\nloudness_lufs = nan\n", r"\[render\] loudness_lufs = nan is out of range"),
    ("[render]\nloudness_lufs = inf\n", r"\[render\] loudness_lufs = inf is out of range"),
    ("[render]\ntrue_peak_dbtp = 20\n", r"\[render\] true_peak_dbtp = 20.0 is out of range; allowed: -10 to 0 dBTP"),
    ("[edge]\nretries = -5\n", r"\[edge\] retries = -5 is out of range; allowed: 0 to 20"),
    ("[edge]\ntimeout_s = 0\n", r"\[edge\] timeout_s = 0.0 is out of range; allowed: 1 to 600 s"),
    ("[edge]\ntimeout_s = -3\n", r"\[edge\] timeout_s"),
    ("[edge]\nconcurrency = 0\n", r"\[edge\] concurrency = 0 is out of range; allowed: 1 to 64"),
    ("[render]\nbitrate_kbps = 65\n", r"\[render\] bitrate_kbps"),
    ('[feed]\nfile = "../x.xml"\n', r"\[feed\] file = '../x.xml' must be a plain file name"),
    ('[show]\nbase_url = "ftp://example.com/"\n', r"\[show\] base_url = 'ftp://example.com/' must be an absolute"),
    ('[show]\nbase_url = "example.com/podcast"\n', r"\[show\] base_url"),
    ('[show]\ncategory = "Podcasts"\n', r"\[show\] category = 'Podcasts' is not an Apple Podcasts category"),
    ('[render]\nengine = "fast"\n', r"\[render\] engine = 'fast'; allowed: auto, local, kokoro, edge"),
    ("[render]\nvoices = 1\n", r"\[render\]: unknown key 'voices'"),
    ('[render]\nloudness_lufs = "loud"\n', r"\[render\]: key 'loudness_lufs' must be a float"),
    ("[music]\nfade_ms = 20000\n", r"\[music\] fade_ms = 20000 is out of range; allowed: 0 to 10000 ms"),
    ("[music]\njingle = \"a.mp3\"\n", r"\[music\]: unknown key 'jingle'; allowed keys: fade_ms, intro, outro, "
                                      r"transition"),
    ("[music]\nintro = 3\n", r"\[music\]: key 'intro' must be a str"),
    ("[nope]\n", r"unknown section \[nope\]"),
    ("[show\n", r"not valid TOML"),
    ("[fetch]\ntimeout_s = 0.5\n", r"\[fetch\] timeout_s = 0.5 is out of range; allowed: 1 to 300 s"),
    ("[fetch]\nmax_mb = 0\n", r"\[fetch\] max_mb = 0.0 is out of range"),
    ("[follow]\nlimit = 0\n", r"\[follow\] limit = 0 is out of range; allowed: 1 to 1000 entries"),
    ("[follow]\npoll_minutes = 0.1\n", r"\[follow\] poll_minutes = 0.1 is out of range"),
    ('[follow]\nfeeds = ["feed.xml"]\n', r"\[follow\] feeds: 'feed.xml' is not an http\(s\) URL"),
    ('[follow]\nfeeds = "https://a.example/feed"\n', r"\[follow\]: key 'feeds' must be a list"),
], ids=["lufs-low", "lufs-nan", "lufs-inf", "peak-high", "retries-negative", "timeout-zero", "timeout-negative",
        "concurrency-zero", "bitrate", "feed-outside", "base-url-scheme", "base-url-relative", "category",
        "engine", "unknown-key", "wrong-type", "music-fade", "music-unknown-key", "music-wrong-type",
        "unknown-section", "syntax", "fetch-timeout", "fetch-size", "follow-limit", "follow-poll", "follow-feed-url",
        "follow-feeds-not-list"])
def test_bad_settings_name_file_section_key_and_allowed_values(tmp_path: Path, text: str, message: str) -> None:
    path = config_file(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as raised:
        load_config(path)
    assert str(raised.value).startswith(str(path))


def test_unreadable_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not UTF-8 text.*save it as UTF-8"):
        load_config(config_file(tmp_path, "[show]\ntitle = \"夜读\"\n".encode("gb18030")))
    with pytest.raises(ConfigError, match="is a folder; give the path of the .toml file"):
        load_config(tmp_path)
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml")


def voice_file(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "mine.toml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


@pytest.mark.parametrize(("text", "message"), [
    ('local_voice = "nobody"\n', r"local_voice = 'nobody' is not a voice of the local engine; allowed: baker"),
    ('kokoro_voice = "zf_nobody"\n',
     r"kokoro_voice = 'zf_nobody' is not a voice of the kokoro engine; allowed: zf_xiaobei"),
    ('rate = "+999%"\n', r"rate = '\+999%' must be like \+10%, from -50% to \+100%"),
    ('rate = "fast"\n', r"rate = 'fast' must be like"),
    ('volume = "-200%"\n', r"volume = '-200%' must be like -10%, from -100% to \+100%"),
    ('pitch = "+5%"\n', r"pitch = '\+5%' must be like -20Hz"),
    ('edge_voice = "Xiaoxiao"\n', r"edge_voice = 'Xiaoxiao' is not an edge voice name"),
    ("[pauses]\nsentence_ms = -1\n", r"\[pauses\] sentence_ms = -1 is out of range; allowed: 0 to 10000 ms"),
    ("speed = 1\n", r"unknown key 'speed'"),
], ids=["local-voice", "kokoro-voice", "rate-range", "rate-form", "volume-range", "pitch-unit", "edge-voice", "pause",
        "unknown"])
def test_bad_voice_profiles_are_caught_at_load_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = voice_file(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as raised:
        load_profile(str(path))
    assert str(path) in str(raised.value)


def test_a_non_utf8_voice_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = voice_file(tmp_path, 'name = "預設"\n'.encode("big5"))
    with pytest.raises(ConfigError, match=f"{path}: not UTF-8 text"):
        load_profile(str(path))


@pytest.mark.parametrize(("args", "setting", "needle"), [
    (["render", "a.md"], "[render]\nloudness_lufs = -100\n", "loudness_lufs = -100.0 is out of range"),
    (["render", "a.md"], "[edge]\nretries = -5\n", "retries = -5 is out of range"),
    (["render", "a.md"], b"\xff\xfe[show]\n", "not UTF-8 text"),
    (["render", "a.md"], '[show]\nbase_url = "nope"\n', "base_url = 'nope' must be an absolute"),
    (["feed"], '[show]\nbase_url = "nope"\n', "base_url = 'nope' must be an absolute"),
    (["render", "a.md", "--voice", "mine.toml"], None, "rate = '+999%'"),
], ids=["range", "retries", "encoding", "base-url", "feed-base-url", "voice-file"])
def test_cli_turns_bad_settings_into_one_line_before_any_work(tmp_path: Path, args: list[str],
                                                              setting: str | bytes | None, needle: str) -> None:
    (tmp_path / "a.md").write_text("---\ntitle: 设置\n---\n\n一句话。\n", encoding="utf-8")
    voice_file(tmp_path, 'rate = "+999%"\n')
    extra = []
    if setting is not None:
        extra = ["-c", str(config_file(tmp_path, setting))]
    done = subprocess.run([sys.executable, "-m", "audiobook", *args, *extra, "-o", "out"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], done.stderr
    assert not (tmp_path / "out").exists()  # nothing written


def test_cli_with_a_folder_as_config(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "audiobook", "feed", "-c", str(tmp_path)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "is a folder" in done.stderr and "Traceback" not in done.stderr
