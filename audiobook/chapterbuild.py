"""One chapter's audio file, built from blocks (audio/blocks.py), and its cues.

A chapter built from scratch is assembled and mastered whole (one make-up gain: its loudness is
the chapter's), then cut into blocks that are encoded side by side in one ffmpeg and joined.

A chapter rebuilt after an edit keeps the gain it was mastered with: its unchanged blocks would
master to the same PCM (the limiter is local, blocks meet in silence), so their frames are
copied from the previous file; only new blocks are assembled, mastered with that gain, encoded
and measured. That holds while the chapter still measures within GAIN_KEPT_LU of the target;
past that (a large edit), or when nothing can be reused, the chapter is built from scratch.
So a re-rendered chapter can differ from a from-scratch render of the same text by at most that
much loudness; the other settings are all part of what must match for a block to be reused.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .audio.assemble import Layout, Piece, assemble_chapter, layout
from .audio.blocks import (
    LAME_DELAY,
    BlockLoudness,
    aligned_length,
    chapter_loudness,
    fit,
    frames_digest,
    frames_for,
    measure_block,
    plan_blocks,
    recall_loudness,
    remember_loudness,
)
from .audio.ffmpeg import MP3_RATE as WORK_RATE
from .audio.ffmpeg import decode_files, encode_mp3_files
from .audio.loudness import master, master_blocks
from .audio.mp3join import SAMPLES_PER_FRAME, read_frames, write_frames
from .cache import SegmentCache
from .errors import AudioError
from .models import Chapter
from .publish.wordcues import word_cues
from .tts.base import Synthesis

GAIN_KEPT_LU = 0.3  # a rebuilt chapter keeps its gain while it measures this close to the target
ASSEMBLY_VERSION = 5  # bump when assembly, mastering, the block plan or its alignment changes the audio


@dataclass(frozen=True)
class AudioSettings:
    loudness_lufs: float = -19.0
    true_peak_dbtp: float = -1.0
    bitrate_kbps: int = 64

    def digest(self) -> str:
        """Everything besides the blocks' own content that shapes their audio."""
        return _digest({"v": ASSEMBLY_VERSION, "settings": asdict(self), "rate": WORK_RATE})


@dataclass
class BlockRecord:
    """What render.json keeps of a block: enough to find its frames in the chapter file."""

    content: str  # its segment keys and pauses, and whether it ends the chapter
    sentences: int
    frames: int


@dataclass
class ChapterAudio:
    gain_db: float
    blocks: list[BlockRecord]
    samples: int  # the chapter file's decoded length
    cues: list[list[Any]]  # [start_ms, end_ms, text] per sentence
    captions: list[list[Any]]  # [start_ms, end_ms, text] per caption cue
    loudness: Future[tuple[float, float]]  # (integrated LUFS, true peak dBTP) of the file
    encoded: int  # blocks encoded (the rest were copied)


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


@dataclass
class _Plan:
    chapter: Chapter
    syntheses: list[Synthesis]
    pieces: list[Piece]
    ranges: list[range]
    contents: list[str]
    layouts: list[Layout]

    def lengths(self) -> list[int]:
        """Each block's PCM length as encoded: inner blocks aligned to the frames."""
        last = len(self.ranges) - 1
        return [plan.samples if i == last else aligned_length(plan.samples) for i, plan in enumerate(self.layouts)]


def _plan(chapter: Chapter, keys: list[str], cache: SegmentCache) -> _Plan:
    syntheses = []
    for sentence, key in zip(chapter.sentences, keys, strict=True):
        synthesis = cache.get(key)
        if synthesis is None:
            raise AudioError(f"segment for {sentence.text[:30]!r} is missing from the cache; render again")
        syntheses.append(synthesis)
    pieces = [Piece(s.samples, s.sample_rate, sentence.pause_after_ms)
              for s, sentence in zip(syntheses, chapter.sentences, strict=True)]
    ranges = plan_blocks(chapter.sentences, [len(s.samples) / s.sample_rate for s in syntheses])
    contents = [_digest({"keys": keys[r.start:r.stop], "pauses": [p.pause_after_ms for p in pieces[r.start:r.stop]],
                         "last": r.stop == len(pieces)}) for r in ranges]
    return _Plan(chapter, syntheses, pieces, ranges, contents, [layout(pieces[r.start:r.stop]) for r in ranges])


def build_chapter_audio(chapter: Chapter, keys: list[str], cache: SegmentCache, mastering: AudioSettings,
                        previous: dict[str, Any] | None, previous_file: Path | None, out: Path,
                        measurer: Executor) -> ChapterAudio:
    """Write the chapter's frames to `out` (an MP3 with no tags yet). `previous` is the chapter's
    record in the last render.json and `previous_file` its intact file, if any."""
    plan = _plan(chapter, keys, cache)
    # Where each block lands follows from its length alone (frames_for), so the cues, pure
    # Python, are laid out beside the mastering and encoding (numpy and ffmpeg).
    with ThreadPoolExecutor(1, thread_name_prefix="cues") as side:
        cues = side.submit(_cues, plan, [frames_for(n) for n in plan.lengths()])
        if previous and previous_file and previous.get("mastering") == mastering.digest():
            rebuilt = _rebuild_changed(plan, previous, previous_file, mastering, out, cues)
            if rebuilt is not None:
                return rebuilt
        return _build_all(plan, mastering, out, measurer, cues)


Cues = Future[tuple[list[list[Any]], list[list[Any]]]]


def _cues(plan: _Plan, frames: list[int]) -> tuple[list[list[Any]], list[list[Any]]]:
    """Sentence cues and caption cues in the chapter file's time: each block starts on its first frame."""
    cues: list[list[Any]] = []
    captions: list[list[Any]] = []
    start = 0
    for block, plan_layout, count in zip(plan.ranges, plan.layouts, frames, strict=True):
        offset = 1000.0 * start / WORK_RATE
        for i, span, origin in zip(block, plan_layout.spans_ms, plan_layout.origins_ms, strict=True):
            sentence, synthesis = plan.chapter.sentences[i], plan.syntheses[i]
            cues.append([round(offset + span[0]), round(offset + span[1]), sentence.text])
            captions += [[c.start_ms, c.end_ms, c.text]
                         for c in word_cues(sentence.text, sentence.spoken, synthesis.boundaries, offset + origin,
                                            (offset + span[0], offset + span[1]))]
        start += count * SAMPLES_PER_FRAME
    return cues, captions


def _finish(plan: _Plan, gain_db: float, frames: list[list[bytes]], info: bytes, out: Path,
            loudness: Future[tuple[float, float]], encoded: int, cues: Cues) -> ChapterAudio:
    counts = [len(block) for block in frames]
    if counts != [frames_for(n) for n in plan.lengths()]:  # the encoder is not the one frames_for was made for
        raise AudioError(f"the MP3 encoder wrote {counts} frames for blocks expected to take "
                         f"{[frames_for(n) for n in plan.lengths()]}; this ffmpeg is not supported")
    last = plan.lengths()[-1]
    padding = counts[-1] * SAMPLES_PER_FRAME - LAME_DELAY - last  # the last block's, as its encoder wrote it
    write_frames(info, [f for block in frames for f in block], out, LAME_DELAY, padding)
    records = [BlockRecord(content, len(r), n)
               for content, r, n in zip(plan.contents, plan.ranges, counts, strict=True)]
    sentence_cues, captions = cues.result()
    return ChapterAudio(gain_db, records, sum(counts[:-1]) * SAMPLES_PER_FRAME + last, sentence_cues, captions,
                        loudness, encoded)


def _encode(pcms: list[np.ndarray], mastering: AudioSettings,
            folder: Path) -> tuple[list[Path], list[list[bytes]], bytes]:
    """Encode blocks into `folder`: their files, their audio frames and an Info frame."""
    paths = [folder / f"block{i}.mp3" for i in range(len(pcms))]
    encode_mp3_files(pcms, WORK_RATE, mastering.bitrate_kbps, paths)
    read = [read_frames(path) for path in paths]
    info = read[0].info
    if info is None:
        raise AudioError("ffmpeg wrote a block with no Info header")  # a bug, not input
    return paths, [r.frames for r in read], info


def _measure(paths: list[Path], frames: list[list[bytes]], ends_chapter: bool) -> list[BlockLoudness]:
    """Measure freshly encoded blocks and remember each under its frames' hash. A block takes all
    its frames' samples in the chapter (its audio, then the codec's delay and padding: silence),
    except the block that ends the chapter (ends_chapter: the last here), which takes its audio."""
    measured = []
    for i, (decoded, block) in enumerate(zip(decode_files(paths), frames, strict=True)):
        last = ends_chapter and i == len(paths) - 1
        loudness = measure_block(decoded, len(decoded) if last else len(block) * SAMPLES_PER_FRAME)
        remember_loudness(frames_digest(block), loudness)
        measured.append(loudness)
    return measured


def _build_all(plan: _Plan, mastering: AudioSettings, out: Path, measurer: Executor, cues: Cues) -> ChapterAudio:
    assembled = assemble_chapter(plan.pieces)
    blocks, stats = master_blocks(assembled.samples, WORK_RATE, [plan_layout.samples for plan_layout in plan.layouts],
                                  mastering.loudness_lufs, mastering.true_peak_dbtp, mastering.bitrate_kbps)
    pcms = [fit(pcm, length) for pcm, length in zip(blocks, plan.lengths(), strict=True)]
    folder = Path(tempfile.mkdtemp(prefix="audiobook-blocks-"))
    try:
        paths, frames, info = _encode(pcms, mastering, folder)
    except BaseException:
        _remove(folder)
        raise

    def measure() -> tuple[float, float]:
        try:
            return chapter_loudness(_measure(paths, frames, ends_chapter=True))
        finally:
            _remove(folder)

    return _finish(plan, stats.gain_db, frames, info, out, measurer.submit(measure), len(pcms), cues)


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _rebuild_changed(plan: _Plan, previous: dict[str, Any], previous_file: Path, mastering: AudioSettings,
                     out: Path, cues: Cues) -> ChapterAudio | None:
    """Copy the frames of unchanged blocks from the previous file, master the others with the
    previous gain; None when that can't give a chapter within GAIN_KEPT_LU of the target."""
    gain_db, recorded = previous.get("gain_db"), previous.get("blocks")
    if not isinstance(gain_db, (int, float)) or not isinstance(recorded, list):
        return None
    old = read_frames(previous_file)
    if old.info is None:
        return None
    by_content: dict[str, list[bytes]] = {}
    position = 0
    for block in recorded:
        by_content[block["content"]] = old.frames[position:position + block["frames"]]
        position += block["frames"]
    if position != len(old.frames):
        return None  # the record does not describe this file
    lengths = plan.lengths()
    # a block is reused when its content is the same and its frames are as many as it needs
    # (a record from other code, or one that does not match its file, is not trusted)
    frames: list[list[bytes] | None] = [found if found is not None and len(found) == frames_for(n) else None
                                        for found, n in zip(map(by_content.get, plan.contents), lengths,
                                                            strict=True)]
    loudness = [recall_loudness(frames_digest(f)) if f is not None else None for f in frames]
    if all(f is None for f in frames):
        return None  # nothing to keep: build it whole, with a gain of its own
    # A block to reuse whose reading was forgotten (a pruned memo) is mastered and encoded again:
    # with the same gain it comes out the same.
    todo = [i for i, known in enumerate(loudness) if known is None]
    pcms = []
    for i in todo:
        r = plan.ranges[i]
        assembled = assemble_chapter(plan.pieces[r.start:r.stop])
        pcm, _ = master(assembled.samples, WORK_RATE, mastering.loudness_lufs, mastering.true_peak_dbtp,
                        mastering.bitrate_kbps, gain_db=float(gain_db))
        pcms.append(fit(pcm, lengths[i]))
    info = old.info
    with tempfile.TemporaryDirectory(prefix="audiobook-blocks-") as tmp:
        if todo:
            paths, fresh, info = _encode(pcms, mastering, Path(tmp))
            measured = _measure(paths, fresh, ends_chapter=todo[-1] == len(plan.ranges) - 1)
            for i, block, known in zip(todo, fresh, measured, strict=True):
                frames[i], loudness[i] = block, known
    lufs, peak = chapter_loudness([known for known in loudness if known is not None])
    if abs(lufs - mastering.loudness_lufs) > GAIN_KEPT_LU:
        return None
    done: Future[tuple[float, float]] = Future()
    done.set_result((lufs, peak))
    return _finish(plan, float(gain_db), [f for f in frames if f is not None], info, out, done, len(todo), cues)

