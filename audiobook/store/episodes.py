"""The show's episodes and what each one is: its identity survives a new title.

An episode is found again, in this order, by:
1. the `id` in the article's front matter (stable across moves, renames and machines);
2. the source it was rendered from (the article file's absolute path, or the web page's URL,
   recorded at its first render), so a new title renames the episode's folder instead of making a
   second episode;
3. the folder name (from the title) of an episode whose source file no longer exists and that has no
   id: an article that was moved or renamed, title unchanged (files only: a URL is not moved).
Otherwise it is a new episode: a new guid, and a folder name of its own (`标题-2` when another
episode already has `标题`). Claims happen under the show lock, so two renders starting at once
can't take the same folder.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from ..errors import InputError, PublishError
from .files import atomic_write_text
from .locks import article_lock, show_lock
from .slug import MAX_SLUG_BYTES, slugify
from .workspace import IDENTITY_FILE, Workspace, remove_tree

log = logging.getLogger(__name__)


@dataclass
class EpisodeIdentity:
    guid: str  # the feed item's guid: never changes
    slug: str  # the episode's folder name in the site (from its title)
    source: str  # the article it was last rendered from (absolute path, or URL)
    id: str = ""  # front matter `id`, if the article has one
    title: str = ""
    retired: bool = False  # taken out of the show by `audiobook retire`


def load_identities(ws: Workspace) -> list[EpisodeIdentity]:
    found: list[EpisodeIdentity] = []
    if not ws.state.is_dir():
        return found
    names = {f.name for f in fields(EpisodeIdentity)}
    for path in sorted(ws.state.glob(f"*/{IDENTITY_FILE}")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            identity = EpisodeIdentity(**{k: v for k, v in data.items() if k in names})
        except (OSError, ValueError, TypeError) as exc:
            log.warning("ignoring unreadable %s (%s)", path, exc)
            continue
        if identity.guid != path.parent.name:
            log.warning("ignoring %s: it names guid %s", path, identity.guid)
            continue
        found.append(identity)
    return found


def save_identity(ws: Workspace, identity: EpisodeIdentity) -> None:
    atomic_write_text(ws.identity_path(identity.guid), json.dumps(asdict(identity), ensure_ascii=False, indent=1))


def source_of(path: Path) -> str:
    return str(path.resolve())


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


@contextlib.contextmanager
def claim_episode(ws: Workspace, source: str, episode_id: str, title: str,
                  fallback_name: str = "article") -> Iterator[EpisodeIdentity]:
    """Hold the episode `source` (with front matter `episode_id`, maybe "") is rendered into, for
    the length of a render: found again or new, its render lock taken (a second render of it stops
    with LockedError), its public folder named after `title` (unique in the show; a new title moves
    the folder; `fallback_name` names it if the title has no usable character), all recorded before
    any audio is made."""
    wanted = slugify(title, fallback=slugify(fallback_name))
    with contextlib.ExitStack() as held:
        with show_lock(ws.state):
            identities = load_identities(ws)
            identity = _match(identities, episode_id, source, wanted)
            if identity is None:
                identity = EpisodeIdentity(_new_guid(identities, episode_id, source), "", source, episode_id)
                log.info("new episode %s for %s", identity.guid, source)
            elif identity.retired:
                log.warning("%s was retired from the show; rendering it brings it back", title)
            held.enter_context(article_lock(ws.episode_state(identity.guid), title))
            taken = {i.slug for i in identities if i.guid != identity.guid and not i.retired}
            slug = _unique(wanted, taken)
            if slug != wanted:
                other = next((i.source for i in identities if i.slug == wanted and i.guid != identity.guid), "?")
                log.warning("another article (%s) is also titled %r: this one is published as %s; give one "
                            "of them another title or an `id:` in its front matter", other, title, slug)
            if identity.slug and identity.slug != slug and not identity.retired:
                _move_folder(ws, identity.slug, slug)
            claimed = EpisodeIdentity(identity.guid, slug, source, episode_id or identity.id, title)
            if claimed != identity:
                save_identity(ws, claimed)
        yield claimed


def _move_folder(ws: Workspace, old: str, new: str) -> None:
    """A new title: the episode's public folder takes the new name (its files are kept; the render
    then renames the ones named after the title). Anything at the new name belongs to no episode."""
    source, target = ws.folder(old), ws.folder(new)
    if not source.is_dir():
        return
    try:
        remove_tree(target)
        os.replace(source, target)
    except OSError as exc:
        raise PublishError(f"cannot rename {source} to {target.name} ({exc.strerror}); check the output "
                           "folder's permissions") from exc
    log.info("new title: moved %s to %s", old, new)


def _match(identities: list[EpisodeIdentity], episode_id: str, source: str,
           wanted: str) -> EpisodeIdentity | None:
    if episode_id:
        by_id = [i for i in identities if i.id == episode_id]
        if by_id:
            return by_id[0]
        # the article gained an id: still the same file
        return next((i for i in identities if not i.id and i.source == source), None)
    by_source = sorted((i for i in identities if i.source == source), key=lambda i: bool(i.id))
    if by_source:
        return by_source[0]
    if _is_url(source):
        return None  # a web page is its URL: another URL with the same title is another article
    moved = [i for i in identities if i.slug == wanted and not i.id and not i.retired
             and not _is_url(i.source) and not Path(i.source).exists()]
    return moved[0] if len(moved) == 1 else None


def _new_guid(identities: list[EpisodeIdentity], episode_id: str, source: str) -> str:
    """Derived from what identifies the article, so rendering it into a fresh output folder gives the
    same guid again (a subscriber sees the same episode); random only if that one is taken."""
    name = f"audiobook:id:{episode_id}" if episode_id else f"audiobook:source:{source}"
    guid = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
    return guid if all(i.guid != guid for i in identities) else str(uuid.uuid4())


def _unique(slug: str, taken: set[str]) -> str:
    if slug not in taken:
        return slug
    for n in range(2, 10_000):
        suffix = f"-{n}"
        candidate = slugify(slug, max_bytes=MAX_SLUG_BYTES - len(suffix)) + suffix
        if candidate not in taken:
            return candidate
    raise InputError(f"too many articles titled {slug!r}; give them different titles")


def find_episode(ws: Workspace, which: str) -> EpisodeIdentity:
    """The episode `which` names: its folder name, guid, front matter id, title or article path."""
    identities = [i for i in load_identities(ws) if not i.retired]
    path = Path(which)
    source = which if _is_url(which) else source_of(path) if path.exists() else None
    for identity in identities:
        if which in (identity.slug, identity.guid, identity.title) or (which and which == identity.id) \
                or identity.source == source:
            return identity
    known = ", ".join(sorted(i.slug for i in identities)) or "none"
    raise InputError(f"no episode {which!r} in {ws.root}; episodes: {known}")


def retire_episode(ws: Workspace, which: str) -> EpisodeIdentity:
    """Take an episode out of the show: its public folder and manifest are deleted (the feed and
    pages no longer list it); its identity stays, marked retired, so rendering the article again
    brings it back under the same guid."""
    with show_lock(ws.state):
        identity = find_episode(ws, which)
        with article_lock(ws.episode_state(identity.guid), identity.slug):
            remove_tree(ws.folder(identity.slug))
            ws.manifest_path(identity.guid).unlink(missing_ok=True)
            identity.retired = True
            save_identity(ws, identity)
    return identity
