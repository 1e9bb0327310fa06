"""Faults mid-render end in a correct result: a kill -9 during a re-render leaves the previous
render's files exactly as its manifest says (the new ones are staged and put in place together)
and its temp files are swept by the next render; a corrupt cached segment is re-synthesized in the
run that finds it; a prune from another output folder never takes what a running render holds."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from audiobook.config import load_config, load_profile
from audiobook.models import Synthesis
from audiobook.render.pipeline import render
from audiobook.store.prune import prune_cache
from audiobook.store.segments import SegmentCache
from audiobook.testing.edge_service import FakeEdgeService
from tests.support.articles import NUMBERED_TITLE as TITLE
from tests.support.articles import start_render, wait_for


def manifest_of(out: Path) -> tuple[Path, dict]:
    [path] = (out / "state").glob("*/render.json")
    return path, json.loads(path.read_text(encoding="utf-8"))


def files_match_manifest(out: Path) -> None:
    _, data = manifest_of(out)
    folder = out / "site" / data["slug"]
    for entry in [*data["chapters"], data["episode"]]:
        path = folder / entry["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], path.name


@pytest.mark.slow
def test_kill_9_during_a_rerender_leaves_the_previous_render_whole(slow_fake: FakeEdgeService,
                                                                    numbered_render: tuple[Path, Path, Path]) -> None:
    article, out, config = numbered_render
    first = start_render(article, out, config)
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    files_match_manifest(out)
    text = article.read_text(encoding="utf-8")
    article.write_text(text.replace("这是第1句", "这是改过的第1句").replace("这是第30句", "这是改过的第30句"),
                       encoding="utf-8")

    folder = out / "site" / TITLE
    second = start_render(article, out, config)
    wait_for(lambda: any(p.stat().st_size > 0 for p in folder.glob(".0*.mp3.*.tmp")), second)
    second.send_signal(signal.SIGKILL)
    second.communicate(timeout=10)
    files_match_manifest(out)  # nothing of the unfinished render is in place
    assert list(folder.glob(".*.tmp")), "the kill should have left staged files behind"

    third = start_render(article, out, config)
    stdout, stderr = third.communicate(timeout=120)
    assert third.returncode == 0, stderr
    assert not list(folder.glob(".*.tmp")) and not list(folder.parent.parent.glob("state/*/.*.tmp"))
    files_match_manifest(out)
    assert "改过的第30句" in (folder / f"{TITLE}.vtt").read_text(encoding="utf-8")


def test_a_corrupt_cached_segment_is_synthesized_again_in_the_same_run(write_article, tmp_path: Path) -> None:
    article = write_article("---\ntitle: 坏的缓存\n---\n\n## 一\n\n第一句。第二句。\n\n## 二\n\n第三句。\n", "a.md")
    out = tmp_path / "out"
    first = render(article, load_config(None), load_profile(), "local", out)
    data = json.loads(first.manifest.read_text(encoding="utf-8"))
    key = data["chapters"][0]["keys"][1]
    cache = SegmentCache()
    path = cache.path(key)
    raw = bytearray(path.read_bytes())
    middle = len(raw) - 4000
    raw[middle:middle + 100] = bytes(range(100))  # same size, other samples: only the checksum can tell
    path.write_bytes(bytes(raw))
    assert cache.has(key)  # looks whole by size
    (first.folder / data["chapters"][0]["file"]).unlink()  # so chapter 1 is assembled again

    again = render(article, load_config(None), load_profile(), "local", out)
    assert again.synth.synthesized == 1  # that one segment, in this same run
    assert cache.get(key) is not None
    assert again.produced.chapters[0].rebuilt and (again.folder / again.produced.chapters[0].file).is_file()


def test_prune_keeps_what_a_running_render_holds_and_counts_grace_from_last_use(tmp_path: Path) -> None:
    cache = SegmentCache()
    old = time.time() - 7200
    keys = [f"{n:02x}" * 32 for n in range(3)]
    for key in keys:
        cache.put(key, Synthesis(np.zeros(100, dtype=np.int16), 24000, []))
        os.utime(cache.path(key), (old, old))
    other_output = tmp_path / "A"
    (other_output / "state").mkdir(parents=True)

    cache.touch(keys[2:])  # a render just used key 2 (written two hours ago)
    with cache.hold(keys[:1]):  # a render into some output folder B needs key 0 right now
        prune_cache([other_output], grace_s=600)
        assert cache.has(keys[0]) and cache.has(keys[2])
        assert not cache.has(keys[1])  # nobody holds it or used it lately
    prune_cache([other_output], grace_s=0)
    assert not cache.has(keys[0]) and not cache.has(keys[2])  # the hold ended with its render


def test_a_killed_renders_hold_does_not_keep_segments_forever(tmp_path: Path) -> None:
    import subprocess
    import sys

    cache = SegmentCache()
    key = "ab" * 32
    cache.put(key, Synthesis(np.zeros(100, dtype=np.int16), 24000, []))
    code = ("import sys, time\nfrom audiobook.store.segments import SegmentCache\n"
            f"with SegmentCache().hold([{key!r}]):\n    print('held', flush=True)\n    time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "held"
        (tmp_path / "A" / "state").mkdir(parents=True)
        prune_cache([tmp_path / "A"], grace_s=0)
        assert cache.has(key)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        prune_cache([tmp_path / "A"], grace_s=0)
        assert not cache.has(key)
        assert not list((cache.root.parent / "holds").glob("*.json"))  # the dead hold was cleared
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()


@pytest.mark.parametrize("leftover", [".01-开篇.mp3.abc123.tmp", ".render.json.x1.tmp"])
def test_an_old_renders_temp_files_are_swept(write_article, tmp_path: Path, leftover: str) -> None:
    article = write_article("---\ntitle: 清扫\n---\n\n一句话。\n", "a.md")
    first = render(article, load_config(None), load_profile(), "local", tmp_path / "out")
    where = first.folder if leftover.endswith(".mp3.abc123.tmp") else first.manifest.parent
    (where / leftover).write_bytes(b"")  # what a kill -9 leaves
    render(article, load_config(None), load_profile(), "local", tmp_path / "out")
    assert not (where / leftover).exists()
