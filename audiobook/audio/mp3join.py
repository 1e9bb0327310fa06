"""Joining chapter MP3s into the full episode without re-encoding.

Every chapter is encoded once (CBR, same rate and bitrate). The episode is the chapters' audio
frames back to back behind one Info header, so rebuilding it after a one-chapter edit costs a
copy of bytes, not an encode of the whole book. Each chapter file starts with its own Info
frame and LAME delay; only the first is kept, so a chapter's first sample lands exactly at the
sum of the frames before it × 1152 (tested sample-exact against the chapter files), and the
encoder delay/padding of inner chapters becomes ~50 ms of extra silence inside a chapter pause.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import AudioError
from .ffmpeg import remux_mp3

SAMPLES_PER_FRAME = 1152  # MPEG-1 Layer III
DECODER_DELAY = 529  # what decoders add to the LAME tag's encoder delay (mpg123/ffmpeg convention)
_BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_RATES = (44100, 48000, 32000)


@dataclass
class Mp3Frames:
    info: bytes | None  # the Xing/Info frame (no audio), if any
    frames: list[bytes]  # audio frames
    delay: int  # samples decoders skip at the start (encoder delay + decoder delay)


def _tag_size(data: bytes) -> int:
    if data[:3] != b"ID3":
        return 0
    footer = 10 if data[5] & 0x10 else 0
    return 10 + footer + sum(b << (7 * (3 - i)) for i, b in enumerate(data[6:10]))


def read_frames(path: Path) -> Mp3Frames:
    """Split an MPEG-1 Layer III file into its Info frame and audio frames."""
    data = path.read_bytes()
    i = _tag_size(data)
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
    if not frames:
        raise AudioError(f"{path.name} holds no MPEG-1 Layer III frames")
    info, delay = None, DECODER_DELAY
    side_info = 17 if (frames[0][3] >> 6) == 3 else 32  # mono : stereo
    tag = frames[0][4 + side_info:8 + side_info]
    if tag in (b"Info", b"Xing"):
        info, frames = frames[0], frames[1:]
        delay += _lame_delay(info, 8 + side_info)
    return Mp3Frames(info, frames, delay)


def _lame_delay(info: bytes, offset: int) -> int:
    flags = int.from_bytes(info[offset:offset + 4], "big")
    lame = offset + 4 + 4 * bool(flags & 1) + 4 * bool(flags & 2) + 100 * bool(flags & 4) + 4 * bool(flags & 8)
    if len(info) < lame + 24:
        return 0
    return (info[lame + 21] << 4) | (info[lame + 22] >> 4)


def join_mp3(parts: list[Path], out: Path) -> tuple[list[int], int]:
    """Write `out` as the parts' audio back to back (no re-encode). Returns where each part's
    first sample lands in the decoded output, and the decoded length, in samples."""
    chapters = [read_frames(p) for p in parts]
    first = chapters[0]
    if first.info is None:
        raise AudioError(f"{parts[0].name} has no Info header; it was not written by this tool")
    starts, position = [], 0
    for chapter in chapters:
        starts.append(position)
        position += len(chapter.frames) * SAMPLES_PER_FRAME
    write_frames(first.info, [frame for c in chapters for frame in c.frames], out)
    return starts, position - first.delay


def write_frames(info: bytes, frames: Sequence[bytes], out: Path) -> None:
    """Write `out` as these audio frames behind an Info header. ffmpeg writes the header anew
    (frame count, size, seek table), keeping the encoder delay of `info` and recording no
    padding: the decoded length is every frame's samples less the delay."""
    remux_mp3(info + b"".join(frames), out)
