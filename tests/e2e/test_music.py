"""Intro, outro and transition music (audio/music.py, render/music.py) on real files: tones the
tests make with ffmpeg in several formats, rendered around a short article with the embedded
voice. The decoded episode is measured (each tone's frequency where it should play, loudness of
every part), its CHAP frames, chapters JSON and captions are compared with a render of the same
article without music, and re-renders are checked frame by frame (music copied, not encoded)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3

from audiobook.audio.ffmpeg import MP3_RATE, decode_pcm, ebur128, ffmpeg_exe, mp3_encoder_gain_db
from audiobook.audio.loudness import integrated_lufs, true_peak
from audiobook.audio.mp3join import SAMPLES_PER_FRAME, read_frames
from audiobook.audio.music import MAX_SECONDS, prepare_music, read_source
from audiobook.config import load_config, load_profile
from audiobook.errors import MusicError
from audiobook.render.chapter_audio import AudioSettings
from audiobook.render.pipeline import RenderResult, render
from tests.support.articles import use_own_cache

RATE = MP3_RATE
INTRO_HZ, OUTRO_HZ, TRANSITION_HZ = 440, 660, 880
TARGET = -19.0

ARTICLE = """---
title: 音乐测试
author: 测试员
date: 2026-11-01
language: zh-CN
---
# 音乐测试

开场白只有一句话。

## 一、第一章

第一章讲一个小故事。故事很短。

## 二、第二章

第二章也很短。我们就说到这里。
"""


def make_tone(path: Path, hz: float, seconds: float, amplitude: float, *, lead_s: float = 0.0,
              tail_s: float = 0.0, stereo: bool = False) -> Path:
    """A sine tone of this peak amplitude (full scale = 1) in a file whose format the suffix
    names, with optional silence before and after it."""
    codec = {".m4a": ["-c:a", "aac", "-b:a", "128k"], ".ogg": ["-c:a", "libvorbis"], ".flac": ["-c:a", "flac"],
             ".mp3": ["-c:a", "libmp3lame", "-b:a", "128k"], ".wav": ["-c:a", "pcm_s16le"]}[path.suffix]
    chain = f"volume={amplitude * 8:g}"  # lavfi's sine has an amplitude of 1/8
    if lead_s:
        chain += f",adelay={round(lead_s * 1000)}"
    if tail_s:
        chain += f",apad=pad_dur={tail_s}"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency={hz}:sample_rate=44100:duration={seconds}", "-af", chain,
                    "-ac", "2" if stereo else "1", *codec, str(path)], check=True, timeout=60)
    return path


def dominant_hz(samples: np.ndarray) -> float:
    x = samples.astype(np.float64) * np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(x))
    return float(np.argmax(spectrum) * RATE / len(samples))


def second(samples: np.ndarray, start_s: float) -> np.ndarray:
    return samples[round(start_s * RATE):round(start_s * RATE) + RATE]


def write_config(folder: Path, **music: str) -> Path:
    lines = ["[music]", *(f'{key} = "{value}"' for key, value in music.items())]
    path = folder / "audiobook.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def manifest(result: RenderResult) -> dict:
    return json.loads(result.manifest.read_text(encoding="utf-8"))


def vtt_cues(path: Path) -> list[tuple[int, int, str]]:
    def ms(stamp: str) -> int:
        h, m, s = stamp.split(":")
        return round((int(h) * 3600 + int(m) * 60 + float(s)) * 1000)

    blocks = path.read_text(encoding="utf-8").split("\n\n")[1:]
    cues = []
    for block in blocks:
        head, _, text = block.strip().partition("\n")
        start, end = re.match(r"(\S+) --> (\S+)", head).groups()  # type: ignore[union-attr]
        cues.append((ms(start), ms(end), text))
    return cues


# ---------------------------------------------------------------------------------------------
# Loading: every format ffmpeg reads, through pydub, without ffprobe


@pytest.mark.parametrize("suffix", [".mp3", ".m4a", ".ogg", ".wav", ".flac"])
def test_music_of_any_format_is_trimmed_faded_and_matched(tmp_path: Path, suffix: str) -> None:
    """A loud stereo tone with silence around it: the silence is trimmed, the level lands on the
    loudness target (as the encoder will play it) with the true peak under the ceiling."""
    path = make_tone(tmp_path / f"tone{suffix}", 440, 2.0, 0.9, lead_s=0.8, tail_s=0.6, stereo=True)
    settings = AudioSettings()
    source = read_source("intro", path.name, tmp_path, "test [music] intro")
    pcm = prepare_music(source, 500, settings)
    assert abs(len(pcm) / RATE - 2.0) < 0.08  # 0.8 s before and 0.6 s after are gone (codec priming aside)
    assert dominant_hz(pcm[:RATE]) == pytest.approx(440, abs=2)
    aim = TARGET - mp3_encoder_gain_db(settings.bitrate_kbps)  # LAME turns it down by this much
    assert integrated_lufs(pcm, RATE) == pytest.approx(aim, abs=0.1)
    assert true_peak(pcm) <= -1.0
    # the intro fades out where the voice comes in: its last 50 ms are much quieter than its middle
    middle, tail = np.abs(pcm[RATE // 2:RATE]).max(), np.abs(pcm[-round(0.05 * RATE):]).max()
    assert tail < 0.2 * middle


def test_pydub_never_needs_ffprobe(tmp_path: Path) -> None:
    """pydub is pointed at our ffmpeg and handed decoded PCM; no ffprobe is on this machine."""
    from audiobook.audio.music import _pydub

    segment_class = _pydub()
    assert segment_class.converter == ffmpeg_exe()
    path = make_tone(tmp_path / "quiet.ogg", 440, 1.0, 0.01)
    pcm = prepare_music(read_source("outro", path.name, tmp_path, "x"), 0, AudioSettings())
    # a quiet file is raised to the target, not left 30 LU under it
    assert integrated_lufs(pcm, RATE) == pytest.approx(TARGET - mp3_encoder_gain_db(64), abs=0.1)


# ---------------------------------------------------------------------------------------------
# Bad input: one line, before any synthesis


def _bad_files(tmp_path: Path) -> dict[str, tuple[str, str]]:
    """name → (value in the config, what the message says)."""
    (tmp_path / "folder.mp3").mkdir()
    (tmp_path / "empty.mp3").write_bytes(b"")
    (tmp_path / "text.mp3").write_text("this is not audio\n", encoding="utf-8")
    make_tone(tmp_path / "silent.wav", 440, 2.0, 0.0)
    make_tone(tmp_path / "hiss.wav", 440, 2.0, 0.0003)  # −70 dBFS: matching it would raise it 50 dB
    make_tone(tmp_path / "blip.wav", 440, 0.2, 0.5, lead_s=1.0)
    # two hours (a low rate keeps the file small); only the first 5 minutes and a second are decoded
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=100:sample_rate=2000:duration=7200", "-c:a", "pcm_u8",
                    str(tmp_path / "two-hours.wav")], check=True, timeout=60)
    return {
        "missing": ("nowhere.mp3", "no file"),
        "folder": ("folder.mp3", "is a folder"),
        "empty": ("empty.mp3", "is empty"),
        "not-audio": ("text.mp3", "is not audio ffmpeg can decode"),
        "silent": ("silent.wav", "is silent"),
        "nearly-silent": ("hiss.wav", "is nearly silent"),
        "too-short": ("blip.wav", "is only 0.2"),
        "two-hours": ("two-hours.wav", "is longer than 5 minutes, the longest intro allowed"),
    }


def test_bad_music_files_stop_the_render_before_any_synthesis(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    cache = use_own_cache(monkeypatch, tmp_path)
    article = tmp_path / "article.md"
    article.write_text(ARTICLE, encoding="utf-8")
    for name, (value, message) in _bad_files(tmp_path).items():
        config = load_config(write_config(tmp_path, intro=value))
        started = time.perf_counter()
        with pytest.raises(MusicError) as raised:
            render(article, config, load_profile(), "local", tmp_path / "out")
        assert time.perf_counter() - started < 15, name  # the two-hour file is not decoded whole
        line = str(raised.value)
        assert "\n" not in line and message in line, (name, line)
        assert line.startswith(f"{tmp_path / 'audiobook.toml'} [music] intro = {value!r}: "), line
    assert not list((cache / "segments").glob("*/*"))  # nothing was synthesized
    assert not (tmp_path / "out" / "site").exists()  # nothing was made


@pytest.mark.slow
def test_bad_music_through_the_cli_is_one_line(tmp_path: Path) -> None:
    from tests.support.cli import assert_one_line_error, run

    article = tmp_path / "article.md"
    article.write_text(ARTICLE, encoding="utf-8")
    write_config(tmp_path, outro="gone.flac")
    proc = run("render", str(article), "-c", str(tmp_path / "audiobook.toml"), "-o", str(tmp_path / "out"),
               "--engine", "local")
    assert_one_line_error(proc, "[music] outro = 'gone.flac': no file", "check the path")
    # --no-music leaves the music out, missing file and all
    proc = run("render", str(article), "-c", str(tmp_path / "audiobook.toml"), "-o", str(tmp_path / "out"),
               "--engine", "local", "--no-music")
    assert proc.returncode == 0, proc.stderr


def test_transition_longer_than_a_minute(tmp_path: Path) -> None:
    make_tone(tmp_path / "long.flac", 440, MAX_SECONDS["transition"] + 2, 0.3)
    source = read_source("transition", "long.flac", tmp_path, "x")
    with pytest.raises(MusicError, match="longer than 1 minute, the longest transition allowed"):
        prepare_music(source, 500, AudioSettings())


# ---------------------------------------------------------------------------------------------
# The episode, around a short article


@pytest.fixture(scope="module")
def show(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """The article rendered with an intro (loud AAC), an outro (quiet FLAC) and a transition
    (Vorbis), and without music, into two output folders."""
    folder = tmp_path_factory.mktemp("music")
    make_tone(folder / "intro.m4a", INTRO_HZ, 3.0, 0.9, stereo=True)  # ~ −5 LUFS: far louder than speech
    make_tone(folder / "outro.flac", OUTRO_HZ, 2.5, 0.02)  # ~ −37 LUFS: far quieter
    make_tone(folder / "sting.ogg", TRANSITION_HZ, 1.2, 0.5)
    config = load_config(write_config(folder, intro="intro.m4a", outro="outro.flac", transition="sting.ogg"))
    article = folder / "article.md"
    article.write_text(ARTICLE, encoding="utf-8")
    with_music = render(article, config, load_profile(), "local", folder / "music")
    plain = render(article, config, load_profile(), "local", folder / "plain", music=False)
    return {"music": with_music, "plain": plain, "folder": folder}


def _episode(result: RenderResult) -> tuple[np.ndarray, dict]:
    data = manifest(result)
    return decode_pcm(result.folder / data["episode"]["file"], RATE), data


def test_episode_starts_with_the_intro_and_ends_with_the_outro(show: dict) -> None:
    samples, data = _episode(show["music"])
    assert dominant_hz(second(samples, 0.0)) == pytest.approx(INTRO_HZ, abs=2)
    assert dominant_hz(samples[-RATE:]) == pytest.approx(OUTRO_HZ, abs=2)
    roles = [m["role"] for m in data["episode"]["music"]]
    assert roles == ["intro", "transition", "transition", "outro"]  # three chapters: two transitions
    for record in data["episode"]["music"]:
        if record["role"] == "transition":
            assert dominant_hz(second(samples, record["start_ms"] / 1000 + 0.1)) == pytest.approx(TRANSITION_HZ,
                                                                                                   abs=2)
    # the voice starts where chapter 1 starts, right after the intro
    first = data["episode"]["chapter_starts"][0]
    assert np.abs(samples[first:first + RATE // 2].astype(np.int32)).max() > 1000
    assert data["episode"]["intro_ms"] == data["chapters"][0]["start_ms"] > 2900


def test_loudness_within_one_lu_of_the_target_everywhere(show: dict) -> None:
    samples, data = _episode(show["music"])
    reading = ebur128(show["music"].folder / data["episode"]["file"])
    assert abs(reading.integrated_lufs - TARGET) <= 1.0 and reading.true_peak_dbtp <= -1.0, reading
    assert abs(data["episode"]["lufs"] - reading.integrated_lufs) <= 0.3  # what render.json reports
    starts = [0, *(m["start_ms"] for m in data["episode"]["music"]), *(c["start_ms"] for c in data["chapters"])]
    edges = sorted(set(starts)) + [len(samples) * 1000 // RATE]
    parts = {}
    for start, end in zip(edges, edges[1:], strict=False):
        part = samples[start * RATE // 1000:end * RATE // 1000]
        parts[start] = integrated_lufs(part, RATE)
        assert abs(parts[start] - TARGET) <= 1.0, (start, end, parts[start])
    for record in data["episode"]["music"]:  # measured on its encoded frames, as recorded
        assert abs(record["lufs"] - TARGET) <= 0.5 and record["true_peak_dbtp"] <= -1.0, record


def test_chapters_and_captions_shift_by_exactly_the_music_before_them(show: dict) -> None:
    music, plain = manifest(show["music"]), manifest(show["plain"])
    records = music["episode"]["music"]
    intro = records[0]["frames"] * SAMPLES_PER_FRAME
    transition = records[1]["frames"] * SAMPLES_PER_FRAME
    # sample-exact: chapter k starts after the intro and k transitions
    for k, (a, b) in enumerate(zip(music["episode"]["chapter_starts"], plain["episode"]["chapter_starts"],
                                   strict=True)):
        assert a - b == intro + k * transition
    shifts = [m["start_ms"] - p["start_ms"] for m, p in zip(music["chapters"], plain["chapters"], strict=True)]
    for k, shift in enumerate(shifts):
        assert abs(shift - (intro + k * transition) * 1000 / RATE) <= 1  # ms rounding only

    # CHAP frames: 片头 from 0 to chapter 1, then the chapters at their new starts
    tags = ID3(show["music"].folder / music["episode"]["file"])
    chaps = sorted(tags.getall("CHAP"), key=lambda c: c.start_time)
    titles = [c.sub_frames.getall("TIT2")[0].text[0] for c in chaps]
    assert titles == ["片头", *(c["title"] for c in plain["chapters"])]
    assert (chaps[0].start_time, chaps[0].end_time) == (0, music["chapters"][0]["start_ms"])
    for chap, chapter in zip(chaps[1:], music["chapters"], strict=True):
        assert (chap.start_time, chap.end_time) == (chapter["start_ms"], chapter["end_ms"])
    assert chaps[-1].end_time == music["episode"]["duration_ms"]  # the outro is the last chapter's end
    # chapters JSON: the same marks
    doc = json.loads((show["music"].folder / music["episode"]["chapters_json"]).read_text(encoding="utf-8"))
    assert [(c["title"], round(c["startTime"] * 1000)) for c in doc["chapters"]] == \
        [(t, c.start_time) for t, c in zip(titles, chaps, strict=True)]

    # captions: the same cues, each moved by its chapter's shift
    moved, still = vtt_cues(show["music"].folder / music["episode"]["vtt"]), \
        vtt_cues(show["plain"].folder / plain["episode"]["vtt"])
    assert [c[2] for c in moved] == [c[2] for c in still]
    plain_starts = [c["start_ms"] for c in plain["chapters"]]
    for (a0, a1, _), (b0, b1, _) in zip(moved, still, strict=True):
        k = max(i for i, s in enumerate(plain_starts) if s <= b0)
        assert (a0 - b0, a1 - b1) == (shifts[k], shifts[k])


def test_music_leaves_the_chapter_files_alone(show: dict) -> None:
    music, plain = manifest(show["music"]), manifest(show["plain"])
    assert [c["sha256"] for c in music["chapters"]] == [c["sha256"] for c in plain["chapters"]]
    # and the episode still holds each chapter's samples exactly at its start
    samples, _ = _episode(show["music"])
    for chapter, start in zip(music["chapters"], music["episode"]["chapter_starts"], strict=True):
        own = decode_pcm(show["music"].folder / chapter["file"], RATE)
        assert (samples[start:start + len(own)] == own).all()


def test_feed_and_page_list_the_intro_chapter(show: dict) -> None:
    site = show["music"].folder.parent
    feed = (site / "feed.rss").read_text(encoding="utf-8")
    assert "00:00 片头" in feed or "0:00 片头" in feed
    page = (show["music"].folder / "index.html").read_text(encoding="utf-8")
    assert re.search(r'data-start="0\.000"><span class="time">[0:]+</span><span>片头</span>', page)


# ---------------------------------------------------------------------------------------------
# Re-rendering: music is its own part, copied unless it changed


def _music_frames(result: RenderResult) -> dict[str, list[bytes]]:
    """Each music part's frames, cut out of the episode file by its record."""
    data = manifest(result)
    frames = read_frames(result.folder / data["episode"]["file"]).frames
    out, position = {}, 0
    parts = sorted([*data["episode"]["music"], *({"start_ms": c["start_ms"], "chapter": c} for c in data["chapters"])],
                   key=lambda p: p["start_ms"])
    for part in parts:
        count = part["frames"] if "role" in part else len(read_frames(result.folder / part["chapter"]["file"]).frames)
        if "role" in part:
            out.setdefault(part["role"], frames[position:position + count])
        position += count
    assert position == len(frames)
    return out


def test_edits_reencode_only_what_they_touch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_own_cache(monkeypatch, tmp_path)
    make_tone(tmp_path / "intro.m4a", INTRO_HZ, 2.0, 0.8)
    make_tone(tmp_path / "outro.flac", OUTRO_HZ, 2.0, 0.3)
    make_tone(tmp_path / "sting.ogg", TRANSITION_HZ, 1.0, 0.5)
    config = load_config(write_config(tmp_path, intro="intro.m4a", outro="outro.flac", transition="sting.ogg"))
    article = tmp_path / "article.md"
    article.write_text(ARTICLE, encoding="utf-8")
    out = tmp_path / "out"
    first = render(article, config, load_profile(), "local", out)
    assert all(m["encoded"] for m in manifest(first)["episode"]["music"])
    before = _music_frames(first)

    # one sentence edited: one synthesis, one chapter rebuilt, the music's frames copied
    article.write_text(ARTICLE.replace("故事很短。", "故事其实很短。"), encoding="utf-8")
    edited = render(article, config, load_profile(), "local", out)
    assert edited.changes is not None
    assert (edited.changes.segments_synthesized, edited.changes.chapters_rebuilt) == (1, [2])
    assert edited.changes.episode_rebuilt
    assert not any(m["encoded"] for m in manifest(edited)["episode"]["music"])
    assert edited.changes.music_encoded == []
    assert _music_frames(edited) == before
    samples, data = _episode(edited)  # the copied outro still ends the file: its padding is recorded
    assert len(samples) == data["episode"]["samples"]

    # only the outro changed: nothing synthesized, no chapter rebuilt, only the outro encoded
    make_tone(tmp_path / "outro.flac", 550, 2.0, 0.3)
    changed = render(article, config, load_profile(), "local", out)
    assert changed.changes is not None
    assert (changed.changes.segments_synthesized, changed.changes.chapters_rebuilt) == (0, [])
    encoded = {m["role"]: m["encoded"] for m in manifest(changed)["episode"]["music"]}
    assert encoded == {"intro": False, "transition": False, "outro": True}
    assert changed.changes.music_encoded == ["outro"]
    after = _music_frames(changed)
    assert after["intro"] == before["intro"] and after["transition"] == before["transition"]
    assert after["outro"] != before["outro"]
    samples, data = _episode(changed)
    assert dominant_hz(samples[-RATE:]) == pytest.approx(550, abs=2)
    assert len(samples) == data["episode"]["samples"]

    # the same intro under another name: its content is the key, so nothing at all is redone
    (tmp_path / "intro.m4a").rename(tmp_path / "renamed.m4a")
    renamed_config = replace(config, music=replace(config.music, intro="renamed.m4a"))
    kept = render(article, renamed_config, load_profile(), "local", out)
    assert kept.changes is not None and not kept.changes.episode_rebuilt
    assert manifest(kept)["episode"]["sha256"] == manifest(changed)["episode"]["sha256"]


def test_music_lost_from_the_episode_file_is_encoded_again(tmp_path: Path) -> None:
    """When the previous episode no longer holds a piece's frames (the file was replaced), the
    piece is prepared from its file again, after synthesis, and comes out the same."""
    make_tone(tmp_path / "intro.flac", INTRO_HZ, 1.5, 0.5)
    config = load_config(write_config(tmp_path, intro="intro.flac"))
    article = tmp_path / "article.md"
    article.write_text(ARTICLE, encoding="utf-8")
    first = render(article, config, load_profile(), "local", tmp_path / "out")
    before = _music_frames(first)
    episode = first.folder / manifest(first)["episode"]["file"]
    episode.write_bytes(episode.read_bytes()[:5000])  # damaged: the intro's bytes no longer check
    again = render(article, config, load_profile(), "local", tmp_path / "out")
    assert [m["encoded"] for m in manifest(again)["episode"]["music"]] == [True]
    assert _music_frames(again) == before  # the same bytes, the same settings: the same frames


def test_one_chapter_has_no_transition(tmp_path: Path) -> None:
    make_tone(tmp_path / "sting.wav", TRANSITION_HZ, 1.0, 0.5)
    make_tone(tmp_path / "outro.wav", OUTRO_HZ, 1.0, 0.5)
    config = load_config(write_config(tmp_path, transition="sting.wav", outro="outro.wav"))
    article = tmp_path / "article.md"
    article.write_text("---\ntitle: 一章\n---\n# 一章\n\n只有一段话。\n", encoding="utf-8")
    first = render(article, config, load_profile(), "local", tmp_path / "out")
    assert [m["role"] for m in manifest(first)["episode"]["music"]] == ["outro"]
    make_tone(tmp_path / "sting.wav", 300, 1.0, 0.5)  # a new sting changes nothing here
    again = render(article, config, load_profile(), "local", tmp_path / "out")
    assert again.changes is not None and not again.changes.episode_rebuilt


def test_front_matter_overrides_the_config(tmp_path: Path) -> None:
    """`intro: none` leaves the show's intro out of this article; `outro:` names another file,
    relative to the article."""
    make_tone(tmp_path / "intro.wav", INTRO_HZ, 1.5, 0.5)
    (tmp_path / "articles").mkdir()
    make_tone(tmp_path / "articles" / "own-outro.mp3", 550, 1.5, 0.5)
    config = load_config(write_config(tmp_path, intro="intro.wav"))
    article = tmp_path / "articles" / "article.md"
    article.write_text(ARTICLE.replace("language: zh-CN\n", "language: zh-CN\nintro: none\noutro: own-outro.mp3\n"),
                       encoding="utf-8")
    result = render(article, config, load_profile(), "local", tmp_path / "out")
    data = manifest(result)
    assert [m["role"] for m in data["episode"]["music"]] == ["outro"]
    assert data["episode"]["intro_ms"] == 0 and data["chapters"][0]["start_ms"] == 0
    samples, _ = _episode(result)
    assert dominant_hz(samples[-RATE:]) == pytest.approx(550, abs=2)


def test_music_key_is_the_content_and_what_shapes_it(tmp_path: Path) -> None:
    """The key changes with the loudness target, the fade and the file's bytes; not with its name."""
    from audiobook.audio.music import music_content

    make_tone(tmp_path / "a.wav", 440, 1.0, 0.5)
    (tmp_path / "b.wav").write_bytes((tmp_path / "a.wav").read_bytes())
    a, b = (read_source("intro", name, tmp_path, "x") for name in ("a.wav", "b.wav"))
    settings = AudioSettings()
    assert music_content(a, 500, settings) == music_content(b, 500, settings)
    assert music_content(a, 500, settings) != music_content(a, 800, settings)
    assert music_content(a, 500, settings) != music_content(a, 500, replace(settings, loudness_lufs=-16.0))
    assert music_content(a, 500, settings) != music_content(replace(a, role="outro"), 500, settings)


def test_watch_follows_the_configured_music_files(tmp_path: Path) -> None:
    from audiobook.render.music import configured_music

    make_tone(tmp_path / "intro.wav", INTRO_HZ, 1.0, 0.5)
    config = load_config(write_config(tmp_path, intro="intro.wav", outro="none", transition="missing.ogg"))
    assert configured_music(config) == [tmp_path / "intro.wav"]
