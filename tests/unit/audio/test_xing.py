"""The Info header we write (audio/xing.py) against the one ffmpeg writes for the same frames,
and files joined with it decoded by ffmpeg and read by mutagen."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from mutagen.mp3 import MP3

from audiobook.audio.ffmpeg import MP3_RATE, decode_pcm, encode_mp3_file, run_ffmpeg
from audiobook.audio.mp3join import SAMPLES_PER_FRAME, decoded_length, join_mp3, read_frames, write_frames
from audiobook.audio.xing import crc16, crc16_combine, info_frame, lame_delay_padding, recorded_music_crc


def crc16_bytewise(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@pytest.mark.parametrize("size", [0, 1, 2, 189, 4095, 4096, 4097, 50_000])
def test_crc16_is_crc16_arc(size: int) -> None:
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    assert crc16(data) == crc16_bytewise(data)
    assert crc16(b"123456789") == 0xBB3D  # the CRC-16/ARC check value


@pytest.mark.parametrize(("first", "second"), [(0, 0), (0, 5), (7, 0), (1000, 1), (3, 70_000), (12_345, 54_321)])
def test_crc16_combines(first: int, second: int) -> None:
    data = np.random.default_rng(first + second).integers(0, 256, first + second, dtype=np.uint8).tobytes()
    a, b = data[:first], data[first:]
    assert crc16_combine(crc16(a), crc16(b), len(b)) == crc16(data)


def encoded(tmp_path: Path, samples: int, name: str = "a.mp3", seed: int = 0) -> Path:
    pcm = (np.random.default_rng(seed).standard_normal(samples) * 3000).astype(np.int16)
    path = tmp_path / name
    encode_mp3_file([pcm], MP3_RATE, 64, path)
    return path


def ffmpeg_remux(path: Path, out: Path) -> None:
    """What the project did before writing headers itself: ffmpeg copies the frames, new header."""
    run_ffmpeg(["-i", str(path), "-map", "0:a:0", "-c:a", "copy", "-write_xing", "1", "-id3v2_version", "0",
                "-map_metadata", "-1", "-f", "mp3", "-y", str(out)])


def test_our_header_has_ffmpegs_fields_and_checksums(tmp_path: Path) -> None:
    source = encoded(tmp_path, 300_000)
    ffmpeg_remux(source, tmp_path / "ffmpeg.mp3")
    theirs = read_frames(tmp_path / "ffmpeg.mp3")
    assert theirs.info is not None and theirs.frames == read_frames(source).frames
    assert lame_delay_padding(theirs.info) == lame_delay_padding(read_frames(source).info or b"")
    ours = info_frame(theirs.info, theirs.frames, *lame_delay_padding(theirs.info))
    toc = slice(21 + 16, 21 + 116)
    assert len(ours) == len(theirs.info)
    assert ours[:toc.start] == theirs.info[:toc.start]  # header, "Info", flags, frame and byte counts
    assert ours[toc.stop:175] == theirs.info[toc.stop:175]  # quality, LAME tag, music length and music CRC
    # the tag CRC is over the frame's first 190 bytes, its own field zero: checked on ffmpeg's
    zeroed = bytearray(theirs.info)
    zeroed[175:177] = b"\0\0"
    assert crc16(bytes(zeroed[:190])) == int.from_bytes(theirs.info[175:177], "big")
    zeroed = bytearray(ours)
    zeroed[175:177] = b"\0\0"
    assert crc16(bytes(zeroed[:190])) == int.from_bytes(ours[175:177], "big")
    # seek tables differ in rounding only: ours is the byte offset of each percent of the frames
    assert max(abs(a - b) for a, b in zip(ours[toc], theirs.info[toc], strict=True)) <= 4
    assert list(ours[toc]) == sorted(ours[toc]) and ours[toc][0] == 0


def test_encoder_delay_and_padding_are_read_back(tmp_path: Path) -> None:
    frames = read_frames(encoded(tmp_path, 100_000))
    assert frames.info is not None
    delay, padding = lame_delay_padding(frames.info)
    assert delay == 576 and padding == len(frames.frames) * SAMPLES_PER_FRAME - 576 - 100_000
    assert decoded_length(len(frames.frames), frames.delay, frames.padding) == 100_000


def test_joined_file_decodes_to_every_part_sample_for_sample(tmp_path: Path) -> None:
    parts = [encoded(tmp_path, n, f"{i}.mp3", seed=i) for i, n in enumerate((50_000, 30_001, 70_000))]
    starts, total = join_mp3(parts, tmp_path / "joined.mp3")
    read = read_frames(tmp_path / "joined.mp3")
    assert read.info is not None  # the music CRC, combined from the parts', is the joined frames'
    assert recorded_music_crc(read.info) == crc16(b"".join(read.frames))
    joined = decode_pcm(tmp_path / "joined.mp3", MP3_RATE)
    assert len(joined) == total == starts[-1] + 70_000  # the last part's padding is trimmed too
    for start, part in zip(starts, parts, strict=True):
        alone = decode_pcm(part, MP3_RATE)
        assert np.abs(joined[start:start + len(alone)].astype(int) - alone).max() <= 1  # the decoder's overlap
    # mutagen reads our header as it reads ffmpeg's for the same frames
    ffmpeg_remux(tmp_path / "joined.mp3", tmp_path / "ffmpeg.mp3")
    ours, theirs = MP3(tmp_path / "joined.mp3").info, MP3(tmp_path / "ffmpeg.mp3").info
    assert (ours.length, ours.bitrate, ours.bitrate_mode) == (theirs.length, theirs.bitrate, theirs.bitrate_mode)
    assert len(decode_pcm(tmp_path / "ffmpeg.mp3", MP3_RATE)) == total


def test_writing_frames_writes_the_file_each_time(tmp_path: Path) -> None:
    """A watch process re-joining the same episode must still write it."""
    frames = read_frames(encoded(tmp_path, 20_000))
    assert frames.info is not None
    out = tmp_path / "out.mp3"
    for _ in range(2):
        write_frames(frames.info, frames.frames, out, 576, frames.padding)
        assert len(decode_pcm(out, MP3_RATE)) == 20_000
        out.unlink()
