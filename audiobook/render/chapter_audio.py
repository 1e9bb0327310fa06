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
import math
import shutil
import tempfile
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.assemble import Layout, Piece, assemble_chapter, layout
from ..audio.blocks import (
    LAME_DELAY,
    BlockLoudness,
    aligned_length,
    block_energies,
    chapter_loudness,
    fit,
    frames_digest,
    frames_for,
    measure_block,
    plan_blocks,
    recall_loudness,
    remember_loudness,
)
from ..audio.ffmpeg import MP3_RATE as WORK_RATE
from ..audio.ffmpeg import decode_files, encode_mp3_files, mp3_encoder_gain_db
from ..audio.loudness import gated_loudness, master, master_blocks
from ..audio.mp3join import SAMPLES_PER_FRAME, read_frames, write_frames
from ..errors import AudioError, SegmentsLost
from ..models import Chapter, Synthesis
from ..publish.wordcues import word_cues
from ..store.manifest import BlockRecord, ChapterRecord, Cue
from ..store.segments import SegmentCache

GAIN_KEPT_LU = 0.3  # a rebuilt chapter keeps its gain while it measures this close to the target
ASSEMBLY_VERSION = 5  # bump when assembly, mastering, the block plan or its alignment changes the audio


@dataclass(frozen=True)
class AudioSettings:
    loudness_lufs: float = -19.0
    true_peak_dbtp: float = -1.0
    bitrate_kbps: int = 64

    def digest(self) -> str:
        """Everything besides the blocks' own content that shapes their audio."""
        return digest({"v": ASSEMBLY_VERSION, "settings": asdict(self), "rate": WORK_RATE})


@dataclass
class ChapterAudio:
    gain_db: float
    blocks: list[BlockRecord]
    samples: int  # the chapter file's decoded length
    cues: list[Cue]  # per sentence
    captions: list[Cue]  # per caption cue
    loudness: Future[tuple[float, float]]  # (integrated LUFS, true peak dBTP) of the file
    encoded: int  # blocks encoded (the rest were copied)


def digest(obj: Any) -> str:
    """sha256 of a JSON value (keys sorted): the fingerprints in render.json."""
    return hashlib.sha256(json.dumps(obj, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


@dataclass
class _Plan:
    chapter: Chapter
    syntheses: list[Synthesis]
    pieces: list[Piece]
    ranges: list[range]
    contents: list[str]
    layouts: list[Layout]
    lengths: list[int]  # each block's PCM length as encoded: inner blocks aligned to the frames


def _plan(chapter: Chapter, cache: SegmentCache) -> _Plan:
    syntheses = []
    lost = []
    keys = chapter.keys
    for sentence in chapter.sentences:
        synthesis = cache.get(sentence.key)  # checked: a corrupt entry is removed and reads as missing
        if synthesis is None:
            lost.append(sentence.text)
        else:
            syntheses.append(synthesis)
    if lost:
        raise SegmentsLost(f"{len(lost)} cached sentence(s) of chapter {chapter.index} were corrupt or gone "
                           f"(first: {lost[0][:30]!r})")
    pieces = [Piece(s.samples, s.sample_rate, sentence.pause_after_ms)
              for s, sentence in zip(syntheses, chapter.sentences, strict=True)]
    ranges = plan_blocks(chapter.sentences, [len(s.samples) / s.sample_rate for s in syntheses])
    contents = [digest({"keys": keys[r.start:r.stop], "pauses": [p.pause_after_ms for p in pieces[r.start:r.stop]],
                         "last": r.stop == len(pieces)}) for r in ranges]
    layouts = [layout(pieces[r.start:r.stop]) for r in ranges]
    lengths = [aligned_length(block.samples) for block in layouts[:-1]] + [block.samples for block in layouts[-1:]]
    return _Plan(chapter, syntheses, pieces, ranges, contents, layouts, lengths)


def build_chapter_audio(chapter: Chapter, cache: SegmentCache, mastering: AudioSettings,
                        previous: ChapterRecord | None, previous_file: Path | None, out: Path,
                        measurer: Executor) -> ChapterAudio:
    """Write the chapter's frames to `out` (an MP3 with no tags yet). `previous` is the chapter's
    record in the last render.json and `previous_file` its intact file, if any."""
    plan = _plan(chapter, cache)
    with ThreadPoolExecutor(1, thread_name_prefix="cues") as side:
        cues = _Cues(plan, side)
        if previous and previous_file and previous.mastering == mastering.digest():
            rebuilt = _rebuild_changed(plan, previous, previous_file, mastering, out, measurer, cues)
            if rebuilt is not None:
                return rebuilt
        return _build_all(plan, mastering, out, measurer, cues)


class _Cues:
    """The chapter's sentence and caption cues, laid out on a side thread. Where each block lands
    follows from its length alone (frames_for), so they need no encoding; but they are pure
    Python, so the builder starts them where it waits on numpy or ffmpeg, not where its own
    Python would wait for the GIL."""

    def __init__(self, plan: _Plan, side: Executor) -> None:
        self._plan, self._side = plan, side
        self._future: Future[tuple[list[Cue], list[Cue]]] | None = None

    def start(self) -> None:
        if self._future is None:
            self._future = self._side.submit(_cues, self._plan, [frames_for(n) for n in self._plan.lengths])

    def result(self) -> tuple[list[Cue], list[Cue]]:
        self.start()
        assert self._future is not None
        return self._future.result()


def _cues(plan: _Plan, frames: list[int]) -> tuple[list[Cue], list[Cue]]:
    """Sentence cues and caption cues in the chapter file's time: each block starts on its first frame."""
    cues: list[Cue] = []
    captions: list[Cue] = []
    start = 0
    for block, plan_layout, count in zip(plan.ranges, plan.layouts, frames, strict=True):
        offset = 1000.0 * start / WORK_RATE
        for i, span, origin in zip(block, plan_layout.spans_ms, plan_layout.origins_ms, strict=True):
            sentence, synthesis = plan.chapter.sentences[i], plan.syntheses[i]
            cues.append((round(offset + span[0]), round(offset + span[1]), sentence.text))
            captions += [(c.start_ms, c.end_ms, c.text)
                         for c in word_cues(sentence.text, sentence.spoken, synthesis.boundaries, offset + origin,
                                            (offset + span[0], offset + span[1]))]
        start += count * SAMPLES_PER_FRAME
    return cues, captions


def _finish(plan: _Plan, gain_db: float, frames: list[list[bytes]], info: bytes, out: Path,
            loudness: Future[tuple[float, float]], encoded: int, cues: _Cues) -> ChapterAudio:
    counts = [len(block) for block in frames]
    expected = [frames_for(n) for n in plan.lengths]
    if counts != expected:  # frames_for was measured on the bundled LAME
        raise AudioError(f"the MP3 encoder wrote {counts} frames for blocks expected to take {expected}: an "
                         "ffmpeg other than the bundled one? Reinstall with `uv sync`")
    last = plan.lengths[-1]
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


def _footprint(plan: _Plan, i: int, frames: int) -> int:
    """The samples block i takes in the chapter: all its frames' (its audio, then the codec's
    delay and padding: silence), except the last block, which ends the file with its audio."""
    return plan.lengths[i] if i == len(plan.ranges) - 1 else frames * SAMPLES_PER_FRAME


def _encode_and_measure(plan: _Plan, todo: list[int], pcms: list[np.ndarray], mastering: AudioSettings,
                        readings: list[BlockLoudness | None],
                        measurer: Executor) -> tuple[list[list[bytes]], bytes, Future[tuple[float, float]]]:
    """Encode blocks `todo` (their PCMs), and measure them on the measurer's threads: the
    chapter's loudness, pending, gates them with the other blocks' `readings`. Each reading is
    remembered under its frames' hash."""
    folder = Path(tempfile.mkdtemp(prefix="audiobook-blocks-"))
    try:
        paths, fresh, info = _encode(pcms, mastering, folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise

    def measure() -> tuple[float, float]:
        try:
            for i, decoded, block in zip(todo, decode_files(paths), fresh, strict=True):
                reading = readings[i] = measure_block(decoded, _footprint(plan, i, len(block)))
                remember_loudness(frames_digest(block), reading)
            return chapter_loudness([r for r in readings if r is not None])
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return fresh, info, measurer.submit(measure)


def _build_all(plan: _Plan, mastering: AudioSettings, out: Path, measurer: Executor, cues: _Cues) -> ChapterAudio:
    cues.start()  # beside the mastering
    assembled = assemble_chapter(plan.pieces)
    blocks, stats = master_blocks(assembled.samples, WORK_RATE, [plan_layout.samples for plan_layout in plan.layouts],
                                  mastering.loudness_lufs, mastering.true_peak_dbtp, mastering.bitrate_kbps)
    pcms = [fit(pcm, length) for pcm, length in zip(blocks, plan.lengths, strict=True)]
    todo = list(range(len(pcms)))
    frames, info, loudness = _encode_and_measure(plan, todo, pcms, mastering, [None] * len(pcms), measurer)
    return _finish(plan, stats.gain_db, frames, info, out, loudness, len(pcms), cues)


def _rebuild_changed(plan: _Plan, previous: ChapterRecord, previous_file: Path, mastering: AudioSettings,
                     out: Path, measurer: Executor, cues: _Cues) -> ChapterAudio | None:
    """Copy the frames of unchanged blocks from the previous file, master the others with the
    previous gain; None when that can't give a chapter within GAIN_KEPT_LU of the target.

    The decision is made before encoding, from the new blocks' PCM (their loudness as the
    encoder will play it, off by a few hundredths of an LU at most); the encoded blocks are
    measured afterwards, beside the rest of the render, for what render.json reports."""
    gain_db, recorded = previous.gain_db, previous.blocks
    if math.isnan(gain_db):  # a record from before gains were kept
        return None
    old = read_frames(previous_file)
    if old.info is None:
        return None
    by_content: dict[str, list[bytes]] = {}
    position = 0
    for record in recorded:
        by_content[record.content] = old.frames[position:position + record.frames]
        position += record.frames
    if position != len(old.frames):
        return None  # the record does not describe this file
    lengths = plan.lengths
    # a block is reused when its content is the same and its frames are as many as it needs
    # (a record from other code, or one that does not match its file, is not trusted)
    frames: list[list[bytes] | None] = [found if found is not None and len(found) == frames_for(n) else None
                                        for found, n in zip(map(by_content.get, plan.contents), lengths,
                                                            strict=True)]
    if all(f is None for f in frames):
        return None  # nothing to keep: build it whole, with a gain of its own
    readings = [recall_loudness(frames_digest(f)) if f is not None else None for f in frames]
    # A block to reuse whose reading was forgotten (a pruned memo) is mastered and encoded again:
    # with the same gain it comes out the same.
    todo = [i for i, known in enumerate(readings) if known is None]
    pcms = []
    for i in todo:
        r = plan.ranges[i]
        assembled = assemble_chapter(plan.pieces[r.start:r.stop])
        pcm, _ = master(assembled.samples, WORK_RATE, mastering.loudness_lufs, mastering.true_peak_dbtp,
                        mastering.bitrate_kbps, gain_db=float(gain_db))
        pcms.append(fit(pcm, lengths[i]))
    codec_gain = 10 ** (mp3_encoder_gain_db(mastering.bitrate_kbps) / 10)
    expected = [block_energies(pcm, _footprint(plan, i, frames_for(len(pcm)))) * codec_gain
                for i, pcm in zip(todo, pcms, strict=True)]
    lufs = gated_loudness(np.concatenate([*(r.energies for r in readings if r is not None), *expected]))
    if abs(lufs - mastering.loudness_lufs) > GAIN_KEPT_LU:
        return None
    info, loudness = old.info, None
    cues.start()  # beside the encoding
    if todo:
        fresh, info, loudness = _encode_and_measure(plan, todo, pcms, mastering, readings, measurer)
        for i, block in zip(todo, fresh, strict=True):
            frames[i] = block
    if loudness is None:  # nothing encoded: every reading is known
        loudness = Future()
        loudness.set_result(chapter_loudness([r for r in readings if r is not None]))
    return _finish(plan, float(gain_db), [f for f in frames if f is not None], info, out, loudness, len(todo), cues)
