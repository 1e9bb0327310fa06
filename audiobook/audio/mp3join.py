"""Joining MP3s without re-encoding: a chapter from its blocks (render/chapter_audio.py), the full
episode from its chapters.

Every part is encoded once (CBR, same rate and bitrate). The joined file is the parts' audio
frames back to back behind one Info header (written here: xing.py) that keeps the first part's
encoder delay and records the last part's padding, so it decodes to every part's samples: part
i's first sample lands exactly at the sum of the frames before it × 1152 (tested sample-exact),
and the codec's delay and padding around each inner join become 26 to 52 ms of silence there
(inside a pause: blocks are cut so that this silence is part of it, audio/blocks.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import AudioError
from ..store.files import atomic_write_bytes
from .xing import crc16, crc16_combine, info_frame, is_info_frame, lame_delay_padding, recorded_music_crc

SAMPLES_PER_FRAME = 1152  # MPEG-1 Layer III
DECODER_DELAY = 529  # what decoders add to the LAME tag's encoder delay (mpg123/ffmpeg convention)
_BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_RATES = (44100, 48000, 32000)


@dataclass
class Mp3Frames:
    info: bytes | None  # the Xing/Info frame (no audio), if any
    frames: list[bytes]  # audio frames
    delay: int  # samples decoders skip at the start (encoder delay + decoder delay)
    padding: int = 0  # the encoder padding the Info frame records (decoders drop what exceeds DECODER_DELAY)


def _tag_size(data: bytes) -> int:
    if data[:3] != b"ID3":
        return 0
    footer = 10 if data[5] & 0x10 else 0
    return 10 + footer + sum(b << (7 * (3 - i)) for i, b in enumerate(data[6:10]))


def split_frames(data: bytes, start: int = 0) -> list[bytes]:
    """The MPEG-1 Layer III frames in `data` from `start`, up to the first thing that is not one."""
    i = start
    frames: list[bytes] = []
    while i + 4 <= len(data):
        h = data[i:i + 4]
        if h[0] != 0xFF or (h[1] & 0xFE) != 0xFA:  # sync + MPEG-1 Layer III
            break
        bitrate, rate = _BITRATES[h[2] >> 4], _RATES[(h[2] >> 2) & 3]
        size = 144_000 * bitrate // rate + ((h[2] >> 1) & 1)
        if size <= 4:
            break
        frames.append(data[i:i + size])
        i += size
    return frames


def read_frames(path: Path) -> Mp3Frames:
    """Split an MPEG-1 Layer III file into its Info frame and audio frames."""
    data = path.read_bytes()
    frames = split_frames(data, _tag_size(data))
    if not frames:
        raise AudioError(f"{path.name} holds no MPEG-1 Layer III frames")
    info, delay, padding = None, DECODER_DELAY, 0
    if is_info_frame(frames[0]):
        info, frames = frames[0], frames[1:]
        encoder_delay, padding = lame_delay_padding(info)
        delay += encoder_delay
    return Mp3Frames(info, frames, delay, padding)


def read_audio_range(path: Path, offset: int, length: int) -> bytes | None:
    """`length` bytes of a file's audio frames from `offset` (counted from the first audio frame,
    after the ID3 tag and the Info frame), or None when the file is not there or too short. Reads
    only those bytes: a part of a long episode is found without reading all of it."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(10)
            start = _tag_size(head) if len(head) == 10 else 0
            fh.seek(start)
            first = split_frames(fh.read(2000))[:1]  # the Info frame (one frame is < 1,500 bytes)
            if not first or not is_info_frame(first[0]):
                return None
            fh.seek(start + len(first[0]) + offset)
            data = fh.read(length)
    except OSError:
        return None
    return data if len(data) == length else None


def decoded_length(frames: int, delay: int, padding: int) -> int:
    """Samples a decoder plays from `frames` frames with this delay (decoder's included) and
    encoder padding (ffmpeg, mpg123 and LAME's own decoder agree)."""
    return frames * SAMPLES_PER_FRAME - delay - max(0, padding - DECODER_DELAY)


def join_mp3(parts: list[Path], out: Path) -> tuple[list[int], int]:
    """Write `out` as the parts' audio back to back (no re-encode). Returns where each part's
    first sample lands in the decoded output, and the decoded length, in samples."""
    return join_frames([read_frames(p) for p in parts], out)


def join_frames(parts: Sequence[Mp3Frames], out: Path) -> tuple[list[int], int]:
    """join_mp3 for parts already read. A part copied out of a joined file has no Info frame of
    its own (info None): the header is shaped like the first part's that has one."""
    first, last = parts[0], parts[-1]
    template = next((p.info for p in parts if p.info is not None), None)
    if template is None or any(p.delay != first.delay for p in parts):
        raise AudioError(f"{out.parent} holds MP3s this tool did not write (no Info header, or other delays)")
    starts, position = [], 0
    for part in parts:
        starts.append(position)
        position += len(part.frames) * SAMPLES_PER_FRAME
    frames = [frame for p in parts for frame in p.frames]
    write_frames(template, frames, out, first.delay - DECODER_DELAY, last.padding, _joined_crc(parts))
    return starts, decoded_length(len(frames), first.delay, last.padding)


def _joined_crc(parts: Sequence[Mp3Frames]) -> int:
    """The music CRC of the parts' frames joined, from the CRCs their Info frames record (a part
    without one, music copied out of the last episode, a few hundred KB, is summed here)."""
    crc = 0
    for part in parts:
        recorded = recorded_music_crc(part.info) if part.info else None
        if recorded is None:
            recorded = crc16(b"".join(part.frames))
        crc = crc16_combine(crc, recorded, sum(map(len, part.frames)))
    return crc


def write_frames(info: bytes, frames: Sequence[bytes], out: Path, encoder_delay: int, padding: int,
                 music_crc: int | None = None) -> None:
    """Write `out` as these audio frames behind a new Info header (shaped like `info`) that
    records this encoder delay and padding: the padding of the last frames' encoder, so that
    the file decodes to exactly the samples its parts held (decoded_length)."""
    header = info_frame(info, frames, encoder_delay, padding, music_crc)
    atomic_write_bytes(out, header + b"".join(frames), durable=False)
