"""render.json, the manifest of an episode's last render (OUTPUT/state/<guid>/render.json): the one
owner of its format.

The renderer writes a `Manifest` (its records dumped in field order, so the file reads as it always
has); every reader loads it here: the next render (what it can keep), `cache prune` (which segments
it needs), the feed and pages (what is published), the move from the earlier layout. Loading is
lenient about what earlier versions of format 1 did not record (a missing key takes its default)
and strict about types: a value of the wrong type makes the whole manifest unreadable
(ManifestError), never half-read.
"""

from __future__ import annotations

import json
import math
import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from ..errors import AudiobookError
from .files import atomic_write_text

MANIFEST_FILE = "render.json"
MANIFEST_FORMAT = 1

T = TypeVar("T")
Cue = tuple[int, int, str]  # [start_ms, end_ms, text]: a sentence, or a caption cue (long sentences split at words)


class ManifestError(AudiobookError):
    """A render.json that can't be read, is of another format or holds a value of the wrong type."""


class UnreadableManifest(ManifestError):
    """Not JSON, or not readable at all."""


class NotAManifest(ManifestError):
    """JSON, but not a render.json of MANIFEST_FORMAT."""


@dataclass
class BlockRecord:
    """A block of a chapter file (audio/blocks.py): enough to find its frames in the file."""

    content: str  # its segment keys and pauses, and whether it ends the chapter
    sentences: int
    frames: int


@dataclass
class MusicRecord:
    """A music part of the full episode: where its frames are in the file (byte offset and length
    from the first audio frame), their hash, and how it sounds (render/music.py)."""

    role: str  # intro | outro | transition
    content: str  # its key (audio/music.py music_content)
    source: str  # the music file
    source_sha256: str
    offset: int
    bytes: int
    frames: int
    sha256: str
    padding: int  # its encoder's padding
    start_ms: int
    duration_ms: int
    lufs: float
    true_peak_dbtp: float
    encoded: bool  # by this render (else its frames were copied from the previous episode file)


@dataclass
class ChapterRecord:
    """A chapter file and what made it."""

    index: int
    title: str
    file: str
    bytes: int
    sha256: str
    duration_ms: int
    start_ms: int  # in the full episode
    end_ms: int
    vtt: str
    srt: str
    audio_fingerprint: str
    fingerprint: str
    keys: list[str]  # its sentences' segment keys, in order
    cues: list[Cue]  # per sentence, in chapter time
    captions: list[Cue]  # per caption cue, in chapter time
    lufs: float
    true_peak_dbtp: float
    rebuilt: bool = False
    chapters_json: str | None = None  # chapters have none (the episode has)
    gain_db: float = math.nan  # the make-up gain its blocks were mastered with (render/chapter_audio.py)
    mastering: str = ""  # AudioSettings.digest() of that mastering
    blocks: list[BlockRecord] = field(default_factory=list)
    blocks_encoded: int = 0  # by this render (the others' frames were copied from the previous file)
    kinds: list[str] = field(default_factory=list)  # each sentence's kind (title, heading, …): for transcripts
    paragraphs: list[int] = field(default_factory=list)  # each sentence's paragraph in the chapter


@dataclass
class EpisodeRecord:
    """The full-episode MP3 (the chapter files' frames joined, and the music's) and its sidecars."""

    file: str
    bytes: int
    sha256: str
    duration_ms: int
    vtt: str
    srt: str
    chapters_json: str
    fingerprint: str
    lufs: float  # derived from the chapters (the episode is their frames, joined)
    true_peak_dbtp: float
    chapter_starts: list[int]  # first sample of each chapter in the decoded episode
    samples: int  # decoded length
    rebuilt: bool = False
    intro_ms: int = 0  # the intro music before chapter 1: the episode's first chapter, of its own
    intro_title: str = ""
    music: list[MusicRecord] = field(default_factory=list)  # each music part, in order


@dataclass
class SynthStats:
    total: int  # sentences in the script
    unique: int  # distinct segment keys
    cached: int  # keys already in the cache before this run
    synthesized: int


@dataclass
class ChangeSummary:
    """What a render changed, compared with the previous one (render/changes.py)."""

    first_render: bool
    sentences_added: int = 0
    sentences_changed: int = 0
    sentences_removed: int = 0
    sentences_revoiced: int = 0  # same text, different segment key (voice, prosody, spoken form)
    segments_synthesized: int = 0
    segments_reused: int = 0
    chapters_rebuilt: list[int] = field(default_factory=list)
    chapters_kept: list[int] = field(default_factory=list)
    # of the rebuilt chapters' blocks, how many were encoded; the rest were copied
    blocks_encoded: int = 0
    blocks_in_rebuilt: int = 0
    episode_rebuilt: bool = False
    music_encoded: list[str] = field(default_factory=list)  # music roles encoded (the others' frames copied)
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def text_changed(self) -> bool:
        return bool(self.sentences_added or self.sentences_changed or self.sentences_removed)


@dataclass
class Manifest:
    slug: str  # the episode's folder in the site
    guid: str  # its identity (store/episodes.py): podcast apps key on it
    title: str
    author: str
    date: str
    language: str
    description: str
    source: str  # the article file or URL
    first_rendered: str  # ISO 8601
    rendered_at: str
    engine: str
    engine_reason: str
    voice: str
    cover: str  # its file in the episode's folder
    episode: EpisodeRecord
    chapters: list[ChapterRecord]
    segments: SynthStats
    timings_s: dict[str, float] = field(default_factory=dict)
    changes: ChangeSummary | None = None
    format: int = MANIFEST_FORMAT

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {"format": data.pop("format"), **data}


def dump_manifest(manifest: Manifest, path: Path) -> None:
    """Write render.json atomically."""
    atomic_write_text(path, json.dumps(manifest.to_json(), ensure_ascii=False, indent=1))


def load_manifest(path: Path, require_keys: bool = False) -> Manifest:
    """The manifest at `path`. Raises FileNotFoundError when there is none, UnreadableManifest
    (not JSON, unreadable), NotAManifest (another format) or ManifestError (a value of the wrong
    type; with `require_keys`, also a chapter list or a chapter's segment keys missing: what
    `cache prune` must know)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UnreadableManifest(str(exc)) from exc
    return parse_manifest(data, require_keys)


def parse_manifest(data: object, require_keys: bool = False) -> Manifest:
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise NotAManifest(f"not render.json format {MANIFEST_FORMAT}")
    if require_keys:
        chapters = data.get("chapters")
        if not isinstance(chapters, list):
            raise ManifestError("no chapter list")
        for chapter in chapters:
            keys = chapter.get("keys") if isinstance(chapter, dict) else None
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise ManifestError("a chapter without segment keys")
    return _record(Manifest, data)


def _record(cls: type[T], data: dict[str, Any]) -> T:
    """A record from its JSON object: a key that is missing (or null where null is not allowed)
    takes the field's default, or its type's empty value; a value of another type is an error."""
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        value = data.get(f.name)
        if value is None and not _optional(hints[f.name]):
            if f.default is not MISSING or f.default_factory is not MISSING:
                continue
            value = _empty(hints[f.name])
        values[f.name] = _value(hints[f.name], value, f.name)
    return cls(**values)


def _optional(hint: Any) -> bool:
    return isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)


def _empty(hint: Any) -> Any:
    origin = typing.get_origin(hint) or hint
    if isinstance(origin, type) and hasattr(origin, "__dataclass_fields__"):
        return {}
    return {str: "", int: 0, float: 0.0, bool: False, list: [], dict: {}, tuple: ()}[origin]


def _value(hint: Any, value: Any, key: str) -> Any:
    if value is None and _optional(hint):
        return None
    if _optional(hint):
        hint = next(h for h in typing.get_args(hint) if h is not type(None))
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Cue or origin is tuple:
        if not (isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[2], str)
                and all(_number(v) for v in value[:2])):
            raise ManifestError(f"{key!r} should be [start_ms, end_ms, text], got {value!r}")
        return (int(value[0]), int(value[1]), value[2])
    if origin is list:
        _check(value, list, key)
        return [_value(args[0], item, key) for item in value]
    if origin is dict:
        _check(value, dict, key)
        return {str(k): _value(args[1], v, key) for k, v in value.items()}
    if isinstance(hint, type) and hasattr(hint, "__dataclass_fields__"):
        _check(value, dict, key)
        return _record(hint, value)
    if hint is float:
        if not _number(value):
            raise ManifestError(f"{key!r} should be a float, got {value!r}")
        return value
    _check(value, hint, key)
    return value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check(value: Any, kind: type, key: str) -> None:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ManifestError(f"{key!r} should be a {kind.__name__}, got {value!r}")
