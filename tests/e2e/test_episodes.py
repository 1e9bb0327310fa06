"""An episode's identity: its guid survives a new title (the folder moves, the feed keeps one item),
a moved article file, a front-matter id; two articles with one title are two episodes; retiring
takes one out of the show; output folders of earlier versions are moved into site/ + state/."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import feedparser
import pytest

from audiobook.audio.mp3join import read_frames
from audiobook.config import load_config, load_profile
from audiobook.errors import InputError, LockedError
from audiobook.render.pipeline import RenderResult, render
from audiobook.store.episodes import claim_episode, load_identities, retire_episode
from audiobook.store.workspace import Workspace, open_workspace
from audiobook.testing.memory_engine import NAME as MEMORY

# Episode identity does not depend on the voice: the in-memory engine reads.
pytestmark = pytest.mark.usefixtures("memory_engine")


def article(folder: Path, title: str, body: str = "第一句话。第二句话。", name: str = "a.md",
            episode_id: str = "") -> Path:
    path = folder / name
    front = f"id: {episode_id}\n" if episode_id else ""
    path.write_text(f"---\n{front}title: {title}\n---\n\n{body}\n", encoding="utf-8")
    return path


def run(path: Path, out: Path) -> RenderResult:
    return render(path, load_config(None), load_profile("default"), MEMORY, out)


def feed_items(out: Path) -> list[feedparser.FeedParserDict]:
    parsed = feedparser.parse((out / "site" / "feed.rss").read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed.entries


def test_a_new_title_moves_the_episode_and_keeps_its_guid(tmp_path: Path) -> None:
    out = tmp_path / "out"
    body = "## 第一章\n\n第一句话。\n\n## 第二章\n\n第二句话。"
    source = article(tmp_path, "旧的标题", body)
    first = run(source, out)
    frames = read_frames(first.folder / "02-第二章.mp3").frames
    [item] = feed_items(out)

    article(tmp_path, "新的标题", body)
    second = run(source, out)
    assert second.guid == first.guid and second.synth.synthesized == 1  # only the title sentence
    assert second.folder == out / "site" / "新的标题" and not first.folder.exists()
    assert sorted(p.name for p in (out / "site").iterdir() if p.is_dir()) == ["新的标题"]
    assert (second.folder / "新的标题.mp3").is_file() and not (second.folder / "旧的标题.mp3").exists()
    assert read_frames(second.folder / "02-第二章.mp3").frames == frames  # moved and re-tagged, not re-encoded
    [renamed] = feed_items(out)
    assert renamed.id == item.id and renamed.title == "新的标题"
    assert "/%E6%96%B0%E7%9A%84%E6%A0%87%E9%A2%98/" in renamed.enclosures[0].href  # the new folder
    assert renamed.link.endswith("/%E6%96%B0%E7%9A%84%E6%A0%87%E9%A2%98/index.html")


def test_two_articles_with_one_title_are_two_episodes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "out"
    one = run(article(tmp_path, "同名", "甲的第一句。", name="one.md"), out)
    with caplog.at_level(logging.WARNING):
        two = run(article(tmp_path, "同名", "乙的第一句。", name="two.md"), out)
    assert (one.folder.name, two.folder.name) == ("同名", "同名-2")
    assert one.guid != two.guid
    assert "also titled '同名'" in caplog.text and "同名-2" in caplog.text
    items = feed_items(out)
    assert len(items) == 2 and len({i.id for i in items}) == 2
    again = run(tmp_path / "one.md", out)  # each keeps its own folder
    assert (again.guid, again.folder) == (one.guid, one.folder) and again.synth.synthesized == 0


def test_a_moved_article_keeps_its_episode(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run(article(tmp_path, "搬家"), out)
    (tmp_path / "sub").mkdir()
    moved = (tmp_path / "a.md").rename(tmp_path / "sub" / "b.md")
    second = run(moved, out)
    assert second.guid == first.guid and second.folder == first.folder
    assert [i.source for i in load_identities(Workspace(out))] == [str(moved.resolve())]


def test_a_front_matter_id_is_the_identity(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run(article(tmp_path, "有编号", episode_id="post-17"), out)
    elsewhere = tmp_path / "drafts"
    elsewhere.mkdir()
    second = run(article(elsewhere, "改了名也搬了家", name="x.md", episode_id="post-17"), out)
    assert second.guid == first.guid and second.folder.name == "改了名也搬了家"
    assert len(feed_items(out)) == 1
    # the same id in a fresh output folder gives the same guid: subscribers see the same episode
    fresh = run(elsewhere / "x.md", tmp_path / "other-out")
    assert fresh.guid == first.guid


def test_an_article_gaining_an_id_stays_the_same_episode(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = run(article(tmp_path, "后来加编号"), out)
    second = run(article(tmp_path, "后来加编号", episode_id="later"), out)
    assert second.guid == first.guid
    assert load_identities(Workspace(out))[0].id == "later"


def test_retire_takes_an_episode_out_and_rendering_brings_it_back(tmp_path: Path) -> None:
    out = tmp_path / "out"
    keep = run(article(tmp_path, "留下", name="keep.md"), out)
    gone = run(article(tmp_path, "退休", name="gone.md"), out)
    ws = Workspace(out)
    retired = retire_episode(ws, str(tmp_path / "gone.md"))
    assert retired.guid == gone.guid and retired.retired
    assert not gone.folder.exists() and not gone.manifest.exists()
    from audiobook.publish.website import build_site
    build_site(ws, load_config(None))
    assert [i.id for i in feed_items(out)] == [keep.guid]
    assert "退休" not in (out / "site" / "index.html").read_text(encoding="utf-8")
    with pytest.raises(InputError, match="no episode '退休'"):
        retire_episode(ws, "退休")
    back = run(tmp_path / "gone.md", out)
    assert back.guid == gone.guid and len(feed_items(out)) == 2


def test_retire_by_title_folder_or_guid_through_the_cli(tmp_path: Path) -> None:
    import subprocess
    import sys

    out = tmp_path / "out"
    run(article(tmp_path, "甲篇", name="a.md"), out)
    b = run(article(tmp_path, "乙篇", name="b.md"), out)
    cli = [sys.executable, "-m", "audiobook", "retire", "-o", str(out)]
    done = subprocess.run([*cli, b.guid], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("retired 乙篇: the feed and pages no longer list it")
    missing = subprocess.run([*cli, "丙篇"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert missing.returncode == 1 and "no episode '丙篇'" in missing.stderr and "甲篇" in missing.stderr
    assert "Traceback" not in missing.stderr
    last = subprocess.run([*cli, "甲篇"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert last.returncode == 0 and "the show has no episodes left" in last.stdout


def test_claims_hold_the_render_lock(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "out")
    a, b = article(tmp_path, "标题", name="a.md"), article(tmp_path, "标题", name="b.md")
    with claim_episode(ws, str(a), "", "标题") as first:
        with pytest.raises(LockedError, match="another render of 标题 is running"):
            with claim_episode(ws, str(a), "", "标题"):
                pass
        with claim_episode(ws, str(b), "", "标题") as other:  # another article: its own lock and folder
            assert other.guid != first.guid and other.slug == "标题-2"


def test_an_earlier_versions_output_folder_is_moved_into_site_and_state(tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "out"
    source = article(tmp_path, "老版本")
    first = run(source, out)
    # the layout of earlier versions: OUTPUT/<slug>/ with render.json and the lock, the feed beside it
    old = out / "老版本"
    shutil.move(first.folder, old)
    shutil.move(first.manifest, old / "render.json")
    (old / ".render.lock").write_text("123")
    (out / "feed.xml").write_text("<rss/>")
    shutil.rmtree(out / "site")
    shutil.rmtree(out / "state")

    with caplog.at_level(logging.WARNING):
        ws = open_workspace(out)
    assert "moved 1 article(s)" in caplog.text
    assert sorted(p.name for p in out.iterdir()) == ["site", "state"]
    assert not (ws.folder("老版本") / "render.json").exists() and ws.manifest_path(first.guid).is_file()
    again = run(source, out)
    assert again.guid == first.guid and again.synth.synthesized == 0
    assert not any(c.rebuilt for c in again.produced.chapters)  # the audio files were kept
    assert [i.id for i in feed_items(out)] == [first.guid]


def test_the_site_holds_no_bookkeeping_or_local_paths(tmp_path: Path) -> None:
    out = tmp_path / "out"
    source = article(tmp_path, "隐私")
    run(source, out)
    secrets = [str(source.resolve()), str(tmp_path), os.environ["AUDIOBOOK_CACHE_DIR"]]
    for path in (out / "site").rglob("*"):
        assert not path.name.startswith(".") and path.name not in ("render.json", "episode.json")
        if path.is_file():
            data = path.read_bytes()
            for secret in secrets:
                for encoding in ("utf-8", "utf-16-le", "utf-16-be"):  # ID3v2.3 text is UTF-16
                    assert secret.encode(encoding) not in data, (path, secret)
    assert json.loads((out / "state" / "site.json").read_text())  # the generated files' list: private
