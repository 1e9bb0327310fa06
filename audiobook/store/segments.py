"""Content-addressed segment store.

A segment's key is a hash of everything that shapes its sound: the spoken text, the engine
and its version, the voice and its prosody. Each entry is one file (header + JSON + PCM),
written to a temp file and renamed, and verified (length and sha256) when read, so a crash
never leaves an entry that is read back half-written.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from pathlib import Path

import numpy as np

from ..models import Boundary, Synthesis, Voice
from ..paths import cache_dir
from .files import atomic_write_bytes

log = logging.getLogger(__name__)

MAGIC = b"ABSEG1\n"
SUFFIX = ".seg"
HOLDS_DIR = "holds"  # beside segments/: what running renders need (prune keeps it)


def segment_key(spoken: str, engine: str, engine_version: str, voice: Voice) -> str:
    payload = json.dumps(
        {"text": spoken, "engine": engine, "version": engine_version, "voice": asdict(voice)},
        ensure_ascii=False, sort_keys=True,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


class SegmentCache:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or cache_dir() / "segments"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}{SUFFIX}"

    def has(self, key: str) -> bool:
        """Present and whole (sizes agree; the checksum is verified when the entry is read)."""
        path = self.path(key)
        try:
            with open(path, "rb") as fh:
                head = fh.read(len(MAGIC) + 4)
                if not head.startswith(MAGIC):
                    return False
                (size,) = struct.unpack_from("<I", head, len(MAGIC))
                meta = json.loads(fh.read(size))
            return bool(path.stat().st_size == len(MAGIC) + 4 + size + int(meta["bytes"]))
        except (OSError, ValueError, KeyError, TypeError, struct.error):
            return False

    def put(self, key: str, synthesis: Synthesis) -> None:
        pcm = np.ascontiguousarray(synthesis.samples, dtype="<i2").tobytes()
        meta = {
            "sample_rate": synthesis.sample_rate,
            "bytes": len(pcm),
            "sha256": hashlib.sha256(pcm).hexdigest(),
            "boundaries": [asdict(b) for b in synthesis.boundaries],
        }
        header = json.dumps(meta, ensure_ascii=False).encode("utf-8")
        atomic_write_bytes(self.path(key), MAGIC + struct.pack("<I", len(header)) + header + pcm)

    def get(self, key: str) -> Synthesis | None:
        """The cached synthesis, or None if missing or corrupt (a corrupt entry is removed)."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            if not data.startswith(MAGIC):
                raise ValueError("bad magic")
            (size,) = struct.unpack_from("<I", data, len(MAGIC))
            start = len(MAGIC) + 4
            meta = json.loads(data[start:start + size])
            pcm = data[start + size:]
            if len(pcm) != meta["bytes"] or hashlib.sha256(pcm).hexdigest() != meta["sha256"]:
                raise ValueError("length or checksum mismatch")
            boundaries = [Boundary(**b) for b in meta["boundaries"]]
        except (ValueError, KeyError, TypeError, struct.error) as exc:
            log.warning("discarding corrupt cache entry %s (%s)", path.name, exc)
            path.unlink(missing_ok=True)
            return None
        samples = np.frombuffer(pcm, dtype="<i2")
        return Synthesis(samples, int(meta["sample_rate"]), boundaries)

    def touch(self, keys: Iterable[str]) -> None:
        """Mark entries as just used (their mtime), so `cache prune`'s grace period counts from the
        last render that needed them, not from when they were written."""
        for key in keys:
            with contextlib.suppress(OSError):
                os.utime(self.path(key))

    @contextlib.contextmanager
    def hold(self, keys: Iterable[str]) -> Iterator[None]:
        """Declare, for the length of a render, the entries it needs: `cache prune` (from any
        output folder) keeps them. The declaration is a file under holds/ locked by this process,
        so one a killed render left behind is recognised (unlocked) and ignored."""
        folder = self.root.parent / HOLDS_DIR
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{os.getpid()}-{os.urandom(4).hex()}"
        writing, path = folder / f".{name}.tmp", folder / f"{name}.json"
        fd = os.open(writing, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # locked and complete before prune can see it
            os.write(fd, json.dumps(sorted(set(keys))).encode("ascii"))
            os.replace(writing, path)
            yield
        finally:
            path.unlink(missing_ok=True)
            writing.unlink(missing_ok=True)
            os.close(fd)

    def held_keys(self) -> set[str]:
        """The entries renders running now declared they need; declarations a dead process left
        (no longer locked) are removed."""
        held: set[str] = set()
        folder = self.root.parent / HOLDS_DIR
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:  # a running render's
                    with os.fdopen(os.dup(fd), "rb") as fh:
                        held.update(json.loads(fh.read()))
                    continue
                path.unlink(missing_ok=True)
            finally:
                os.close(fd)
        return held

    def keys(self) -> Iterator[str]:
        if self.root.exists():
            for path in self.root.glob(f"*/*{SUFFIX}"):
                yield path.stem
