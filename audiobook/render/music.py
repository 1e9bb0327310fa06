"""The episode's music (audio/music.py prepares each piece): which pieces an article gets, and the
episode's parts in order — intro, chapter 1, transition, chapter 2, …, outro.

Music is in the full episode only; the chapter files stay narration. Each chapter in the episode
starts on its narration, so a chapter jump lands on the voice: the intro is the episode's first
chapter of its own (片头: chapter lists start at 0, and listeners can skip it), a transition ends
the chapter before it, the outro ends the last.

A piece is encoded once per render that needs it (a transition once for all its places) and
its frames are copied after that: render.json records where each music part's frames are in the
episode file (byte offset and length from the first audio frame) and their hash, so a re-render
reads just those bytes back, checks them and joins them again.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio.blocks import LAME_DELAY
from ..audio.ffmpeg import MP3_RATE, decode_files, encode_mp3_files
from ..audio.loudness import integrated_lufs, true_peak
from ..audio.mp3join import DECODER_DELAY, Mp3Frames, read_audio_range, read_frames, split_frames
from ..audio.music import MusicSource, music_content, prepare_music, read_source
from ..config import Config, MusicConfig
from ..models import MUSIC_ROLES
from ..publish.wording import text
from ..store.manifest import EpisodeRecord, MusicRecord
from .chapter_audio import AudioSettings

log = logging.getLogger(__name__)

NONE = ("", "none")  # what switches a piece off in front matter or the config


@dataclass
class MusicPiece:
    source: MusicSource
    content: str  # music_content(): the key of its frames
    pcm: np.ndarray | None  # prepared PCM; None while the previous episode is expected to hold its frames


@dataclass
class EpisodeMusic:
    """The music of one render, checked before any synthesis."""

    pieces: dict[str, MusicPiece]  # by role
    fade_ms: int
    settings: AudioSettings
    intro_title: str  # the intro's chapter title, in the episode's language

    def fingerprint(self) -> list[list[str]]:
        """What of the music shapes the episode file."""
        return [[role, self.pieces[role].content] for role in MUSIC_ROLES if role in self.pieces] + \
            ([["intro_title", self.intro_title]] if "intro" in self.pieces else [])


def resolve_music(front_matter: dict[str, str], config: Config, article: Path,
                  enabled: bool = True) -> dict[str, MusicSource]:
    """The music files an article gets, read: its front matter's `intro:` etc. (relative to the
    article) override [music] in audiobook.toml (relative to that file); `none` or "" is none."""
    if not enabled:
        return {}
    config_folder = config.path.parent if config.path else Path.cwd()
    sources = {}
    for role in MUSIC_ROLES:
        if role in front_matter:
            value, folder, where = front_matter[role], article.parent, f"{article.name}: front matter {role}"
        else:
            value, folder = getattr(config.music, role), config_folder
            where = f"{config.path or 'audiobook.toml'} [music] {role}"
        if value.strip().lower() not in NONE:
            sources[role] = read_source(role, value.strip(), folder, where)
    return sources


def configured_music(config: Config) -> list[Path]:
    """The music files audiobook.toml names that exist (`watch` re-renders when one is saved)."""
    folder = config.path.parent if config.path else Path.cwd()
    values = [getattr(config.music, role).strip() for role in MUSIC_ROLES]
    paths = [folder / Path(v).expanduser() for v in values if v.lower() not in NONE]
    return [p for p in paths if p.is_file()]


def plan_music(sources: dict[str, MusicSource], config: MusicConfig, settings: AudioSettings,
               previous_episode: EpisodeRecord | None, language: str, chapters: int) -> EpisodeMusic | None:
    """Check and prepare each piece (decode, trim, fade, master: a bad file fails here, before
    any synthesis), except those whose frames the previous episode holds: their bytes are the
    ones that were checked then (the key hashes them). A transition needs two chapters."""
    if chapters < 2:
        sources = {role: source for role, source in sources.items() if role != "transition"}
    if not sources:
        return None
    recorded = {r.content for r in previous_episode.music} if previous_episode else set()
    pieces = {}
    for role, source in sources.items():
        content = music_content(source, config.fade_ms, settings)
        pcm = None if content in recorded else prepare_music(source, config.fade_ms, settings)
        pieces[role] = MusicPiece(source, content, pcm)
    return EpisodeMusic(pieces, config.fade_ms, settings, text("intro", language))


@dataclass
class EncodedMusic:
    frames: list[bytes]
    info: bytes | None  # its own Info frame when encoded now (None when copied)
    padding: int  # its encoder's padding (what the file records when it ends the episode)
    lufs: float
    true_peak_dbtp: float
    encoded: bool  # by this render

    def part(self) -> Mp3Frames:
        return Mp3Frames(self.info, self.frames, LAME_DELAY + DECODER_DELAY, self.padding)


def music_frames(music: EpisodeMusic, previous_episode: EpisodeRecord | None,
                 folder: Path) -> dict[str, EncodedMusic]:
    """Each piece's frames: copied from the previous episode file where it holds them, intact;
    the others encoded (in one ffmpeg) and measured on their decoded frames."""
    out: dict[str, EncodedMusic] = {}
    previous_file = previous_episode.file if previous_episode else ""
    records = previous_episode.music if previous_episode else []
    for role, piece in music.pieces.items():
        record = next((r for r in records if r.content == piece.content), None)
        if record is not None and previous_file:
            copied = _copy(folder / previous_file, record)
            if copied is not None:
                out[role] = copied
    todo = [role for role in music.pieces if role not in out]
    if todo:
        out.update(_encode(music, todo))
    return out


def _copy(path: Path, record: MusicRecord) -> EncodedMusic | None:
    offset, length, count, sha = record.offset, record.bytes, record.frames, record.sha256
    lufs, peak, padding = float(record.lufs), float(record.true_peak_dbtp), record.padding
    data = read_audio_range(path, offset, length)
    if data is None or hashlib.sha256(data).hexdigest() != sha:
        return None
    frames = split_frames(data)
    if len(frames) != count or sum(map(len, frames)) != length:
        return None
    return EncodedMusic(frames, None, padding, lufs, peak, encoded=False)


def _encode(music: EpisodeMusic, roles: list[str]) -> dict[str, EncodedMusic]:
    pcms = []
    for role in roles:
        piece = music.pieces[role]
        if piece.pcm is None:  # its frames were expected from the previous episode, which lost them
            piece.pcm = prepare_music(piece.source, music.fade_ms, music.settings, check=True)
        pcms.append(piece.pcm)
    folder = Path(tempfile.mkdtemp(prefix="audiobook-music-"))
    try:
        paths = [folder / f"{role}.mp3" for role in roles]
        encode_mp3_files(pcms, MP3_RATE, music.settings.bitrate_kbps, paths)
        out = {}
        for role, path, decoded in zip(roles, paths, decode_files(paths), strict=True):
            read = read_frames(path)
            out[role] = EncodedMusic(read.frames, read.info, read.padding, round(integrated_lufs(decoded, MP3_RATE), 2),
                                     round(true_peak(decoded), 2), encoded=True)
            log.debug("%s music: %d frames, %.2f LUFS", role, len(read.frames), out[role].lufs)
        return out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def arrange(chapters: list[Mp3Frames], music: dict[str, EncodedMusic]) -> list[tuple[str, Mp3Frames]]:
    """The episode's parts in order, each with its role ("chapter" or a music role)."""
    parts: list[tuple[str, Mp3Frames]] = [("intro", music["intro"].part())] if "intro" in music else []
    for n, chapter in enumerate(chapters):
        if n and "transition" in music:
            parts.append(("transition", music["transition"].part()))
        parts.append(("chapter", chapter))
    if "outro" in music:
        parts.append(("outro", music["outro"].part()))
    return parts


def music_records(music: EpisodeMusic, encoded: dict[str, EncodedMusic], parts: list[tuple[str, Mp3Frames]],
                  starts: list[int]) -> list[MusicRecord]:
    """What render.json keeps of each music part of the episode, in order."""
    records: list[MusicRecord] = []
    offset = 0
    for (role, part), start in zip(parts, starts, strict=True):
        size = sum(map(len, part.frames))
        if role != "chapter":
            piece, made = music.pieces[role], encoded[role]
            records.append(MusicRecord(
                role=role, content=piece.content, source=str(piece.source.path),
                source_sha256=piece.source.sha256, offset=offset, bytes=size, frames=len(part.frames),
                sha256=hashlib.sha256(b"".join(part.frames)).hexdigest(), padding=made.padding,
                start_ms=round(start * 1000 / MP3_RATE),
                duration_ms=round(len(part.frames) * 1152 * 1000 / MP3_RATE),
                lufs=made.lufs, true_peak_dbtp=made.true_peak_dbtp, encoded=made.encoded,
            ))
        offset += size
    return records
