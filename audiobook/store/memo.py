"""Small remembered results of slow, deterministic work, so that re-rendering an article does
not redo it: a garbled line's repair (up to ~1 s of search), wetext's reading of a number-bearing
fragment (wetext loads its grammars in ~0.5 s: a re-render whose changed sentences have no
numbers never loads them), the MP3 encoder's gain and the voice model files' hashes.

One JSON file per entry under <cache>/memo/<kind>/, named by a hash of everything the result
depends on (the caller's version string and input); an unreadable entry is treated as missing.
Entries are disposable: `audiobook cache prune` removes those older than its grace period, and
they are simply computed again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import PublishError
from ..paths import cache_dir
from .files import atomic_write_text

log = logging.getLogger(__name__)

MEMO_DIR = "memo"


def memo_root() -> Path:
    return cache_dir() / MEMO_DIR


def _entry(kind: str, version: str, key: str) -> Path:
    digest = hashlib.sha256(f"{version}\0{key}".encode()).hexdigest()
    return memo_root() / kind / f"{digest}.json"


def recall(kind: str, version: str, key: str) -> Any | None:
    """The value remembered for this kind, version and key, or None."""
    try:
        return json.loads(_entry(kind, version, key).read_text(encoding="utf-8"))["value"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remember(kind: str, version: str, key: str, value: Any) -> None:
    try:  # not fsynced: an entry a crash leaves empty or torn reads as missing
        atomic_write_text(_entry(kind, version, key), json.dumps({"value": value}, ensure_ascii=False),
                          durable=False)
    except PublishError as exc:  # a read-only or full cache costs only speed
        log.debug("could not remember %s: %s", kind, exc)


def remembered(kind: str, version: str, key: str, compute: Callable[[], Any]) -> Any:
    """compute(), or the JSON value it gave before for the same kind, version and key."""
    value = recall(kind, version, key)
    if value is None:
        value = compute()
        remember(kind, version, key, value)
    return value
