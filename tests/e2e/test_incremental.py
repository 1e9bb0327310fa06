"""Incremental re-render (DESIGN §4): an edit re-synthesizes only what changed, rebuilds only the
chapters it touches, keeps the others byte-identical and untouched, keeps the feed's guid and
changes its enclosure; settings invalidate exactly what they shape. Edge runs against the fake
service (its request log counts synthesis requests); local is counted through render.json."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import feedparser
import pytest

from audiobook.config import Config, RenderConfig, load_profile
from audiobook.render.changes import diff_sentences, format_changes
from audiobook.render.pipeline import RenderResult, render
from audiobook.store.manifest import ChangeSummary
from audiobook.testing.edge_service import FakeEdgeService
from tests.support import SAMPLE, needs_sample
from tests.support.articles import CHAPTERS, article_text, edited
from tests.support.shows import manifest_of

pytestmark = pytest.mark.usefixtures("own_cache")

def chapter_files(folder: Path) -> dict[str, tuple[str, int]]:
    """chapter file → (sha256 from render.json, mtime_ns on disk)."""
    data = manifest(folder)
    return {c["file"]: (c["sha256"], (folder / c["file"]).stat().st_mtime_ns) for c in data["chapters"]}


def manifest(folder: Path) -> dict:
    """The render.json of the episode whose public folder is `folder`."""
    return json.loads(manifest_of(folder).read_text(encoding="utf-8"))


def feed_entry(root: Path) -> tuple[str, str, int]:
    parsed = feedparser.parse((root / "site" / "feed.rss").read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    (entry,) = parsed.entries
    (enclosure,) = entry.enclosures
    return entry.id, enclosure.href, int(enclosure.length)


def changes(result: RenderResult) -> ChangeSummary:
    assert result.changes is not None
    return result.changes



# ---------------------------------------------------------------------------------------------
# The change summary itself


S = [("甲。", "k1"), ("乙。", "k2"), ("丙。", "k3")]


@pytest.mark.parametrize(("old", "new", "expected"), [
    (S, S, (0, 0, 0, 0)),
    (S, [S[0], ("乙乙。", "k9"), S[2]], (0, 1, 0, 0)),
    (S, [*S, ("丁。", "k4")], (1, 0, 0, 0)),
    (S, [S[0], S[2]], (0, 0, 1, 0)),
    (S, [(t, k + "v") for t, k in S], (0, 0, 0, 3)),
    (S, [("新。", "n1"), ("新二。", "n2"), *S[1:]], (1, 1, 0, 0)),
], ids=["same", "one-changed", "one-added", "one-removed", "re-voiced", "replaced-one-by-two"])
def test_diff_sentences(old, new, expected) -> None:
    assert diff_sentences(old, new) == expected


@pytest.mark.parametrize(("summary", "line"), [
    (ChangeSummary(False, sentences_changed=3, segments_synthesized=3, segments_reused=40, chapters_rebuilt=[4],
                   chapters_kept=[1, 2, 3, 5, 6], episode_rebuilt=True, elapsed_s=2.1),
     "3 sentences changed → 3 synthesized, 40 reused; chapter 4 rebuilt, 5 kept; episode rebuilt; 2.1 s"),
    (ChangeSummary(True, sentences_added=9, segments_synthesized=9, chapters_rebuilt=[1, 2, 3],
                   episode_rebuilt=True, elapsed_s=14),
     "first render: 9 sentences → 9 synthesized; chapters 1, 2, 3 built; episode rebuilt; 14.0 s"),
    (ChangeSummary(False, segments_reused=9, chapters_kept=[1, 2, 3], elapsed_s=0.3),
     "text unchanged → 0 synthesized, 9 reused; no chapter rebuilt, 3 kept; episode kept; 0.3 s"),
    (ChangeSummary(False, sentences_added=1, sentences_removed=2, sentences_revoiced=1, segments_synthesized=2),
     "sentences: 1 added, 2 removed, 1 re-voiced (voice/prosody/spoken form) → 2 synthesized; "
     "no chapter rebuilt; episode kept; 0.0 s"),
    (ChangeSummary(False, sentences_changed=1, segments_synthesized=1, segments_reused=135, chapters_rebuilt=[3],
                   chapters_kept=[1, 2, 4, 5, 6], blocks_encoded=1, blocks_in_rebuilt=7, episode_rebuilt=True,
                   elapsed_s=2.5),
     "1 sentence changed → 1 synthesized, 135 reused; chapter 3 rebuilt (1 of 7 blocks encoded), 5 kept; "
     "episode rebuilt; 2.5 s"),
    (ChangeSummary(False, segments_reused=20, chapters_kept=[1, 2, 3], episode_rebuilt=True, music_encoded=["outro"],
                   elapsed_s=0.4),
     "text unchanged → 0 synthesized, 20 reused; no chapter rebuilt, 3 kept; episode rebuilt (outro encoded); 0.4 s"),
], ids=["edit", "first", "nothing", "mixed", "blocks", "music"])
def test_format_changes(summary: ChangeSummary, line: str) -> None:
    assert format_changes(summary) == line


# ---------------------------------------------------------------------------------------------
# Edge engine against the fake: requests reaching the service are the truth


def test_edge_one_sentence_edit_touches_one_chapter(warm_fake_voice: None, start_fake_edge, write_article,
                                                    tmp_path: Path) -> None:
    edge_fake = start_fake_edge()  # the real voice, the engine pointed at it
    root = tmp_path / "out"
    article = write_article(article_text(), "story.md")
    first = render(article, Config(), load_profile(), "edge", root)
    assert changes(first).first_render and len(edge_fake.requests) == first.synth.unique
    folder = first.folder
    before = chapter_files(folder)
    guid, url, length = feed_entry(root)

    new_sentence = "小明在树下读一本很厚很厚的书。"
    article.write_text(article_text(edited(2, 0, 1, new_sentence)), encoding="utf-8")
    sent = len(edge_fake.requests)
    second = render(article, Config(), load_profile(), "edge", root)

    requested = [r.text for r in edge_fake.requests[sent:]]
    assert requested == [new_sentence]
    summary = changes(second)
    assert (summary.sentences_changed, summary.sentences_added, summary.sentences_removed) == (1, 0, 0)
    assert (summary.segments_synthesized, summary.chapters_rebuilt, summary.episode_rebuilt) == (1, [3], True)
    after = chapter_files(folder)
    changed = {f for f in after if after[f] != before[f]}
    assert changed == {"03-二、夏天.mp3"}
    assert after["03-二、夏天.mp3"][0] != before["03-二、夏天.mp3"][0]
    assert manifest(folder)["changes"] == summary.to_json()

    new_guid, new_url, new_length = feed_entry(root)
    assert new_guid == guid
    assert new_url != url and new_length != length
    assert new_length == (folder / manifest(folder)["episode"]["file"]).stat().st_size


@pytest.mark.slow
def test_edge_settings_invalidate_what_they_shape(quick_fake: FakeEdgeService, write_article,
                                                  tmp_path: Path) -> None:
    edge_fake = quick_fake
    root = tmp_path / "out"
    article = write_article(article_text(), "story.md")
    profile, config = load_profile(), Config()
    base = render(article, config, profile, "edge", root)
    n_chapters, unique = len(base.produced.chapters), base.synth.unique

    def rerender(profile=profile, config=config) -> ChangeSummary:
        sent = len(edge_fake.requests)
        summary = changes(render(article, config, profile, "edge", root))
        assert summary.segments_synthesized == len(edge_fake.requests) - sent
        return summary

    # pauses shape the chapter audio only
    longer = replace(profile, pauses=replace(profile.pauses, sentence_ms=profile.pauses.sentence_ms + 200))
    s = rerender(profile=longer)
    assert (s.segments_synthesized, len(s.chapters_rebuilt), s.episode_rebuilt) == (0, n_chapters, True)
    assert not s.text_changed and s.sentences_revoiced == 0
    # loudness target and bitrate: chapters re-mastered/re-encoded, nothing re-synthesized
    louder = Config(render=RenderConfig(loudness_lufs=-16.0))
    s = rerender(profile=longer, config=louder)
    assert (s.segments_synthesized, len(s.chapters_rebuilt)) == (0, n_chapters)
    s = rerender(profile=longer, config=Config(render=RenderConfig(loudness_lufs=-16.0, bitrate_kbps=96)))
    assert (s.segments_synthesized, len(s.chapters_rebuilt)) == (0, n_chapters)
    # an unchanged re-render costs nothing
    s = rerender(profile=longer, config=Config(render=RenderConfig(loudness_lufs=-16.0, bitrate_kbps=96)))
    assert (s.segments_synthesized, s.chapters_rebuilt, s.episode_rebuilt) == (0, [], False)
    # speaking rate and voice shape every segment
    s = rerender(profile=replace(longer, rate="+10%"))
    assert (s.segments_synthesized, s.sentences_revoiced, len(s.chapters_rebuilt)) == (unique, base.synth.total,
                                                                                        n_chapters)
    assert {r.rate for r in edge_fake.requests[-unique:]} == {"+10%"}
    s = rerender(profile=replace(longer, rate="+10%", edge_voice="zh-CN-YunxiNeural"))
    assert s.segments_synthesized == unique
    assert {r.voice for r in edge_fake.requests[-unique:]} == {"zh-CN-YunxiNeural"}


@pytest.mark.slow
@needs_sample
def test_sample_one_sentence_edit(quick_fake: FakeEdgeService, tmp_path: Path) -> None:
    """The real article (through the fake with a cheap voice): one edit, one request, one chapter."""
    text = SAMPLE.read_bytes().decode("utf-8")
    target = "開源至上"  # a sub-heading; a sentence is added after it
    assert target in text
    article = tmp_path / "deepseek.txt"
    article.write_text(text, encoding="utf-8")
    first = render(article, Config(), load_profile(), "edge", tmp_path / "out")
    assert len(quick_fake.requests) == first.synth.unique > 50
    before = chapter_files(first.folder)
    article.write_text(text.replace(target + "\n", target + "\n這是新加進來的一句話。", 1), encoding="utf-8")
    sent = len(quick_fake.requests)
    second = render(article, Config(), load_profile(), "edge", tmp_path / "out")
    assert [r.text for r in quick_fake.requests[sent:]] == ["這是新加進來的一句話。"]
    summary = changes(second)
    assert (summary.sentences_added, summary.segments_synthesized, len(summary.chapters_rebuilt)) == (1, 1, 1)
    after = chapter_files(second.folder)
    assert sum(after[f] != before[f] for f in after) == 1
    # within that chapter, only the block holding the new sentence was mastered and encoded again
    assert summary.blocks_encoded == 1 and summary.blocks_in_rebuilt >= 3


# ---------------------------------------------------------------------------------------------
# Local engine: counted through render.json


def test_local_edit_add_chapter_delete_paragraph(write_article, tmp_path: Path) -> None:
    root = tmp_path / "out"
    article = write_article(article_text(), "story.md")

    def again(chapters: list[tuple[str, list[list[str]]]]) -> tuple[RenderResult, dict]:
        article.write_text(article_text(chapters), encoding="utf-8")
        result = render(article, Config(), load_profile(), "local", root)
        data = manifest(result.folder)
        assert data["changes"] == changes(result).to_json()
        return result, data

    first, data = again(CHAPTERS)
    assert data["segments"]["synthesized"] == first.synth.unique and data["changes"]["first_render"]
    before = chapter_files(first.folder)

    # one sentence edited → one segment, one chapter
    _, data = again(edited(1, 0, 0, "春天终于来了，花都开了。"))
    assert data["segments"]["synthesized"] == 1
    assert (data["changes"]["sentences_changed"], data["changes"]["chapters_rebuilt"]) == (1, [2])
    after = chapter_files(first.folder)
    assert {f for f in after if after[f] != before[f]} == {"02-一、春天.mp3"}

    # a chapter added at the end → only its heading and sentences are synthesized. The other
    # chapters' files are rewritten all the same (their "track n/N" tag changed) but not re-mastered.
    extra = ("四、冬天", [["冬天下雪了。", "大家围着火炉聊天。"]])
    previous = {c["file"]: c["audio_fingerprint"] for c in data["chapters"]}
    _, data = again([*edited(1, 0, 0, "春天终于来了，花都开了。"), extra])
    assert data["segments"]["synthesized"] == 3
    assert data["changes"]["sentences_added"] == 3 and 5 in data["changes"]["chapters_rebuilt"]
    assert {c["file"]: c["audio_fingerprint"] for c in data["chapters"][:4]} == previous

    # a paragraph deleted → nothing synthesized, that chapter rebuilt
    trimmed = edited(1, 0, 0, "春天终于来了，花都开了。")
    trimmed[2] = (trimmed[2][0], trimmed[2][1][:1])
    _, data = again([*trimmed, extra])
    assert data["segments"]["synthesized"] == 0
    assert (data["changes"]["sentences_removed"], data["changes"]["chapters_rebuilt"]) == (2, [3])
