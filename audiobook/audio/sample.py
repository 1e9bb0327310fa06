"""Writing a short piece of speech (a preview) to a file the user can play."""

from __future__ import annotations

import io
import wave
from pathlib import Path

import numpy as np

from ..store.files import atomic_write_bytes
from .ffmpeg import MP3_RATE, encode_mp3_bytes


def write_sample(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Mono int16 PCM → `path`: WAV at the engine's rate for .wav, else a 64 kbit/s MP3."""
    if path.suffix.lower() == ".wav":
        buf = io.BytesIO()
        with wave.open(buf, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())
        atomic_write_bytes(path, buf.getvalue())
    else:
        atomic_write_bytes(path, encode_mp3_bytes(samples, rate, 64, out_rate=MP3_RATE))
    return path
