"""jieba, without jieba's start-up cost.

jieba.initialize() unmarshals its whole prefix dictionary, ~580,000 words and prefixes, into a
dict: 0.7-1.3 s on our machines, paid by every render that segments any text (re-rendering one
edited sentence included). Here the same dictionary lives in one sorted index file in the user
cache (built once per jieba dictionary, from jieba's own data), is read in a few milliseconds
and answered by binary search. A jieba Tokenizer given this index as its FREQ cuts exactly as
jieba's default one does (tests/unit/text/test_words.py checks it on real text): it only ever asks
whether a fragment is in FREQ and for its frequency.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import json
import logging
import struct
import warnings
from array import array
from collections.abc import Iterator, Mapping
from itertools import accumulate
from typing import Any

from ..errors import PublishError
from ..paths import cache_dir
from ..store.files import atomic_write_bytes

log = logging.getLogger(__name__)

INDEX_VERSION = 1
_MAGIC = b"ABWORDS1\n"


class _Keys:
    """The sorted words as a sequence for bisect, sliced out of one string."""

    def __init__(self, text: str, offsets: array[int]) -> None:
        self.text, self.offsets = text, offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.text[self.offsets[i]:self.offsets[i + 1]]


class FrequencyIndex(Mapping[str, int]):
    """jieba's FREQ (word or word prefix → frequency, 0 for a bare prefix), read-only."""

    def __init__(self, text: str, offsets: array[int], freqs: array[int], total: int) -> None:
        if len(offsets) != len(freqs) + 1 or offsets[-1] != len(text):
            raise ValueError("inconsistent word index")
        self._keys, self._freqs, self.total = _Keys(text, offsets), freqs, total
        # a text asks about the same short fragments over and over (every character, common words)
        self._find = functools.lru_cache(maxsize=1 << 16)(self._search)

    def _search(self, word: str) -> int:
        i = bisect.bisect_left(self._keys, word)
        return i if i < len(self._freqs) and self._keys[i] == word else -1

    def __getitem__(self, word: str) -> int:
        i = self._find(word)
        if i < 0:
            raise KeyError(word)
        return self._freqs[i]

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._find(word) >= 0

    def get(self, word: str, default: Any = None) -> Any:
        i = self._find(word)
        return default if i < 0 else self._freqs[i]

    def __len__(self) -> int:
        return len(self._freqs)

    def __iter__(self) -> Iterator[str]:
        return (self._keys[i] for i in range(len(self._freqs)))


def _jieba() -> Any:
    with warnings.catch_warnings():
        # jieba 0.42 has invalid escape sequences; without cached bytecode each import warns about them
        # (a DeprecationWarning on 3.11, a SyntaxWarning from 3.12), and as errors they break the import.
        for category in (DeprecationWarning, SyntaxWarning):
            warnings.filterwarnings("ignore", "invalid escape sequence", category)
        import jieba
    jieba.setLogLevel(60)
    return jieba


def _encode(freq: Mapping[str, int], total: int) -> bytes:
    words = sorted(freq)
    offsets = array("q", accumulate(map(len, words), initial=0))
    text = "".join(words).encode("utf-8")
    freqs = array("q", map(freq.__getitem__, words))
    header = json.dumps({"total": total, "count": len(words), "text_bytes": len(text)}).encode()
    return b"".join([_MAGIC, struct.pack("<I", len(header)), header, text, offsets.tobytes(), freqs.tobytes()])


def _decode(data: bytes) -> FrequencyIndex:
    if not data.startswith(_MAGIC):
        raise ValueError("not a word index")
    (size,) = struct.unpack_from("<I", data, len(_MAGIC))
    start = len(_MAGIC) + 4
    meta = json.loads(data[start:start + size])
    count, text_bytes = int(meta["count"]), int(meta["text_bytes"])
    pos = start + size
    text = data[pos:pos + text_bytes].decode("utf-8")
    pos += text_bytes
    offsets, freqs = array("q"), array("q")
    offsets.frombytes(data[pos:pos + 8 * (count + 1)])
    freqs.frombytes(data[pos + 8 * (count + 1):pos + 8 * (2 * count + 1)])
    if pos + 8 * (2 * count + 1) != len(data):
        raise ValueError("word index has the wrong length")
    return FrequencyIndex(text, offsets, freqs, int(meta["total"]))


@functools.cache
def frequencies() -> FrequencyIndex:
    """jieba's default dictionary as a FrequencyIndex, from the cache or built (once) from jieba."""
    jieba = _jieba()
    with jieba.dt.get_dict_file() as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()[:16]
    path = cache_dir() / "words" / f"jieba-{digest}-v{INDEX_VERSION}.idx"
    try:
        return _decode(path.read_bytes())
    except FileNotFoundError:
        pass
    except (ValueError, KeyError, TypeError, struct.error, UnicodeDecodeError) as exc:
        log.warning("rebuilding the word index %s (%s)", path, exc)
    # jieba's own parser of its dictionary (what initialize() runs when its marshal cache in the
    # temp dir is missing), without that cache: ~0.8 s, once
    freq, total = jieba.Tokenizer.gen_pfdict(jieba.dt.get_dict_file())
    data = _encode(freq, total)
    try:
        atomic_write_bytes(path, data)
    except PublishError as exc:  # an unwritable cache only costs the next run this build again
        log.warning("could not save the word index: %s", exc)
    return _decode(data)


@functools.cache
def tokenizer() -> Any:
    """A jieba.Tokenizer on the index: .tokenize() and .cut() as jieba's own."""
    jieba = _jieba()
    index = frequencies()
    tk = jieba.Tokenizer()
    tk.FREQ, tk.total, tk.initialized = index, index.total, True
    return tk

