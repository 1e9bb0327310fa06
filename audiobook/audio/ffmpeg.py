"""The one place that runs ffmpeg: the static binary shipped by imageio-ffmpeg (no system
ffmpeg or ffprobe needed). Its failures become AudioError here and nowhere else."""

from __future__ import annotations

import math
import re
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from ..errors import AudioError
from ..store.files import atomic_path

MP3_RATE = 44100  # MPEG-1 Layer III; 32/48 kHz are MPEG-1 too, 22.05/24 kHz would silently be MPEG-2


@cache
def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception as exc:  # imageio-ffmpeg raises RuntimeError when the binary is missing
        raise AudioError(f"ffmpeg not available ({exc}); reinstall with `uv sync`") from exc


def _last_error_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines() or ["unknown error"]
    return lines[-1]


def run_ffmpeg(args: list[str], stdin: bytes | None = None, loglevel: str = "error") -> bytes:
    """Run ffmpeg with `args`, return stdout; raise AudioError with ffmpeg's last error line."""
    return _run(args, stdin, loglevel).stdout


def _run(args: list[str], stdin: bytes | None, loglevel: str) -> subprocess.CompletedProcess[bytes]:
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", loglevel]
    if stdin is None:
        cmd.append("-nostdin")
    cmd += args
    try:
        proc = subprocess.run(cmd, input=stdin, capture_output=True, check=False)
    except OSError as exc:
        raise AudioError(f"could not run ffmpeg: {exc}") from exc
    if proc.returncode != 0:
        raise AudioError(f"ffmpeg failed: {_last_error_line(proc.stderr)}")
    return proc


def decode_pcm(source: Path | bytes, sample_rate: int, max_seconds: float | None = None) -> np.ndarray:
    """Decode any audio ffmpeg reads (file path or in-memory bytes) to mono int16 at sample_rate;
    with max_seconds, no more than that (a 2-hour file is not decoded to find it is too long).

    Bytes go through a temp file: from a pipe, ffmpeg's MP3 demuxer does not trim the encoder
    padding the Info header declares (~1,000 extra samples at the end)."""
    if not isinstance(source, Path):
        with tempfile.TemporaryDirectory(prefix="audiobook-dec-") as tmp:
            path = Path(tmp) / "in"
            path.write_bytes(source)
            return decode_pcm(path, sample_rate, max_seconds)
    limit = ["-t", f"{max_seconds:g}"] if max_seconds is not None else []
    out = run_ffmpeg(["-i", str(source), "-map", "0:a:0", *limit, "-f", "s16le", "-ac", "1",
                      "-ar", str(sample_rate), "-"])
    return np.frombuffer(out, dtype="<i2").copy()


def _pcm_input(sample_rate: int, source: str = "pipe:0") -> list[str]:
    return ["-f", "s16le", "-ac", "1", "-ar", str(sample_rate), "-i", source]


def _mp3_output(bitrate_kbps: int, out_rate: int) -> list[str]:
    # -write_xing needs a seekable output, which is why everything is encoded into a file.
    """CBR libmp3lame with an Info (Xing) header carrying the LAME encoder delay/padding, so
    decoders trim them and the decoded length equals the PCM length. No ID3 tag here: tags (and
    chapters) are written afterwards by the publish stage."""
    if bitrate_kbps <= 0:
        raise AudioError(f"MP3 bitrate must be a positive number of kbit/s, got {bitrate_kbps}")
    return ["-c:a", "libmp3lame", "-b:a", f"{bitrate_kbps}k", "-ac", "1", "-ar", str(out_rate),
            "-write_xing", "1", "-id3v2_version", "0", "-write_id3v1", "0",
            "-map_metadata", "-1", "-f", "mp3"]


def encode_mp3_bytes(samples: np.ndarray, sample_rate: int, bitrate_kbps: int,
                     out_rate: int | None = None) -> bytes:
    """Encode mono int16 PCM to CBR MP3 (with Xing/Info header) and return the bytes.

    Goes through a temp file: ffmpeg fills in the Info header (frame count, encoder delay and
    padding) by seeking back at the end, which it can't do on a pipe; piped MP3s decode
    ~1,600 samples too long."""
    with tempfile.TemporaryDirectory(prefix="audiobook-mp3-") as tmp:
        path = Path(tmp) / "out.mp3"
        encode_mp3_file([np.asarray(samples, dtype=np.int16)], sample_rate, bitrate_kbps, path,
                        out_rate=out_rate or sample_rate)
        return path.read_bytes()


def encode_mp3_file(chunks: Iterable[np.ndarray], sample_rate: int, bitrate_kbps: int, path: Path,
                    out_rate: int = MP3_RATE) -> None:
    """Stream mono int16 chunks into one ffmpeg process writing a CBR MP3 at `path`.

    Only one chunk is in memory at a time, so a whole book can be encoded from per-chapter
    PCM. The file appears atomically: ffmpeg writes a temp file that is renamed on success."""
    with atomic_path(path) as tmp, tempfile.TemporaryFile() as errlog:
        # stderr goes to a file, not a pipe: a chatty ffmpeg can then never block us on write().
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
               *_pcm_input(sample_rate), *_mp3_output(bitrate_kbps, out_rate), str(tmp)]
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=errlog)
        except OSError as exc:
            raise AudioError(f"could not run ffmpeg: {exc}") from exc
        assert proc.stdin is not None
        broken = False
        try:
            for chunk in chunks:
                if chunk.dtype != np.int16 or chunk.ndim != 1:
                    raise AudioError(f"encoder wants mono int16 chunks, got {chunk.dtype} {chunk.shape}")
                try:
                    proc.stdin.write(np.ascontiguousarray(chunk, dtype="<i2").tobytes())
                except BrokenPipeError:  # ffmpeg died; its stderr says why
                    broken = True
                    break
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                broken = True
        code = proc.wait()
        if code != 0 or broken:
            errlog.seek(0)
            raise AudioError(f"ffmpeg failed encoding {path.name}: {_last_error_line(errlog.read())}")


def encode_mp3_files(pcms: Sequence[np.ndarray], sample_rate: int, bitrate_kbps: int, paths: Sequence[Path],
                     out_rate: int = MP3_RATE) -> None:
    """Encode several mono int16 PCMs, each into its own MP3 file (its own encoder: no bit
    reservoir or delay shared), in one ffmpeg process. Each file is what encode_mp3_file would
    write, byte for byte (tested); one process saves ~0.1 s of start-up per file, and ffmpeg
    runs the encoders side by side. The PCMs go through raw files in a temp folder: one pipe
    per input could deadlock on ffmpeg's reading order."""
    if len(pcms) != len(paths):
        raise AudioError(f"{len(pcms)} PCMs for {len(paths)} files")  # a bug, not input
    if not pcms:
        return
    with tempfile.TemporaryDirectory(prefix="audiobook-enc-") as tmp:
        inputs: list[str] = []
        outputs: list[str] = []
        for i, (pcm, path) in enumerate(zip(pcms, paths, strict=True)):
            if pcm.dtype != np.int16 or pcm.ndim != 1:
                raise AudioError(f"encoder wants mono int16 PCM, got {pcm.dtype} {pcm.shape}")
            raw = Path(tmp) / f"{i}.raw"
            raw.write_bytes(np.ascontiguousarray(pcm, dtype="<i2").tobytes())
            inputs += _pcm_input(sample_rate, str(raw))
            outputs += ["-map", f"{i}:a", *_mp3_output(bitrate_kbps, out_rate), str(path)]
        run_ffmpeg(["-y", *inputs, *outputs])


def decode_files(paths: Sequence[Path], sample_rate: int = MP3_RATE) -> list[np.ndarray]:
    """Decode several audio files to mono int16 at sample_rate, in one ffmpeg process."""
    if not paths:
        return []
    with tempfile.TemporaryDirectory(prefix="audiobook-dec-") as tmp:
        outputs = [Path(tmp) / f"{i}.raw" for i in range(len(paths))]
        args = [arg for path in paths for arg in ("-i", str(path))]
        for i, raw in enumerate(outputs):
            args += ["-map", f"{i}:a:0", "-f", "s16le", "-ac", "1", "-ar", str(sample_rate), str(raw)]
        run_ffmpeg(["-y", *args])
        return [np.frombuffer(raw.read_bytes(), dtype="<i2").copy() for raw in outputs]


@cache
def mp3_encoder_gain_db(bitrate_kbps: int, sample_rate: int = MP3_RATE) -> float:
    """The level change LAME applies at this bitrate, measured once by encoding a probe tone.

    LAME's CBR presets scale the input (0.95, −0.45 dB, for every rate up to 160 kbit/s with
    the bundled lame; 1.0 from 256 kbit/s), so an MP3 reads quieter than its PCM. Mastering
    adds this back to hit the loudness target on the encoded file. The probe (~0.2 s) is
    remembered per ffmpeg binary, so a re-render does not encode it again."""
    from ..store.memo import remembered

    exe = Path(ffmpeg_exe())
    stat = exe.stat()
    binary = f"{exe}:{stat.st_size}:{stat.st_mtime_ns}"
    return float(remembered("mp3-gain", f"1/{binary}", f"{bitrate_kbps}/{sample_rate}",
                            lambda: _probe_encoder_gain_db(bitrate_kbps, sample_rate)))


def _probe_encoder_gain_db(bitrate_kbps: int, sample_rate: int) -> float:
    t = np.arange(sample_rate // 2) / sample_rate
    probe = np.round(0.25 * 32767 * np.sin(2 * np.pi * 997 * t)).astype(np.int16)
    decoded = decode_pcm(encode_mp3_bytes(probe, sample_rate, bitrate_kbps), sample_rate)
    if len(decoded) != len(probe):
        raise AudioError(f"MP3 probe decoded to {len(decoded)} samples, expected {len(probe)}")
    mid = slice(2048, len(probe) - 2048)  # skip the codec's edge effects
    ref = probe[mid].astype(np.float64)
    gain = float(decoded[mid].astype(np.float64) @ ref / (ref @ ref))
    return 20.0 * math.log10(gain)


@dataclass(frozen=True)
class Ebur128:
    """ffmpeg's ebur128 summary for a file (ITU-R BS.1770; true peak 4x oversampled at 192 kHz)."""

    integrated_lufs: float
    true_peak_dbtp: float
    lra_lu: float


_SUMMARY_FIELDS = {"I": r"I:\s+(-?[\d.]+|-?inf)\s+LUFS", "LRA": r"LRA:\s+(-?[\d.]+|-?inf)\s+LU\b",
                   "Peak": r"Peak:\s+(-?[\d.]+|-?inf)\s+dBFS"}


def ebur128(path: Path) -> Ebur128:
    """Measure integrated loudness, loudness range and true peak of an audio file (e.g. the
    encoded MP3) with ffmpeg's ebur128 filter. Silence reads I=-70 and Peak=-inf."""
    proc = _run(["-i", str(path), "-map", "0:a:0", "-af", "ebur128=peak=true:framelog=verbose",
                 "-f", "null", "-"], None, "info")
    return _summary(proc.stderr, path)


def _summary(stderr: bytes, path: Path) -> Ebur128:
    # framelog=verbose keeps the 10-per-second frame lines out of the info-level log; the
    # summary is printed at info. -map 0:a because an MP3 with cover art has a video stream.
    log = stderr.decode("utf-8", "replace")
    start = log.rfind("Summary:")
    if start < 0:
        raise AudioError(f"ffmpeg printed no loudness summary for {path.name}")
    values: dict[str, float] = {"Peak": math.nan}
    for key, pattern in _SUMMARY_FIELDS.items():
        match = re.search(pattern, log[start:])
        if match is None:
            raise AudioError(f"could not read {key} from ffmpeg's loudness summary for {path.name}")
        values[key] = float(match.group(1)) if "inf" not in match.group(1) else -math.inf
    return Ebur128(values["I"], values["Peak"], values["LRA"])
