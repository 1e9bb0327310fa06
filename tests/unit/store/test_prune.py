"""`audiobook cache info|prune`: prune removes exactly what no manifest under the output root uses
(segments, chapter PCMs, temp leftovers), keeps recent entries, refuses when it can't be sure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from audiobook.config import Config, load_profile
from audiobook.errors import AudiobookError, LockedError
from audiobook.models import Synthesis
from audiobook.paths import cache_dir
from audiobook.render.pipeline import render
from audiobook.store.locks import article_lock
from audiobook.store.prune import cache_info, info_lines, prune_cache
from audiobook.store.segments import SegmentCache
from audiobook.testing.memory_engine import HISTORY
from tests.support.articles import article_text

HOUR_AGO = time.time() - 3600


@pytest.fixture(autouse=True)
def empty_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("AUDIOBOOK_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def put_segment(key: str, age_s: float = 3600) -> Path:
    cache = SegmentCache()
    cache.put(key, Synthesis(np.zeros(100, dtype=np.int16), 24000, []))
    os.utime(cache.path(key), (time.time() - age_s,) * 2)
    return cache.path(key)


def put_pcm(fingerprint: str, age_s: float = 3600) -> Path:
    path = cache_dir() / "chapters" / f"{fingerprint}.pcm"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * 2000)
    os.utime(path, (time.time() - age_s,) * 2)
    return path


def write_manifest(root: Path, guid: str, chapters: list[tuple[list[str], str]]) -> Path:
    """A render manifest in the output folder `root`'s private state."""
    folder = root / "state" / guid
    folder.mkdir(parents=True, exist_ok=True)
    data = {"format": 1, "chapters": [{"keys": keys, "audio_fingerprint": fp} for keys, fp in chapters]}
    (folder / "render.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def key(n: int) -> str:
    return f"{n:02x}" * 32


@pytest.fixture
def populated(tmp_path: Path) -> Path:
    """Two articles' manifests under out/ and a cache with used, unused, recent and temp entries."""
    root = tmp_path / "out"
    write_manifest(root, "a", [([key(1), key(2)], "fa1"), ([key(2)], "fa2")])
    write_manifest(root, "b", [([key(3)], "fb1")])
    for n in (1, 2, 3, 4, 5):
        put_segment(key(n))
    put_segment(key(6), age_s=5)  # unreferenced but just written (a render elsewhere?)
    for fp in ("fa1", "fa2", "fb1", "old1"):
        put_pcm(fp)
    temp = SegmentCache().path(key(7)).with_name(".leftover.seg.abc.tmp")
    temp.parent.mkdir(parents=True, exist_ok=True)
    temp.write_bytes(b"half")
    os.utime(temp, (HOUR_AGO, HOUR_AGO))
    return root


def remaining() -> tuple[set[str], set[str]]:
    pcms = {p.stem for p in (cache_dir() / "chapters").glob("*.pcm")}
    return set(SegmentCache().keys()), pcms


def test_prune_removes_only_unreferenced(populated: Path) -> None:
    """Segments no manifest uses go; legacy chapter PCMs all go (nothing reads them any more)."""
    dry = prune_cache([populated], grace_s=600, dry_run=True)
    assert (dry.segments_removed, dry.pcms_removed, dry.temp_removed, dry.kept_recent) == (2, 4, 1, 1)
    assert remaining() == ({key(n) for n in range(1, 7)}, {"fa1", "fa2", "fb1", "old1"})

    result = prune_cache([populated], grace_s=600)
    assert (result.manifests, result.segments_removed, result.pcms_removed, result.temp_removed) == (2, 2, 4, 1)
    assert result.freed_bytes == dry.freed_bytes > 0
    assert remaining() == ({key(1), key(2), key(3), key(6)}, set())

    prune_cache([populated], grace_s=0)  # no grace: the recent unreferenced one goes too
    assert remaining() == ({key(1), key(2), key(3)}, set())


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": 99, "chapters": []}),
                                     json.dumps({"format": 1, "chapters": [{"keys": "x"}]})],
                         ids=["unreadable", "unknown-format", "bad-chapter"])
def test_prune_refuses_when_a_manifest_cannot_be_read(populated: Path, content: str) -> None:
    (populated / "state" / "c").mkdir()
    (populated / "state" / "c" / "render.json").write_text(content, encoding="utf-8")
    before = remaining()
    with pytest.raises(AudiobookError, match="nothing was pruned"):
        prune_cache([populated], grace_s=0)
    assert remaining() == before


def test_prune_refuses_while_a_render_runs(populated: Path) -> None:
    before = remaining()
    with article_lock(populated / "state" / "a", "a"), pytest.raises(LockedError, match="a render is running"):
        prune_cache([populated], grace_s=0)
    assert remaining() == before
    prune_cache([populated], grace_s=0)  # the lock is free again


def test_prune_needs_an_existing_output_folder(tmp_path: Path) -> None:
    with pytest.raises(AudiobookError, match="does not exist"):
        prune_cache([tmp_path / "missing"])


def test_info(populated: Path) -> None:
    info = cache_info()
    assert (info.segments, info.chapter_pcms, info.temp_files) == (6, 4, 1)
    lines = info_lines(populated, grace_s=600)
    assert lines[0] == f"location: {cache_dir()}"
    assert lines[2].startswith("segments: 6 (") and lines[3].startswith("chapter PCMs: 4 (")
    assert "2 manifests" in lines[-1] and "2 segments, 4 chapter PCMs" in lines[-1]


def test_remembered_text_repairs_are_counted_and_pruned_after_the_grace(populated: Path) -> None:
    from audiobook.store.memo import memo_root, remembered

    assert remembered("garble", "v1", "old line", lambda: [[1, 2, "。"]]) == [[1, 2, "。"]]
    assert remembered("garble", "v1", "new line", lambda: []) == []
    old = next(p for p in (memo_root() / "garble").glob("*.json") if "。" in p.read_text(encoding="utf-8"))
    os.utime(old, (HOUR_AGO, HOUR_AGO))
    assert cache_info().memos == 2 and "remembered results: 2" in "\n".join(info_lines(populated))
    result = prune_cache([populated], grace_s=600)
    assert result.memos_removed == 1 and not old.exists() and cache_info().memos == 1
    assert remembered("garble", "v1", "old line", lambda: [[1, 2, "。"]]) == [[1, 2, "。"]]  # computed again


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "audiobook", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def test_cache_commands(populated: Path, tmp_path: Path) -> None:
    info = run_cli("cache", "info", "--output", str(populated), cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert "segments: 6" in info.stdout and "chapter PCMs: 4" in info.stdout
    prune = run_cli("cache", "prune", "--output", str(populated), "--grace-minutes", "0", cwd=tmp_path)
    assert prune.returncode == 0, prune.stderr
    assert prune.stdout.startswith("freed ") and "3 segments, 4 chapter PCMs, 1 temp file" in prune.stdout
    assert remaining() == ({key(1), key(2), key(3)}, set())
    missing = run_cli("cache", "prune", "--output", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 1 and missing.stderr.startswith("error:") and "Traceback" not in missing.stderr


def test_prune_after_a_rate_change_keeps_what_the_render_needs(memory_engine: str, write_article,
                                                               tmp_path: Path) -> None:
    root = tmp_path / "out"
    article = write_article(article_text(), "story.md")
    faster = replace(load_profile(), rate="+10%")
    first = render(article, Config(), load_profile(), memory_engine, root)
    render(article, Config(), faster, memory_engine, root)
    result = prune_cache([root], grace_s=0)
    assert result.segments_removed == first.synth.unique  # the +0% segments nobody uses now
    assert result.pcms_removed == 0  # renders keep no chapter PCM (the episode joins the chapter MP3s)
    sent = len(HISTORY)
    again = render(article, Config(), faster, memory_engine, root)
    assert len(HISTORY) == sent
    assert again.changes is not None
    assert (again.changes.segments_synthesized, again.changes.chapters_rebuilt) == (0, [])
