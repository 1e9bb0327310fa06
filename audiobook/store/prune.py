"""`audiobook cache info` and `audiobook cache prune`.

Prune keeps everything a render manifest (state/<guid>/render.json) in the given output folders
refers to: each chapter's segment keys. Chapter PCMs are what older versions kept to re-encode the
episode; nothing reads them any more, so prune removes them all. It refuses to run when a
manifest there can't be read (it can't tell what that one needs) or a render there is running
(the article lock is held), and it keeps unreferenced entries younger than a grace period, since
a render into some other output folder may be writing them right now.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AudiobookError
from ..paths import WEB_DIR, cache_dir
from .locks import no_render_running
from .manifest import MANIFEST_FORMAT, ManifestError, NotAManifest, UnreadableManifest, load_manifest
from .memo import MEMO_DIR, memo_root
from .segments import SUFFIX, SegmentCache
from .workspace import open_workspace

PCM_DIR = "chapters"  # legacy: mastered chapter PCM, written by versions before the MP3 join
PCM_SUFFIX = ".pcm"
TEMP_SUFFIX = ".tmp"  # files.atomic_path leftovers of a killed process
DEFAULT_GRACE_S = 15 * 60


@dataclass
class Entry:
    path: Path
    name: str  # segment key, or a legacy chapter PCM's fingerprint
    bytes: int
    mtime: float


@dataclass
class CacheInfo:
    location: Path
    total_bytes: int
    segments: int
    segment_bytes: int
    chapter_pcms: int
    chapter_pcm_bytes: int
    temp_files: int
    temp_bytes: int
    memos: int = 0
    memo_bytes: int = 0


@dataclass
class References:
    manifests: list[Path] = field(default_factory=list)
    segment_keys: set[str] = field(default_factory=set)


@dataclass
class PruneResult:
    manifests: int
    segments_removed: int = 0
    segment_bytes: int = 0
    pcms_removed: int = 0
    pcm_bytes: int = 0
    temp_removed: int = 0
    temp_bytes: int = 0
    memos_removed: int = 0
    memo_bytes: int = 0
    kept_recent: int = 0  # unreferenced but younger than the grace period
    kept_referenced: int = 0
    dry_run: bool = False

    @property
    def freed_bytes(self) -> int:
        return self.segment_bytes + self.pcm_bytes + self.temp_bytes + self.memo_bytes


def _entries(paths: Iterable[Path], name: Callable[[Path], str] = lambda p: p.stem) -> list[Entry]:
    out = []
    for path in paths:
        try:
            st = path.stat()
        except FileNotFoundError:  # removed while we looked
            continue
        out.append(Entry(path, name(path), st.st_size, st.st_mtime))
    return out


def segment_entries(root: Path | None = None) -> list[Entry]:
    cache = SegmentCache(root)
    return _entries(cache.root.glob(f"*/*{SUFFIX}")) if cache.root.exists() else []


def pcm_entries() -> list[Entry]:
    folder = cache_dir() / PCM_DIR
    return _entries(folder.glob(f"*{PCM_SUFFIX}")) if folder.exists() else []


def memo_entries() -> list[Entry]:
    """Remembered results (store/memo.py) and fetched web pages, feeds and covers (sources/fetch.py): all
    disposable, computed or fetched again when needed (a pruned page costs one full download)."""
    root, web = memo_root(), cache_dir() / WEB_DIR
    found = list(root.glob("*/*.json")) if root.exists() else []
    if web.exists():
        found += [p for p in web.rglob("*") if p.is_file() and not p.name.startswith(".")]
    return _entries(found)


def temp_entries() -> list[Entry]:
    root = cache_dir()
    found = [*root.glob(f"segments/*/.*{TEMP_SUFFIX}"), *root.glob(f"{PCM_DIR}/.*{TEMP_SUFFIX}"),
             *root.glob(f"{MEMO_DIR}/*/.*{TEMP_SUFFIX}"), *root.glob(f"{WEB_DIR}/**/.*{TEMP_SUFFIX}")]
    return _entries(found, name=lambda p: p.name)


def cache_info() -> CacheInfo:
    root = cache_dir()
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    segments, pcms, temps, memos = segment_entries(), pcm_entries(), temp_entries(), memo_entries()
    return CacheInfo(root, total, len(segments), sum(e.bytes for e in segments), len(pcms),
                     sum(e.bytes for e in pcms), len(temps), sum(e.bytes for e in temps),
                     len(memos), sum(e.bytes for e in memos))


def find_references(output_roots: Sequence[Path]) -> References:
    """Every segment key the manifests under `output_roots` use.
    An unreadable manifest is an error: pruning without knowing what it needs could delete it."""
    refs = References()
    for root in output_roots:
        if not root.is_dir():
            raise AudiobookError(f"output folder {root} does not exist; pass the one you render into with --output")
        for path in open_workspace(root).manifest_paths():
            _read_manifest(path, refs)
    return refs


def _read_manifest(path: Path, refs: References) -> None:
    def bad(why: str) -> AudiobookError:
        return AudiobookError(f"{path}: {why}; can't tell which cached audio it needs, so nothing was pruned "
                              "(render that article again or delete its state folder, then prune)")

    try:
        manifest = load_manifest(path, require_keys=True)
    except (OSError, UnreadableManifest) as exc:
        raise bad(f"unreadable ({exc})") from exc
    except NotAManifest as exc:
        raise bad(f"not a render manifest of format {MANIFEST_FORMAT}") from exc
    except ManifestError as exc:
        raise bad(str(exc)) from exc
    for chapter in manifest.chapters:
        refs.segment_keys.update(chapter.keys)
    refs.manifests.append(path)


def prune_cache(output_roots: Sequence[Path], grace_s: float = DEFAULT_GRACE_S, dry_run: bool = False,
                now: float | None = None) -> PruneResult:
    """Remove cached segments that no manifest under `output_roots` references and no running render
    holds, legacy chapter PCMs, leftover temp files and remembered results (store/memo.py: recomputed when
    needed), except those used within the last `grace_s` seconds (a render touches the segments it
    uses, so this is the time since their last use)."""
    now = time.time() if now is None else now
    locks = [lock for root in output_roots if root.is_dir() for lock in open_workspace(root).lock_paths()]
    with no_render_running(locks, "prune"):
        refs = find_references(output_roots)
        held = SegmentCache().held_keys()  # renders running into any output folder
        result = PruneResult(manifests=len(refs.manifests), dry_run=dry_run)
        for kind, entries, keep in (("segment", segment_entries(), refs.segment_keys | held),
                                    ("pcm", pcm_entries(), set()),
                                    ("temp", temp_entries(), set()),
                                    ("memo", memo_entries(), set())):
            for entry in entries:
                if entry.name in keep:
                    result.kept_referenced += 1
                    continue
                if now - entry.mtime < grace_s:
                    result.kept_recent += 1
                    continue
                if not dry_run:
                    entry.path.unlink(missing_ok=True)
                if kind == "segment":
                    result.segments_removed += 1
                    result.segment_bytes += entry.bytes
                elif kind == "pcm":
                    result.pcms_removed += 1
                    result.pcm_bytes += entry.bytes
                elif kind == "memo":
                    result.memos_removed += 1
                    result.memo_bytes += entry.bytes
                else:
                    result.temp_removed += 1
                    result.temp_bytes += entry.bytes
    return result


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # unreachable


def info_lines(output_root: Path, grace_s: float = DEFAULT_GRACE_S) -> list[str]:
    """`cache info`: the cache's numbers, and what prune would free given `output_root`'s manifests."""
    lines = describe_info(cache_info())
    if not output_root.is_dir():
        lines.append(f"prunable: unknown (no output folder {output_root}; pass --output)")
        return lines
    try:
        unreferenced = prune_cache([output_root], grace_s, dry_run=True)
    except AudiobookError as exc:
        lines.append(f"prunable: unknown ({exc})")
        return lines
    lines.append(f"prunable (used by none of the {unreferenced.manifests} manifests under {output_root}): "
                 f"{unreferenced.segments_removed} segments, {unreferenced.pcms_removed} chapter PCMs, "
                 f"{fmt_bytes(unreferenced.freed_bytes)}")
    return lines


def describe_info(info: CacheInfo) -> list[str]:
    lines = [f"location: {info.location}",
             f"size: {fmt_bytes(info.total_bytes)}",
             f"segments: {info.segments} ({fmt_bytes(info.segment_bytes)})",
             f"chapter PCMs: {info.chapter_pcms} ({fmt_bytes(info.chapter_pcm_bytes)})"]
    if info.memos:
        lines.append(f"remembered results: {info.memos} ({fmt_bytes(info.memo_bytes)})")
    if info.temp_files:
        lines.append(f"leftover temp files: {info.temp_files} ({fmt_bytes(info.temp_bytes)})")
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def describe_prune(result: PruneResult) -> str:
    verb = "would free" if result.dry_run else "freed"
    text = (f"{verb} {fmt_bytes(result.freed_bytes)}: {_count(result.segments_removed, 'segment')}, "
            f"{_count(result.pcms_removed, 'chapter PCM')}")
    if result.temp_removed:
        text += f", {_count(result.temp_removed, 'temp file')}"
    if result.memos_removed:
        text += f", {_count(result.memos_removed, 'remembered result')}"
    text += f"; kept {result.kept_referenced} referenced by {_count(result.manifests, 'manifest')}"
    if result.kept_recent:
        text += f" and {result.kept_recent} recent unreferenced (written in the grace period)"
    return text
