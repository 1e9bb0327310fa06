"""The output folder: a public site, and the renderer's private state beside it.

```
OUTPUT/
  site/                 what listeners fetch; copy it as is to any static host (`audiobook publish`)
    feed.rss  index.html  show-cover.jpg
    <episode folder>/   chapter MP3s, the full episode, captions, chapters JSON, cover, index.html
  state/                never published: manifests name local paths, locks are per machine
    show.lock
    <guid>/episode.json  the episode's identity: guid, front-matter id, source, folder name
    <guid>/render.json   what its last render made (the manifest)
    <guid>/render.lock
    follow/<feed>.json   what `audiobook follow` rendered from each feed (render/follow.py), follow/render.lock
```

An episode's state is filed under its guid, which never changes, so a new title (a new folder name
in the site) is a move, not a second episode. Output folders written by earlier versions (one
folder per article holding its render.json, the feed beside them) are moved into this layout the
first time a command opens them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..errors import PublishError
from .locks import LOCK_FILE, show_lock
from .manifest import MANIFEST_FILE, Manifest, ManifestError, load_manifest

log = logging.getLogger(__name__)

SITE_DIR = "site"
STATE_DIR = "state"
IDENTITY_FILE = "episode.json"


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def site(self) -> Path:
        return self.root / SITE_DIR

    @property
    def state(self) -> Path:
        return self.root / STATE_DIR

    def episode_state(self, guid: str) -> Path:
        return self.state / guid

    def manifest_path(self, guid: str) -> Path:
        return self.state / guid / MANIFEST_FILE

    def identity_path(self, guid: str) -> Path:
        return self.state / guid / IDENTITY_FILE

    def folder(self, slug: str) -> Path:
        """An episode's public folder."""
        return self.site / slug

    def manifest_paths(self) -> list[Path]:
        return sorted(self.state.glob(f"*/{MANIFEST_FILE}")) if self.state.is_dir() else []

    def lock_paths(self) -> list[Path]:
        return sorted(self.state.glob(f"*/{LOCK_FILE}")) if self.state.is_dir() else []


def open_workspace(root: Path) -> Workspace:
    """The workspace at `root`, after moving an earlier version's layout into it if there is one."""
    ws = Workspace(root)
    if not ws.site.exists() and _old_manifests(root):
        with show_lock(ws.state):
            if not ws.site.exists():
                _migrate(ws)
    return ws


def _old_manifests(root: Path) -> list[tuple[Path, Manifest]]:
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.glob(f"*/{MANIFEST_FILE}")):
        if path.parent.name in (SITE_DIR, STATE_DIR):
            continue
        try:
            manifest = load_manifest(path)
        except (OSError, ManifestError):
            continue
        if manifest.guid:
            found.append((path, manifest))
    return found


def _migrate(ws: Workspace) -> None:
    """Earlier versions kept OUTPUT/<slug>/render.json beside the audio and the feed in OUTPUT: move
    each article folder into site/, its manifest and identity into state/<guid>/. Guids are kept,
    so subscribers see the same episodes."""
    from .files import atomic_write_text

    moved = 0
    try:
        ws.site.mkdir(parents=True, exist_ok=True)
        for manifest, data in _old_manifests(ws.root):
            guid, slug = data.guid, manifest.parent.name
            state = ws.episode_state(guid)
            state.mkdir(parents=True, exist_ok=True)
            source = data.source
            identity = {"guid": guid, "slug": slug, "source": str(Path(source).resolve()) if source else "",
                        "id": "", "title": data.title, "retired": False}
            atomic_write_text(state / IDENTITY_FILE, json.dumps(identity, ensure_ascii=False, indent=1))
            os.replace(manifest, state / MANIFEST_FILE)
            (manifest.parent / ".render.lock").unlink(missing_ok=True)
            os.replace(manifest.parent, ws.folder(slug))
            moved += 1
        for old in [*ws.root.glob("show-cover.*"), *ws.root.glob("feed.xml")]:
            if old.is_file():
                old.unlink()  # both are written anew into site/
    except (OSError, KeyError, ValueError) as exc:
        raise PublishError(f"could not move {ws.root} into the site/ + state/ layout ({exc}); move the "
                           "article folders out of it and render them again") from exc
    log.warning("moved %d article(s) in %s into site/ (public: publish this) and state/ (private)",
                moved, ws.root)


def remove_tree(path: Path) -> None:
    """Delete a folder of ours (an episode's public folder or state) if it is there."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
