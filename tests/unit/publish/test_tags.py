"""Round trips on tiny real MP3 files: encode with ffmpeg, tag, re-read with mutagen and ffmpeg."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3, CTOCFlags
from mutagen.mp3 import MP3

from audiobook.audio.ffmpeg import decode_pcm, encode_mp3_bytes, run_ffmpeg
from audiobook.errors import PublishError
from audiobook.publish.tags import ChapterMark, EpisodeTags, iso639_2, write_chapter_tags, write_episode_tags

RATE = 44100
COVER = b"\xff\xd8\xff\xe0" + b"\x00" * 64 + b"\xff\xd9"  # only stored, never decoded by the tagger


def make_mp3(path: Path, seconds: float = 1.0) -> Path:
    t = np.arange(int(RATE * seconds)) / RATE
    samples = (np.sin(2 * np.pi * 440 * t) * 8000).astype(np.int16)
    path.write_bytes(encode_mp3_bytes(samples, RATE, 64))
    return path


@pytest.fixture
def tags() -> EpisodeTags:
    return EpisodeTags(album="深度求索的故事", artist="张三", date="2025-01-20", language="zh-CN",
                       cover=COVER, comment="由本地引擎朗读（voice baker）")


def on_disk(path: Path) -> ID3:
    """The tag as stored: translate=False keeps v2.3 frames instead of upgrading them to v2.4."""
    return ID3(path, translate=False)


def test_chapter_file_round_trip(tmp_path: Path, tags: EpisodeTags) -> None:
    mp3 = make_mp3(tmp_path / "ch.mp3")
    write_chapter_tags(mp3, tags, track=2, total=5, title="第二章 开端", lyrics="第一句。\n第二句！")

    id3 = on_disk(mp3)
    assert id3.version == (2, 3, 0)
    assert id3["TIT2"].text == ["第二章 开端"]
    assert id3["TPE1"].text == ["张三"]
    assert id3["TALB"].text == ["深度求索的故事"]
    assert id3["TRCK"].text == ["2/5"]
    assert id3["TCON"].text == ["Podcast"]
    assert id3["TLAN"].text == ["zho"]
    assert id3["TYER"].text == ["2025"]
    assert id3["TDAT"].text == ["2001"]  # DDMM
    (apic,) = id3.getall("APIC")
    assert (apic.type, apic.mime, apic.data) == (3, "image/jpeg", COVER)
    (uslt,) = id3.getall("USLT")
    assert (uslt.lang, uslt.text) == ("zho", "第一句。\n第二句！")
    (comm,) = id3.getall("COMM")
    assert (comm.lang, comm.text) == ("zho", ["由本地引擎朗读（voice baker）"])
    # v2.3 has no UTF-8 and none of the v2.4-only frames
    assert all(getattr(frame, "encoding", 0) != 3 for frame in id3.values())
    assert not {"TDRC", "TDRL", "TDOR", "TIPL", "TMCL", "TSOP", "TSOA", "TSOT"} & {k[:4] for k in id3}


def test_tagged_file_still_decodes_and_stays_cbr(tmp_path: Path, tags: EpisodeTags) -> None:
    mp3 = make_mp3(tmp_path / "ch.mp3")
    before = decode_pcm(mp3, RATE)
    write_chapter_tags(mp3, tags, 1, 1, "标题", "文本")
    assert np.array_equal(decode_pcm(mp3, RATE), before)
    info = MP3(mp3).info
    assert info.sample_rate == RATE and info.channels == 1 and abs(info.bitrate - 64000) <= 1000


def test_optional_frames_left_out(tmp_path: Path) -> None:
    mp3 = make_mp3(tmp_path / "ch.mp3")
    bare = EpisodeTags(album="书", artist="作者", date="", language="en-US")
    write_chapter_tags(mp3, bare, 1, 1, "标题", lyrics="")
    id3 = on_disk(mp3)
    assert id3["TLAN"].text == ["eng"]
    assert not id3.getall("APIC") and not id3.getall("USLT") and not id3.getall("COMM")
    assert not id3.getall("TYER") and not id3.getall("TDAT")


def test_year_only_date(tmp_path: Path, tags: EpisodeTags) -> None:
    mp3 = make_mp3(tmp_path / "ch.mp3")
    tags.date = "2024"
    write_chapter_tags(mp3, tags, 1, 1, "t", "")
    id3 = on_disk(mp3)
    assert id3["TYER"].text == ["2024"] and not id3.getall("TDAT")


def test_retagging_replaces_old_frames(tmp_path: Path, tags: EpisodeTags) -> None:
    mp3 = make_mp3(tmp_path / "ch.mp3")
    write_chapter_tags(mp3, tags, 1, 2, "旧标题", "旧文本")
    tags.cover, tags.comment = None, ""
    write_chapter_tags(mp3, tags, 2, 2, "新标题", "新文本")
    id3 = on_disk(mp3)
    assert id3["TIT2"].text == ["新标题"] and id3["TRCK"].text == ["2/2"]
    assert not id3.getall("APIC") and not id3.getall("COMM")
    assert [u.text for u in id3.getall("USLT")] == ["新文本"]


CHAPTERS = [
    ChapterMark("序言", 0, 700),
    ChapterMark("第一章 起源", 700, 1500),
    ChapterMark("第二章", 1500, 2000),
]


def ffmetadata(path: Path) -> str:
    # -copyts: without it the ffmpeg CLI shifts chapters by the stream start time (encoder + decoder
    # delay of the gapless Info header, ~25 ms) and START/END come out 25 ms early.
    return run_ffmpeg(["-copyts", "-i", str(path), "-f", "ffmetadata", "-"]).decode("utf-8")


def test_episode_chapters_round_trip(tmp_path: Path, tags: EpisodeTags) -> None:
    mp3 = make_mp3(tmp_path / "ep.mp3", seconds=2.0)
    write_episode_tags(mp3, tags, "深度求索的故事（全集）", CHAPTERS, lyrics="全文")

    id3 = on_disk(mp3)
    assert id3.version == (2, 3, 0)
    assert id3["TIT2"].text == ["深度求索的故事（全集）"]
    assert not id3.getall("TRCK")
    (toc,) = id3.getall("CTOC")
    assert toc.element_id == "toc"
    assert toc.flags == CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED
    assert toc.child_element_ids == ["chp1", "chp2", "chp3"]
    assert toc.sub_frames["TIT2"].text == ["深度求索的故事"]
    chaps = {c.element_id: c for c in id3.getall("CHAP")}
    assert sorted(chaps) == ["chp1", "chp2", "chp3"]
    for element_id, mark in zip(toc.child_element_ids, CHAPTERS, strict=True):
        chap = chaps[element_id]
        assert (chap.start_time, chap.end_time) == (mark.start_ms, mark.end_ms)
        assert (chap.start_offset, chap.end_offset) == (0xFFFFFFFF, 0xFFFFFFFF)
        assert chap.sub_frames["TIT2"].text == [mark.title]
        assert chap.sub_frames["TIT2"].encoding != 3  # sub-frames converted to v2.3 too
    assert id3["USLT::zho"].text == "全文"


def test_ffmpeg_reads_the_chapters(tmp_path: Path, tags: EpisodeTags) -> None:
    mp3 = make_mp3(tmp_path / "ep.mp3", seconds=2.0)
    write_episode_tags(mp3, tags, "全集", CHAPTERS, lyrics="")
    meta = ffmetadata(mp3)
    blocks = meta.split("[CHAPTER]")[1:]
    assert len(blocks) == len(CHAPTERS)
    for block, mark in zip(blocks, CHAPTERS, strict=True):
        assert "TIMEBASE=1/1000" in block
        assert re.search(rf"^START={mark.start_ms}$", block, re.M)
        assert re.search(rf"^END={mark.end_ms}$", block, re.M)
        assert re.search(rf"^title={re.escape(mark.title)}$", block, re.M)
    assert len(decode_pcm(mp3, RATE)) > RATE  # still decodes


def test_many_chapters_listed_in_order_by_ffmpeg(tmp_path: Path, tags: EpisodeTags) -> None:
    # mutagen sorts frames by size; the writer puts CHAP frames back in chapter order for ffmpeg.
    titles = ["第" + "长" * ((n * 7) % 11) + f"{n}章" for n in range(1, 13)]
    marks = [ChapterMark(t, n * 150, n * 150 + 150) for n, t in enumerate(titles)]
    mp3 = make_mp3(tmp_path / "ep.mp3", seconds=2.0)
    write_episode_tags(mp3, tags, "全集", marks, lyrics="")
    meta = ffmetadata(mp3)
    assert re.findall(r"^title=(第.*章)$", meta, re.M) == titles
    assert re.findall(r"^START=(\d+)$", meta, re.M) == [str(m.start_ms) for m in marks]
    assert [c.element_id for c in on_disk(mp3).getall("CHAP")] == [f"chp{n}" for n in range(1, 13)]


@pytest.mark.parametrize(
    "chapters",
    [
        [ChapterMark("a", 0, 500), ChapterMark("b", 400, 900)],
        [ChapterMark("a", 0, 0)],
        [ChapterMark("a", 600, 500)],
    ],
    ids=["overlap", "empty", "backwards"],
)
def test_bad_chapter_times_rejected(tmp_path: Path, tags: EpisodeTags, chapters: list[ChapterMark]) -> None:
    mp3 = make_mp3(tmp_path / "ep.mp3")
    with pytest.raises(ValueError):
        write_episode_tags(mp3, tags, "t", chapters, "")


@pytest.mark.parametrize("count", [0, 256])
def test_chapter_count_limits(tmp_path: Path, tags: EpisodeTags, count: int) -> None:
    mp3 = make_mp3(tmp_path / "ep.mp3")
    chapters = [ChapterMark(str(n), n * 10, n * 10 + 10) for n in range(count)]
    with pytest.raises(PublishError, match="chapters"):
        write_episode_tags(mp3, tags, "t", chapters, "")


def test_not_an_mp3_is_a_publish_error(tmp_path: Path, tags: EpisodeTags) -> None:
    bogus = tmp_path / "bogus.mp3"
    bogus.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(PublishError, match="bogus.mp3"):
        write_chapter_tags(bogus, tags, 1, 1, "t", "")
    assert bogus.read_bytes() == b"this is not audio at all" * 10  # untouched


def test_missing_file_is_a_publish_error(tmp_path: Path, tags: EpisodeTags) -> None:
    with pytest.raises(PublishError, match="missing.mp3"):
        write_chapter_tags(tmp_path / "missing.mp3", tags, 1, 1, "t", "")


def test_bad_date_is_a_publish_error(tmp_path: Path, tags: EpisodeTags) -> None:
    tags.date = "2025年1月"
    with pytest.raises(PublishError, match="date"):
        write_chapter_tags(make_mp3(tmp_path / "ch.mp3"), tags, 1, 1, "t", "")


@pytest.mark.parametrize(
    ("bcp47", "code"),
    [("zh-CN", "zho"), ("zh-Hant-TW", "zho"), ("zh", "zho"), ("cmn-Hans", "zho"), ("yue", "zho"),
     ("en-US", "eng"), ("EN_gb", "eng"), ("ja", "jpn"), ("fil", "fil"), ("xx", "und"), ("", "und")],
)
def test_iso639_2(bcp47: str, code: str) -> None:
    assert iso639_2(bcp47) == code
