"""The ffmpeg seam: MP3 encoding (streamed and in one go), decoding, loudness summary, errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from mutagen.mp3 import MP3, BitrateMode

from audiobook.audio.ffmpeg import (
    decode_pcm,
    ebur128,
    encode_mp3_bytes,
    encode_mp3_file,
    mp3_encoder_gain_db,
)
from audiobook.errors import AudioError
from tests.support.speech import speech_like

RATE = 44100


@pytest.fixture(scope="module")
def pcm() -> np.ndarray:
    return np.round(speech_like(3.0, RATE, seed=3) * 32767 * 0.7).astype(np.int16)


def test_streamed_encode_is_cbr_mpeg1_mono_and_decodes_to_the_same_length(tmp_path: Path, pcm: np.ndarray):
    path = tmp_path / "out.mp3"
    encode_mp3_file(np.array_split(pcm, 7), RATE, 64, path)

    info = MP3(path).info
    assert (info.version, info.layer, info.sample_rate, info.channels) == (1, 3, RATE, 1)
    assert info.bitrate_mode == BitrateMode.CBR  # an Info header is present
    assert abs(info.bitrate - 64000) < 1000
    assert b"Info" in path.read_bytes()[:200]
    decoded = decode_pcm(path, RATE)
    # the LAME tag's delay/padding are honoured: not one sample gained or lost
    assert len(decoded) == len(pcm)
    gain = 10 ** (mp3_encoder_gain_db(64) / 20)
    err = decoded.astype(float) - gain * pcm.astype(float)
    assert 10 * math.log10(np.mean(err**2) / np.mean(pcm.astype(float) ** 2)) < -15  # aligned, same signal
    assert not [p for p in tmp_path.iterdir() if p.name != "out.mp3"]  # no temp file left


def test_chunking_does_not_change_the_encoding(tmp_path: Path, pcm: np.ndarray):
    one, many = tmp_path / "one.mp3", tmp_path / "many.mp3"
    encode_mp3_file([pcm], RATE, 64, one)
    encode_mp3_file((c for c in np.array_split(pcm, 50)), RATE, 64, many)
    assert one.read_bytes() == many.read_bytes()


def test_encode_mp3_bytes_carries_gapless_info(pcm: np.ndarray):
    data = encode_mp3_bytes(pcm, RATE, 96)
    assert len(decode_pcm(data, RATE)) == len(pcm)


def test_a_failing_stream_leaves_the_old_file_untouched(tmp_path: Path, pcm: np.ndarray):
    path = tmp_path / "ep.mp3"
    path.write_bytes(b"old")

    def chunks():
        yield pcm
        raise RuntimeError("synthesis crashed")

    with pytest.raises(RuntimeError):
        encode_mp3_file(chunks(), RATE, 64, path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["ep.mp3"]


@pytest.mark.parametrize(
    ("chunk", "kwargs"),
    [
        pytest.param(np.zeros(100, np.float32), {}, id="float-chunk"),
        pytest.param(np.zeros((100, 2), np.int16), {}, id="stereo-chunk"),
        pytest.param(np.zeros(100, np.int16), {"out_rate": 12345}, id="rate-lame-rejects"),
    ],
)
def test_bad_input_is_an_audio_error(tmp_path: Path, chunk: np.ndarray, kwargs: dict):
    with pytest.raises(AudioError):
        encode_mp3_file([chunk], RATE, 64, tmp_path / "x.mp3", **kwargs)
    assert not list(tmp_path.iterdir())


def test_bitrate_must_be_positive(tmp_path: Path):
    with pytest.raises(AudioError, match="bitrate"):
        encode_mp3_file([np.zeros(10, np.int16)], RATE, 0, tmp_path / "x.mp3")


def test_decoding_garbage_is_an_audio_error():
    with pytest.raises(AudioError, match="ffmpeg failed"):
        decode_pcm(b"this is not audio", RATE)


def test_ebur128_reads_the_summary(tmp_path: Path, pcm: np.ndarray):
    path = tmp_path / "s.mp3"
    encode_mp3_file([pcm], RATE, 64, path)
    summary = ebur128(path)
    assert -40 < summary.integrated_lufs < -5
    assert -10.5 < summary.true_peak_dbtp < -7.5  # the PCM peaks at -9.1 dBFS
    silent = tmp_path / "silent.mp3"
    encode_mp3_file([np.zeros(RATE, np.int16)], RATE, 64, silent)
    assert ebur128(silent).integrated_lufs == -70.0
    assert ebur128(silent).true_peak_dbtp == -math.inf


def test_lame_scales_low_bitrates_down_a_little():
    # measured with the bundled LAME: 0.95 (−0.45 dB) up to 160 kbit/s, unity from 256
    assert -0.6 < mp3_encoder_gain_db(64) < -0.3
    assert abs(mp3_encoder_gain_db(320)) < 0.05


def test_encoder_gain_probe_is_remembered_across_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from audiobook.audio import ffmpeg

    monkeypatch.setenv("AUDIOBOOK_CACHE_DIR", str(tmp_path))
    ffmpeg.mp3_encoder_gain_db.cache_clear()  # as in a new process
    measured = mp3_encoder_gain_db(96)
    assert len(list((tmp_path / "memo" / "mp3-gain").glob("*.json"))) == 1
    ffmpeg.mp3_encoder_gain_db.cache_clear()

    def no_probe(*_args: object) -> float:
        raise AssertionError("probe encoded again")

    monkeypatch.setattr(ffmpeg, "_probe_encoder_gain_db", no_probe)
    assert mp3_encoder_gain_db(96) == measured
    ffmpeg.mp3_encoder_gain_db.cache_clear()


