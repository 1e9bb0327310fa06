"""End to end on the project's own example with the embedded voice: real MP3 files decoded
by ffmpeg, tags read back with mutagen, loudness measured on the encoded files by ffmpeg's
ebur128, captions and chapters JSON checked against the CHAP frames."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3

from audiobook.audio.ffmpeg import decode_pcm, ebur128
from audiobook.config import load_config, load_profile
from audiobook.render.pipeline import RenderResult, render
from tests.support import EXAMPLE

RATE = 44100


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    out = tmp_path_factory.mktemp("out")
    return render(EXAMPLE, load_config(None), load_profile("default"), "local", out)


def _ms(stamp: str) -> int:
    h, m, rest = stamp.replace(",", ".").split(":")
    return round((int(h) * 3600 + int(m) * 60 + float(rest)) * 1000)


def test_output_layout(rendered: RenderResult) -> None:
    names = sorted(p.name for p in rendered.folder.iterdir() if not p.name.startswith("."))
    assert rendered.folder.name == "一杯茶的工程学"
    assert "一杯茶的工程学.mp3" in names and "index.html" in names and "cover.jpg" in names
    assert "render.json" not in names  # the manifest is private state, outside the site
    assert rendered.manifest == rendered.folder.parent.parent / "state" / rendered.guid / "render.json"
    chapters = [n for n in names if re.fullmatch(r"\d\d-.*\.mp3", n)]
    assert chapters == ["01-开篇.mp3", "02-一、先测量，再动手.mp3", "03-二、慢就是快.mp3", "04-三、把经验写下来.mp3"]
    assert (rendered.folder.parent / "feed.rss").exists()


def test_every_mp3_decodes_at_its_recorded_duration(rendered: RenderResult) -> None:
    manifest = json.loads(rendered.manifest.read_text())
    for entry in [*manifest["chapters"], manifest["episode"]]:
        samples = decode_pcm(rendered.folder / entry["file"], RATE)
        assert abs(len(samples) * 1000 / RATE - entry["duration_ms"]) <= 1
        assert len(samples) > RATE  # real audio, not a stub
    total = sum(c["duration_ms"] for c in manifest["chapters"])
    joins = len(manifest["chapters"]) - 1  # each join adds the codec's delay + padding, < 2 frames
    assert 0 <= manifest["episode"]["duration_ms"] - total <= joins * 2 * 1152 * 1000 / RATE


def test_episode_holds_each_chapter_sample_exact_at_its_start(rendered: RenderResult) -> None:
    """The episode is the chapters' frames joined (no re-encode): same samples, known offsets."""
    manifest = json.loads(rendered.manifest.read_text())
    episode = decode_pcm(rendered.folder / manifest["episode"]["file"], RATE)
    assert len(episode) == manifest["episode"]["samples"]
    for chapter, start in zip(manifest["chapters"], manifest["episode"]["chapter_starts"], strict=True):
        samples = decode_pcm(rendered.folder / chapter["file"], RATE)
        assert (episode[start:start + len(samples)] == samples).all()
        assert chapter["start_ms"] == round(start * 1000 / RATE)


def test_mp3_format_is_mpeg1_layer3_cbr_with_info_header(rendered: RenderResult) -> None:
    from mutagen.mp3 import MP3, BitrateMode

    for path in rendered.folder.glob("*.mp3"):
        info = MP3(path).info
        assert (info.version, info.layer, info.sample_rate, info.channels) == (1, 3, RATE, 1)
        assert info.bitrate == 64000 and info.bitrate_mode in (BitrateMode.CBR, BitrateMode.UNKNOWN)
        data = path.read_bytes()
        tag_size = 10 + sum(b << (7 * (3 - i)) for i, b in enumerate(data[6:10]))  # syncsafe ID3 size
        first_frame = data[tag_size:tag_size + 1024]
        assert first_frame[:2] == b"\xff\xfb"  # MPEG-1 Layer III frame sync
        assert b"Info" in first_frame or b"Xing" in first_frame


def test_loudness_on_the_encoded_files(rendered: RenderResult) -> None:
    readings = {p.name: ebur128(p) for p in rendered.folder.glob("*.mp3")}
    for name, r in readings.items():
        assert -20.0 <= r.integrated_lufs <= -18.0, (name, r)
        assert r.true_peak_dbtp <= -1.0, (name, r)
    chapter_lufs = [r.integrated_lufs for n, r in readings.items() if re.match(r"\d\d-", n)]
    assert max(chapter_lufs) - min(chapter_lufs) <= 1.0


def test_recorded_loudness_is_what_ebur128_reads_on_the_files(rendered: RenderResult) -> None:
    """render.json's chapter loudness is gated from the blocks' readings (audio/blocks.py)."""
    manifest = json.loads(rendered.manifest.read_text())
    for chapter in manifest["chapters"]:
        reading = ebur128(rendered.folder / chapter["file"])
        assert chapter["lufs"] == pytest.approx(reading.integrated_lufs, abs=0.1), chapter["file"]
        assert chapter["true_peak_dbtp"] == pytest.approx(reading.true_peak_dbtp, abs=0.15), chapter["file"]


def test_every_cue_starts_on_speech_after_silence(rendered: RenderResult) -> None:
    """Cues are placed block by block (each block starts on a frame): they must still sit on the
    decoded speech, in every chapter, down to the last sentence."""
    manifest = json.loads(rendered.manifest.read_text())
    for chapter in manifest["chapters"]:
        samples = np.abs(decode_pcm(rendered.folder / chapter["file"], RATE).astype(np.int32))
        for (_, end, _), (start, _, _) in zip(chapter["cues"], chapter["cues"][1:], strict=False):
            assert samples[int((end + 30) * RATE / 1000):int((start - 10) * RATE / 1000)].max() < 300
            assert samples[int(start * RATE / 1000):int((start + 200) * RATE / 1000)].max() > 1000


def test_id3_tags_on_chapter_files(rendered: RenderResult) -> None:
    for n, path in enumerate(sorted(rendered.folder.glob("[0-9][0-9]-*.mp3")), 1):
        tags = ID3(path, translate=False)
        assert tags.version[:2] == (2, 3)
        assert tags["TRCK"].text[0] == f"{n}/4"
        assert tags["TALB"].text[0] == "一杯茶的工程学" and tags["TPE1"].text[0] == "林晓"
        assert tags["TLAN"].text[0] == "zho" and tags["TCON"].text[0]
        assert tags["TYER"].text[0] == "2026"
        apic = tags.getall("APIC")[0]
        assert apic.type == 3 and apic.mime == "image/jpeg" and len(apic.data) > 10_000
        lyrics = tags.getall("USLT")[0].text
        assert path.stem.split("-", 1)[1] in lyrics or n == 1


def test_episode_chapters_match_captions_and_json(rendered: RenderResult) -> None:
    folder = rendered.folder
    tags = ID3(folder / "一杯茶的工程学.mp3")
    toc = tags.getall("CTOC")[0]
    chaps = {c.element_id: c for c in tags.getall("CHAP")}
    ordered = [chaps[i] for i in toc.child_element_ids]
    assert toc.flags & 0x03 == 0x03 and len(ordered) == 4
    assert [c.sub_frames["TIT2"].text[0] for c in ordered] == [c.title for c in rendered.script.chapters]
    assert ordered[0].start_time == 0
    for a, b in zip(ordered, ordered[1:], strict=False):
        assert a.end_time == b.start_time
    chapters_json = json.loads((folder / "一杯茶的工程学.chapters.json").read_text())
    assert [round(c["startTime"] * 1000) for c in chapters_json["chapters"]] == [c.start_time for c in ordered]
    # each chapter's first caption starts inside that chapter, to the millisecond of its CHAP
    vtt = (folder / "一杯茶的工程学.vtt").read_text()
    starts = [_ms(m) for m in re.findall(r"^(\d\d:\d\d:\d\d\.\d\d\d) -->", vtt, re.M)]
    srt = (folder / "一杯茶的工程学.srt").read_text()
    assert starts == [_ms(m) for m in re.findall(r"^(\d\d:\d\d:\d\d,\d\d\d) -->", srt, re.M)]
    for chap in ordered:
        inside = [s for s in starts if chap.start_time <= s < chap.end_time]
        assert inside and inside[0] - chap.start_time < 200
    assert starts[-1] < ordered[-1].end_time


def test_pauses_are_silence_between_sentences(rendered: RenderResult) -> None:
    manifest = json.loads(rendered.manifest.read_text())
    first = manifest["chapters"][0]
    samples = decode_pcm(rendered.folder / first["file"], RATE).astype(float)
    (_, b0, _), (a1, _, _) = first["cues"][0], first["cues"][1]
    gap = samples[int((b0 + 60) * RATE / 1000):int((a1 - 60) * RATE / 1000)]
    assert (a1 - b0) >= 800  # the title's pause (heading_ms = 900)
    assert abs(gap).max() < 300  # silence, not speech


def test_second_render_synthesizes_nothing_and_keeps_files(rendered: RenderResult) -> None:
    folder = rendered.folder
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.glob("*.mp3")}
    again = render(EXAMPLE, load_config(None), load_profile("default"), "local", folder.parent.parent)
    assert again.synth.synthesized == 0 and again.synth.cached == again.synth.unique
    assert not any(c.rebuilt for c in again.produced.chapters) and not again.produced.episode.rebuilt
    after = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.glob("*.mp3")}
    assert after == before


def test_unsafe_title_gives_a_safe_folder(tmp_path: Path) -> None:
    article = tmp_path / "a.md"
    article.write_text("---\ntitle: ../../etc/passwd\n---\n\n短短一句话。\n", encoding="utf-8")
    result = render(article, load_config(None), load_profile("default"), "local", tmp_path / "out")
    assert result.folder.parent == tmp_path / "out" / "site"
    assert ".." not in result.folder.name and "/" not in result.folder.name
    shutil.rmtree(tmp_path / "out")


def test_removed_chapter_leaves_no_stale_files_and_caption_text_follows_edits(tmp_path: Path) -> None:
    article = tmp_path / "a.md"
    two = "---\ntitle: 两章\n---\n\n## 第一章\n\n第一句话。\n\n## 第二章\n\n第二句话。\n"
    article.write_text(two, encoding="utf-8")
    first = render(article, load_config(None), load_profile("default"), "local", tmp_path / "out")
    assert (first.folder / "02-第二章.mp3").exists()
    article.write_text("---\ntitle: 两章\n---\n\n## 第一章\n\n第一句话。\n", encoding="utf-8")
    second = render(article, load_config(None), load_profile("default"), "local", tmp_path / "out")
    assert not any(p.name.startswith("02-") for p in second.folder.iterdir())
    # the display text changes but the spoken form does not (第1 is read 第一): captions follow the text
    article.write_text("---\ntitle: 两章\n---\n\n## 第一章\n\n第1句话。\n", encoding="utf-8")
    third = render(article, load_config(None), load_profile("default"), "local", tmp_path / "out")
    assert third.synth.synthesized == 0
    assert "第1句话" in (third.folder / "01-第一章.vtt").read_text()


def test_png_cover_from_front_matter_is_kept_as_png(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (1400, 1400), (30, 90, 160)).save(tmp_path / "art.png")
    article = tmp_path / "a.md"
    article.write_text("---\ntitle: 封面\ncover: art.png\n---\n\n一句话。\n", encoding="utf-8")
    result = render(article, load_config(None), load_profile("default"), "local", tmp_path / "out")
    assert (result.folder / "cover.png").read_bytes() == (tmp_path / "art.png").read_bytes()
    apic = ID3(result.folder / "封面.mp3").getall("APIC")[0]
    assert apic.mime == "image/png" and apic.data == (tmp_path / "art.png").read_bytes()
    assert json.loads(result.manifest.read_text())["cover"] == "cover.png"


def test_feed_and_tags_say_a_synthetic_voice_reads_it_in_the_show_language(rendered: RenderResult) -> None:
    import feedparser

    feed = feedparser.parse((rendered.folder.parent / "feed.rss").read_bytes())
    assert not feed.bozo
    (item,) = feed.entries
    assert "本集由合成语音朗读。" in item.description
    assert "engine" not in item.description and "baker" not in item.description  # no jargon
    for mp3 in rendered.folder.glob("*.mp3"):
        assert ID3(mp3).getall("COMM")[0].text[0] == "本集由合成语音朗读。"
    data = json.loads(rendered.manifest.read_text())
    assert (data["engine"], data["voice"]) == ("local", "baker")  # which voice: private bookkeeping


def test_episode_lyrics_hold_each_heading_once(rendered: RenderResult) -> None:
    lyrics = ID3(rendered.folder / "一杯茶的工程学.mp3").getall("USLT")[0].text
    lines = lyrics.splitlines()
    for heading in ("一、先测量，再动手", "二、慢就是快", "三、把经验写下来"):
        assert lines.count(heading) == 1
    assert lines[0] == "开篇"  # a chapter whose heading isn't read keeps its title as a label


def test_adding_a_chapter_retags_earlier_chapters_without_re_encoding(tmp_path: Path) -> None:
    from audiobook.audio.mp3join import read_frames

    article = tmp_path / "a.md"
    text = "---\ntitle: 加一章\n---\n\n## 第一章\n\n第一句话。\n\n## 第二章\n\n第二句话。\n"
    article.write_text(text, encoding="utf-8")
    first = render(article, load_config(None), load_profile("default"), "local", tmp_path / "out")
    before = read_frames(first.folder / "01-第一章.mp3").frames
    article.write_text(text + "\n## 后来加的一章\n\n后来加的这一句话。\n", encoding="utf-8")  # in no other test
    second = render(article, load_config(None), load_profile("default"), "local", tmp_path / "out")
    assert second.synth.synthesized == 2  # the new chapter's heading and its sentence
    assert read_frames(second.folder / "01-第一章.mp3").frames == before  # same audio frames, not re-encoded
    assert ID3(second.folder / "01-第一章.mp3", translate=False)["TRCK"].text[0] == "1/3"
