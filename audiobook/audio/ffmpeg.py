"""The one place that runs ffmpeg: the static binary shipped by imageio-ffmpeg (no system
ffmpeg or ffprobe needed). Its failures become AudioError here and nowhere else."""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import AudioError


@cache
def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # imageio-ffmpeg raises RuntimeError when the binary is missing
        raise AudioError(f"ffmpeg not available ({exc}); reinstall with `uv sync`") from exc


def run_ffmpeg(args: list[str], stdin: bytes | None = None) -> bytes:
    """Run ffmpeg with `args`, return stdout; raise AudioError with ffmpeg's last error line."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error"]
    if stdin is None:
        cmd.append("-nostdin")
    cmd += args
    try:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    except OSError as exc:
        raise AudioError(f"could not run ffmpeg: {exc}") from exc
    if proc.returncode != 0:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["unknown error"]
        raise AudioError(f"ffmpeg failed: {lines[-1]}")
    return proc.stdout


def decode_pcm(source: Path | bytes, sample_rate: int) -> np.ndarray:
    """Decode any audio ffmpeg reads (file path or in-memory bytes) to mono int16 at sample_rate."""
    if isinstance(source, Path):
        out = run_ffmpeg(["-i", str(source), "-f", "s16le", "-ac", "1", "-ar", str(sample_rate), "-"])
    else:
        out = run_ffmpeg(["-i", "pipe:0", "-f", "s16le", "-ac", "1", "-ar", str(sample_rate), "-"],
                         stdin=source)
    return np.frombuffer(out, dtype="<i2").copy()


def encode_mp3_bytes(samples: np.ndarray, sample_rate: int, bitrate_kbps: int,
                     out_rate: int | None = None) -> bytes:
    """Encode mono int16 PCM to CBR MP3 (with Xing/Info header) and return the bytes."""
    pcm = np.ascontiguousarray(samples, dtype="<i2").tobytes()
    args = ["-f", "s16le", "-ac", "1", "-ar", str(sample_rate), "-i", "pipe:0",
            "-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-ar", str(out_rate or sample_rate),
            "-write_xing", "1", "-id3v2_version", "0", "-map_metadata", "-1", "-f", "mp3", "pipe:1"]
    return run_ffmpeg(args, stdin=pcm)
