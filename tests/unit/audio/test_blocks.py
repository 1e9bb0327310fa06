"""Chapters built in blocks (audio/blocks.py, render/chapter_audio.py): the block plan, the frame
arithmetic checked against the real encoder, and a chapter rebuilt after an edit, checked on the
decoded files: unchanged blocks keep their frames, pauses keep their length, cues follow the
audio, loudness stays on target (or the chapter is mastered anew)."""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from audiobook.audio.assemble import Piece, assemble_chapter
from audiobook.audio.blocks import (
    LONG_BLOCK_S,
    MIN_BLOCK_S,
    aligned_length,
    fit,
    frames_for,
    measure_block,
    plan_blocks,
)
from audiobook.audio.ffmpeg import (
    MP3_RATE,
    decode_files,
    decode_pcm,
    ebur128,
    encode_mp3_file,
    encode_mp3_files,
    mp3_encoder_gain_db,
)
from audiobook.audio.loudness import gated_loudness, master, master_blocks
from audiobook.audio.mp3join import SAMPLES_PER_FRAME, read_frames
from audiobook.errors import AudioError
from audiobook.models import Boundary, Chapter, Sentence, Synthesis
from audiobook.render.chapter_audio import GAIN_KEPT_LU, AudioSettings, ChapterAudio, build_chapter_audio
from audiobook.store.manifest import ChapterRecord
from audiobook.store.memo import memo_root
from audiobook.store.segments import SegmentCache
from tests.support.speech import utterance

RATE = 24000
SETTINGS = AudioSettings()


def sentences(pauses: list[int], paragraphs: list[int]) -> list[Sentence]:
    return [Sentence(f"第{i}句。", f"第{i}句。", pause, paragraph=p)
            for i, (pause, p) in enumerate(zip(pauses, paragraphs, strict=True))]


# ------------------------------------------------------------------------------- the block plan


def test_blocks_end_at_paragraph_ends_once_long_enough() -> None:
    # paragraphs of 3 × 4 s: the first paragraph end after MIN_BLOCK_S closes a block
    s = sentences([350, 350, 700] * 3, [0, 0, 0, 1, 1, 1, 2, 2, 2])
    assert MIN_BLOCK_S <= 3 * 4.0 + 1.4 < LONG_BLOCK_S
    assert plan_blocks(s, [4.0] * 9) == [range(0, 3), range(3, 6), range(6, 9)]
    # short paragraphs join the next ones until the block is long enough
    assert plan_blocks(s, [1.0] * 9) == [range(0, 9)]
    assert plan_blocks(s, [2.0] * 9) == [range(0, 6), range(6, 9)]


def test_long_paragraphs_split_at_sentence_pauses_only() -> None:
    s = sentences([350, 250, 350, 250, 350, 250, 700], [0] * 7)
    blocks = plan_blocks(s, [8.0] * 7)
    assert blocks == [range(0, 3), range(3, 7)]  # after 3 × 8 s ≥ LONG_BLOCK_S, at a 350 ms pause
    # a pause too short to meet in (clause pauses, or a profile with tiny pauses) never splits
    assert plan_blocks(sentences([250] * 7, [0] * 7), [8.0] * 7) == [range(0, 7)]


def test_an_edit_moves_boundaries_only_up_to_its_paragraph_end() -> None:
    s = sentences([350, 350, 700] * 4, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    seconds = [4.0] * 12
    before = plan_blocks(s, seconds)
    seconds[1] = 9.0  # one sentence of the first paragraph got longer
    assert plan_blocks(s, seconds)[1:] == before[1:]


# ----------------------------------------------------------------------- frames, checked on LAME


@pytest.mark.parametrize("samples", [1, 1151, 1152, 1153, 44100, 40 * 1152 - 1152, 40 * 1152 - 1151, 40 * 1152])
def test_frames_for_matches_the_encoder(samples: int, tmp_path: Path) -> None:
    pcm = (np.random.default_rng(samples).standard_normal(samples) * 3000).astype(np.int16)
    encode_mp3_file([pcm], MP3_RATE, 64, tmp_path / "a.mp3")
    assert len(read_frames(tmp_path / "a.mp3").frames) == frames_for(samples)


@pytest.mark.parametrize("samples", [20000, 44100, 44100 + 576, 44100 + 577, 300_000])
def test_aligned_length_keeps_a_blocks_footprint_within_half_a_frame(samples: int) -> None:
    length = aligned_length(samples)
    footprint = frames_for(length) * SAMPLES_PER_FRAME
    assert abs(footprint - samples) <= SAMPLES_PER_FRAME // 2
    assert 576 <= samples - length <= 1728  # what is cut from the block's final pause


def test_fit_cuts_only_silence() -> None:
    pcm = np.concatenate([np.ones(100, np.int16), np.zeros(50, np.int16)])
    assert len(fit(pcm, 120)) == 120 and len(fit(pcm, 200)) == 200 and not fit(pcm, 200)[150:].any()
    with pytest.raises(AudioError):
        fit(pcm, 90)


def test_encoding_several_files_at_once_is_encoding_each(tmp_path: Path) -> None:
    pcms = [(utterance(d, MP3_RATE, seed=d) // 2) for d in (1, 2, 3)]
    encode_mp3_files(pcms, MP3_RATE, 64, [tmp_path / f"{i}.mp3" for i in range(3)])
    for i, pcm in enumerate(pcms):
        encode_mp3_file([pcm], MP3_RATE, 64, tmp_path / "one.mp3")
        assert (tmp_path / f"{i}.mp3").read_bytes() == (tmp_path / "one.mp3").read_bytes()
    decoded = decode_files([tmp_path / f"{i}.mp3" for i in range(3)])
    assert all((d == decode_pcm(tmp_path / f"{i}.mp3", MP3_RATE)).all() for i, d in enumerate(decoded))
    assert [len(d) for d in decoded] == [len(p) for p in pcms]


def test_a_block_mastered_with_the_chapters_gain_is_that_block_of_the_chapter() -> None:
    pieces = [Piece(utterance(3.0, RATE, seed=i), RATE, 700) for i in range(6)]
    head, tail = assemble_chapter(pieces[:3]).samples, assemble_chapter(pieces[3:]).samples
    (first, second), stats = master_blocks(assemble_chapter(pieces).samples, MP3_RATE, [len(head), len(tail)])
    assert stats.limited_pct > 0  # the limiter was at work (speech-like peaks, +6 dB of gain)
    alone, _ = master(tail, MP3_RATE, gain_db=stats.gain_db)
    assert (alone == second).all()
    assert (master(head, MP3_RATE, gain_db=stats.gain_db)[0] == first).all()


# ------------------------------------------------------------------------ a chapter, then an edit

PARAGRAPHS = 3
PER_PARAGRAPH = 4


def make_chapter(cache: SegmentCache, seeds: dict[int, int] | None = None,
                 scale: dict[int, float] | None = None) -> tuple[Chapter, list[str]]:
    """Three paragraphs of four ~3.5 s sentences: three blocks. `seeds` gives some sentences other
    audio (an edit), `scale` makes some quieter."""
    chapter_sentences, keys = [], []
    for i in range(PARAGRAPHS * PER_PARAGRAPH):
        seed = (seeds or {}).get(i, i)
        samples = utterance(2.8 + 0.1 * (seed % 5), RATE, seed=seed)
        samples = (samples * (scale or {}).get(i, 1.0)).astype(np.int16)
        key = f"k{seed}-{(scale or {}).get(i, 1.0)}"
        words = [Boundary(f"词{j}", 300.0 + 600 * j, 500.0) for j in range(4)]
        cache.put(key, Synthesis(samples, RATE, words))
        last = i % PER_PARAGRAPH == PER_PARAGRAPH - 1
        chapter_sentences.append(Sentence(f"句子{seed}。", f"句子{seed}。", 700 if last else 350,
                                          paragraph=i // PER_PARAGRAPH, key=key))
        keys.append(key)
    return Chapter(1, "一章", chapter_sentences), keys


def build(chapter: Chapter, keys: list[str], cache: SegmentCache, out: Path,
          previous: tuple[ChapterAudio, Path] | None = None) -> ChapterAudio:
    record = None
    if previous:  # what render.json keeps of it (the fields the build reads)
        audio, _ = previous
        record = ChapterRecord(1, chapter.title, "", 0, "", 0, 0, 0, "", "", "", "", keys, [], [], 0.0, 0.0,
                               gain_db=audio.gain_db, blocks=audio.blocks, mastering=SETTINGS.digest())
    with ThreadPoolExecutor(1) as measurer:
        audio = build_chapter_audio(chapter, cache, SETTINGS, record, previous[1] if previous else None,
                                    out, measurer)
        audio.loudness.result()
    return audio


@pytest.fixture
def first(tmp_path: Path) -> tuple[SegmentCache, ChapterAudio, Path]:
    cache = SegmentCache(tmp_path / "segments")
    chapter, keys = make_chapter(cache)
    out = tmp_path / "first.mp3"
    return cache, build(chapter, keys, cache, out), out


def block_frames(path: Path, audio: ChapterAudio) -> list[list[bytes]]:
    frames, out, at = read_frames(path).frames, [], 0
    for block in audio.blocks:
        out.append(frames[at:at + block.frames])
        at += block.frames
    return out


def test_chapter_is_its_blocks_and_decodes_at_its_length(first) -> None:
    _, audio, path = first
    assert [b.sentences for b in audio.blocks] == [PER_PARAGRAPH] * PARAGRAPHS
    assert len(decode_pcm(path, MP3_RATE)) == audio.samples
    lufs, peak = audio.loudness.result()
    reading = ebur128(path)
    assert lufs == pytest.approx(reading.integrated_lufs, abs=0.1)  # gated block by block, as one
    assert abs(lufs - SETTINGS.loudness_lufs) <= 0.3 and peak <= SETTINGS.true_peak_dbtp


def test_pauses_between_blocks_keep_their_length(first) -> None:
    _, audio, path = first
    decoded = decode_pcm(path, MP3_RATE).astype(np.float64)
    for i, ((_, end, _), (start, _, _)) in enumerate(zip(audio.cues, audio.cues[1:], strict=False)):
        pause = 700 if i % PER_PARAGRAPH == PER_PARAGRAPH - 1 else 350
        at_block_join = pause == 700
        assert abs((start - end) - pause) <= (14 if at_block_join else 1), i
        assert np.abs(decoded[int((end + 30) * 44.1):int((start - 30) * 44.1)]).max() < 300  # silence
    # each sentence's speech starts ONSET_MARGIN_MS (20 ms) after its cue: to within 10 ms, in
    # every block (a block placed a frame off would be 26 ms off)
    level, peak = np.abs(decoded), np.abs(decoded).max()
    for start, _, _ in audio.cues:
        at = max(0, int((start - 100) * 44.1))
        onset = (at + np.flatnonzero(level[at:] > peak * 10 ** (-50 / 20))[0]) / 44.1
        assert 10 <= onset - start <= 25, start


def test_edit_encodes_one_block_and_keeps_the_others_frames(first, tmp_path: Path) -> None:
    cache, before, first_path = first
    edited_sentence = PER_PARAGRAPH + 1  # in the second block
    chapter, keys = make_chapter(cache, seeds={edited_sentence: 99})
    after = build(chapter, keys, cache, tmp_path / "second.mp3", (before, first_path))
    assert after.encoded == 1 and after.gain_db == before.gain_db
    old, new = block_frames(first_path, before), block_frames(tmp_path / "second.mp3", after)
    assert new[0] == old[0] and new[2] == old[2] and new[1] != old[1]
    # the decoded audio: the first block unchanged, the last one the same samples, moved
    a, b = decode_pcm(first_path, MP3_RATE), decode_pcm(tmp_path / "second.mp3", MP3_RATE)
    first_end = before.blocks[0].frames * SAMPLES_PER_FRAME
    assert (a[:first_end - 2000] == b[:first_end - 2000]).all()
    shift = (after.blocks[1].frames - before.blocks[1].frames) * SAMPLES_PER_FRAME
    last_start = (before.blocks[0].frames + before.blocks[1].frames) * SAMPLES_PER_FRAME
    assert (a[last_start + 2000:] == b[last_start + shift + 2000:]).all()
    # cues of the last block moved by exactly that much
    moved = [(n[0] - o[0]) for o, n in zip(before.cues[2 * PER_PARAGRAPH:], after.cues[2 * PER_PARAGRAPH:],
                                           strict=True)]
    assert all(abs(m - shift * 1000 / MP3_RATE) <= 1 for m in moved)
    lufs, _ = after.loudness.result()
    assert abs(lufs - ebur128(tmp_path / "second.mp3").integrated_lufs) <= 0.1
    assert abs(lufs - SETTINGS.loudness_lufs) <= GAIN_KEPT_LU


def test_an_edit_that_moves_the_loudness_too_far_masters_the_chapter_anew(first, tmp_path: Path) -> None:
    cache, before, first_path = first
    # the middle block 6 dB down: the chapter 1.2 LU (quieter still, it would fall under the relative gate)
    quieter = {i: 0.5 for i in range(PER_PARAGRAPH, 2 * PER_PARAGRAPH)}
    chapter, keys = make_chapter(cache, scale=quieter)
    after = build(chapter, keys, cache, tmp_path / "second.mp3", (before, first_path))
    assert after.encoded == PARAGRAPHS and after.gain_db != before.gain_db
    assert abs(ebur128(tmp_path / "second.mp3").integrated_lufs - SETTINGS.loudness_lufs) <= 0.3


def test_a_forgotten_block_measurement_re_encodes_it_to_the_same_frames(first, tmp_path: Path) -> None:
    cache, before, first_path = first
    shutil.rmtree(memo_root() / "block-loudness")
    chapter, keys = make_chapter(cache, seeds={0: 98})  # edit the first block; the others' readings are gone
    after = build(chapter, keys, cache, tmp_path / "second.mp3", (before, first_path))
    assert after.encoded == PARAGRAPHS and after.gain_db == before.gain_db
    old, new = block_frames(first_path, before), block_frames(tmp_path / "second.mp3", after)
    assert new[1:] == old[1:]


def test_a_record_that_does_not_match_its_file_is_not_trusted(first, tmp_path: Path) -> None:
    """Frames are copied only when there are as many as the block needs: a record from other code
    (another alignment), or one describing another file, costs an encode, never a broken chapter."""
    cache, before, first_path = first
    chapter, keys = make_chapter(cache)
    skewed = ChapterAudio(before.gain_db, [replace(b) for b in before.blocks], before.samples, before.cues,
                          before.captions, before.loudness, before.encoded)
    skewed.blocks[0].frames -= 1
    skewed.blocks[1].frames += 1
    after = build(chapter, keys, cache, tmp_path / "second.mp3", (skewed, first_path))
    assert after.encoded == 2 and block_frames(tmp_path / "second.mp3", after) == block_frames(first_path, before)
    assert len(decode_pcm(tmp_path / "second.mp3", MP3_RATE)) == after.samples == before.samples


def test_a_blocks_pcm_predicts_its_encoded_loudness(tmp_path: Path) -> None:
    """A rebuilt chapter decides whether it keeps its gain from the new blocks' PCM, before
    encoding them: the PCM's loudness, with the encoder's gain, is the encoded block's."""
    pcm, _ = master(assemble_chapter([Piece(utterance(4.0, RATE, seed=i), RATE, 350) for i in range(5)]).samples,
                    MP3_RATE)
    encode_mp3_file([pcm], MP3_RATE, 64, tmp_path / "b.mp3")
    footprint = frames_for(len(pcm)) * SAMPLES_PER_FRAME
    encoded = measure_block(decode_pcm(tmp_path / "b.mp3", MP3_RATE), footprint)
    predicted = measure_block(pcm, footprint)
    gain = 10 ** (mp3_encoder_gain_db(64) / 10)
    assert gated_loudness(predicted.energies * gain) == pytest.approx(gated_loudness(encoded.energies), abs=0.05)


def test_a_silent_chapter_reads_like_ebur128(tmp_path: Path) -> None:
    cache = SegmentCache(tmp_path / "segments")
    cache.put("quiet", Synthesis(np.zeros(RATE * 2, np.int16), RATE))
    chapter = Chapter(1, "静", [Sentence("……", "……", 700, key="quiet")])
    audio = build(chapter, ["quiet"], cache, tmp_path / "silent.mp3")
    lufs, peak = audio.loudness.result()
    assert lufs == ebur128(tmp_path / "silent.mp3").integrated_lufs == -70.0 and peak == -np.inf
