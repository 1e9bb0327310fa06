"""The show's own audio around the narration: an intro before the first chapter, an outro after
the last, a short transition between chapters.

A music file is decoded by the one ffmpeg seam (any format it reads: mp3, m4a, wav, ogg, flac;
no ffprobe) and handed to pydub as raw PCM. pydub does what it is made for: it trims the file's
leading and trailing silence and fades the music where it meets the voice. Then the music is
mastered like a chapter: one gain to the narration's loudness target by our BS.1770 meter, the
true-peak limiter under the ceiling (music is usually mastered far louder than speech: matching
it by peak would leave it several LU too loud). The narration is mastered to that same target,
so the two sit at one loudness without either depending on the other.

Each piece is encoded once, as its own part of the episode (render/music.py): an edit re-encodes
no music and a new outro re-encodes no chapter. A piece's `content` key hashes the file's bytes
(not its path), its role's fades and the mastering settings: the same key means the same frames.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from ..errors import AudioError, MusicError
from ..store.files import file_sha256
from .ffmpeg import MP3_RATE, decode_pcm, ffmpeg_exe
from .loudness import integrated_lufs, master

if TYPE_CHECKING:
    from pydub import AudioSegment

    from ..render.chapter_audio import AudioSettings

MUSIC_VERSION = 1  # bump when preparing music changes its samples
# The longest file accepted per role: an outro may be a whole song, a transition plays between
# every two chapters. Only this much (and a second) is decoded to tell.
MAX_SECONDS = {"intro": 300.0, "outro": 300.0, "transition": 60.0}
MIN_SOUND_S = 0.5  # sound left after trimming silence
QUIET_LUFS = -60.0  # below this a file is silent for our purpose: matching it would raise its noise 40 dB
TRIM_BELOW_PEAK_DB = 50.0  # leading/trailing audio this far under the file's peak is silence to trim
DECLICK_MS = 10  # every edge gets at least this fade: a file cut mid-waveform would click
FORMATS = "mp3, m4a, wav, ogg or flac"


@dataclass(frozen=True)
class MusicSource:
    """A music file as the user named it, and the hash of its bytes (what the key is made of)."""

    role: str  # intro | outro | transition
    path: Path
    where: str  # where it was named, for messages: "audiobook.toml [music] intro = 'jingle.m4a'"
    sha256: str

    def error(self, problem: str) -> MusicError:
        return MusicError(f"{self.where}: {self.path.name} is {problem}")


def read_source(role: str, value: str, folder: Path, where: str) -> MusicSource:
    """Read the music file `value` names (relative to `folder`, where the setting lives): a
    missing, unreadable or empty one is a one-line MusicError."""
    given = Path(value).expanduser()
    path = given if given.is_absolute() else folder / given
    where = f"{where} = {value!r}"
    try:
        sha256, size = file_sha256(path), path.stat().st_size
    except FileNotFoundError:
        raise MusicError(f"{where}: no file {path}; check the path (relative to {folder})") from None
    except IsADirectoryError:
        raise MusicError(f"{where}: {path} is a folder; name an audio file ({FORMATS})") from None
    except OSError as exc:
        raise MusicError(f"{where}: can't read {path} ({exc.strerror or exc}); check its permissions") from None
    if not size:
        raise MusicError(f"{where}: {path} is empty; give an audio file ({FORMATS})")
    return MusicSource(role, path, where, sha256)


def fades_ms(role: str, fade_ms: int) -> tuple[int, int]:
    """(fade in, fade out) for a role: the fade goes where music meets the voice."""
    fade_in = fade_ms if role in ("outro", "transition") else DECLICK_MS
    fade_out = fade_ms if role in ("intro", "transition") else DECLICK_MS
    return max(fade_in, DECLICK_MS), max(fade_out, DECLICK_MS)


def music_content(source: MusicSource, fade_ms: int, settings: AudioSettings) -> str:
    """The key of a piece's encoded frames: everything that shapes them, the file by content."""
    shape = {"v": MUSIC_VERSION, "file": source.sha256, "role": source.role, "fades": fades_ms(source.role, fade_ms),
             "settings": asdict(settings), "rate": MP3_RATE, "trim_db": TRIM_BELOW_PEAK_DB}
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()


def _pydub() -> type[AudioSegment]:
    """pydub's AudioSegment, pointed at our ffmpeg. pydub looks for ffmpeg on PATH at import and
    warns when it is absent (ours is imageio-ffmpeg's, set right after), imports the deprecated
    audioop and has regex escapes Python warns about: none of that concerns us."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydub import AudioSegment
    AudioSegment.converter = ffmpeg_exe()  # never ffprobe: we hand pydub raw PCM, decoded by ffmpeg.py
    return cast("type[Any]", AudioSegment)


def _silence_ms(segment: AudioSegment, threshold_dbfs: float) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pydub.silence import detect_leading_silence
    return int(detect_leading_silence(segment, silence_threshold=threshold_dbfs, chunk_size=5))


def shape_music(pcm: np.ndarray, source: MusicSource, fade_ms: int) -> np.ndarray:
    """Trim the file's leading and trailing silence and fade it (pydub); int16 mono PCM."""
    AudioSegment = _pydub()
    raw = io.BytesIO(np.ascontiguousarray(pcm, dtype="<i2").tobytes())  # pydub reads raw PCM itself
    segment = AudioSegment.from_file(raw, format="raw", sample_width=2, frame_rate=MP3_RATE, channels=1)
    threshold = segment.max_dBFS - TRIM_BELOW_PEAK_DB
    start = _silence_ms(segment, threshold)
    end = len(segment) - _silence_ms(segment.reverse(), threshold)
    sound = segment[start:end]
    if len(sound) < MIN_SOUND_S * 1000:
        raise source.error(f"only {len(sound) / 1000:.2f} s of sound; give at least {MIN_SOUND_S:g} s of music")
    fade_in, fade_out = fades_ms(source.role, fade_ms)
    third = len(sound) // 3  # a short sting keeps its middle: no fade takes more than a third of it
    sound = sound.fade_in(min(fade_in, third)).fade_out(min(fade_out, third))
    return np.frombuffer(sound.raw_data, dtype="<i2").astype(np.int16)


def decode_music(source: MusicSource) -> np.ndarray:
    """The file's audio, mono at the work rate; too long or not audio is a MusicError."""
    limit = MAX_SECONDS[source.role]
    try:
        pcm = decode_pcm(source.path, MP3_RATE, max_seconds=limit + 1)
    except AudioError as exc:
        raise source.error(f"not audio ffmpeg can decode ({exc}); give an {FORMATS} file") from None
    if len(pcm) > limit * MP3_RATE:
        raise source.error(f"longer than {_duration(limit)}, the longest {source.role} allowed; trim it or "
                           "choose a shorter piece")
    if len(pcm) == 0:
        raise source.error(f"without audio samples; give an {FORMATS} file")
    return pcm


def prepare_music(source: MusicSource, fade_ms: int, settings: AudioSettings, check: bool = False) -> np.ndarray:
    """A music file as it plays in the episode: decoded, trimmed, faded, at the loudness target
    with its true peak under the ceiling once encoded; int16 mono PCM at the work rate. With
    `check`, the file must still be what it was when `source` was read (its key says so)."""
    if check and _digest_or_none(source.path) != source.sha256:
        raise source.error("changed or gone since this render started; render again")
    decoded = decode_music(source)
    if not decoded.any():
        raise source.error("silent; give a file with the music in it")
    lufs = integrated_lufs(decoded, MP3_RATE)
    if not math.isfinite(lufs) or lufs < QUIET_LUFS:  # matching it would raise its noise with it
        level = "no measurable loudness" if not math.isfinite(lufs) else f"{lufs:.0f} LUFS"
        raise source.error(f"nearly silent ({level}); give a file with the music in it at a normal level")
    shaped = shape_music(decoded, source, fade_ms)
    mastered, _ = master(shaped, MP3_RATE, settings.loudness_lufs, settings.true_peak_dbtp, settings.bitrate_kbps)
    return mastered


def _digest_or_none(path: Path) -> str | None:
    try:
        return file_sha256(path)
    except OSError:
        return None


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:g} s"
    minutes = seconds / 60
    return f"{minutes:g} minute" + ("" if minutes == 1 else "s")
