"""Synthesis stage: every sentence of the script becomes a cached segment.

Only keys missing from the cache are sent to the engine; each finished segment is cached the
moment it arrives, so an interrupted run loses only what was in flight. Requests go chapter by
chapter (longest chapter first, see synthesis_order), and a ChapterGate announces each chapter
whose segments are all cached, so the assembly stage can build it while later chapters are
still synthesizing. A sentence marked as quoted speech is read by the quote voice when there
is one; the segment key includes the voice, so the cache keeps narrator and quote readings of
the same text apart.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

from ..models import Script, Sentence, Synthesis, SynthRequest, Voice
from ..store.manifest import SynthStats
from ..store.segments import SegmentCache, segment_key
from ..tts.base import Engine

# (chapter index, segments done in that chapter, segments to do in that chapter)
Progress = Callable[[int, int, int], None]


def voice_of(sentence: Sentence, voice: Voice, quote_voice: Voice | None = None) -> Voice:
    """One voice per unit, never two: quoted speech gets the quote voice if the run has one."""
    return quote_voice if sentence.quote and quote_voice is not None else voice


def assign_keys(script: Script, engine_name: str, engine_version: str, voice: Voice,
                quote_voice: Voice | None = None) -> Script:
    """Give each sentence its segment key (what its audio is cached under); returns the script."""
    for chapter in script.chapters:
        for s in chapter.sentences:
            s.key = segment_key(s.spoken, engine_name, engine_version, voice_of(s, voice, quote_voice))
    return script


class SynthesisStopped(Exception):
    """Raised in the assembly stage's wait for a chapter when the synthesis stage stopped (failed
    or interrupted) first; the synthesis stage's own exception is the one the user sees."""


class ChapterGate:
    """Hand-off from the synthesis stage to the assembly stage running beside it: wait(i)
    returns once chapter i's segments are all cached, or raises SynthesisStopped. A render waits
    as long as synthesis takes; a test gives the gate a timeout, so a broken hand-off fails
    (TimeoutError) instead of hanging."""

    def __init__(self, timeout_s: float | None = None) -> None:
        self._ready: set[int] = set()
        self._stopped = False
        self._changed = threading.Condition()
        self.timeout_s = timeout_s

    def open(self, index: int) -> None:
        with self._changed:
            self._ready.add(index)
            self._changed.notify_all()

    def stop(self) -> None:
        """No more chapters will open; waiters (and later callers) stop."""
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    def wait(self, index: int) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: index in self._ready or self._stopped, self.timeout_s):
                raise TimeoutError(f"chapter {index} was not ready within {self.timeout_s} s")
            if self._stopped:
                raise SynthesisStopped(f"synthesis stopped before chapter {index} was ready")


def synthesis_order(script: Script) -> list[int]:
    """Chapter indices in the order they are synthesized and then assembled: the longest first
    (by spoken characters), so the chapter whose assembly is left after synthesis ends is the
    shortest (the usual longest-first rule for two stages in a pipeline)."""
    length = {ch.index: sum(len(s.spoken) for s in ch.sentences) for ch in script.chapters}
    return sorted(length, key=lambda index: (-length[index], index))


def synthesize_script(script: Script, open_engine: Callable[[], Engine], voice: Voice, cache: SegmentCache,
                      progress: Progress | None = None, quote_voice: Voice | None = None,
                      gate: ChapterGate | None = None) -> SynthStats:
    """Synthesize what the cache lacks, for a script whose sentences have their keys (assign_keys).
    The engine is only opened (model loaded, pool started) when there is something to synthesize,
    so an unchanged re-render costs no engine start-up."""
    todo: dict[str, SynthRequest] = {}
    chapter_of: dict[str, int] = {}
    waiting: dict[int, set[str]] = {}  # per chapter, its keys not cached yet
    rank = {index: position for position, index in enumerate(synthesis_order(script))}
    for chapter in script.chapters:
        for sentence in chapter.sentences:
            key = sentence.key
            if key in todo:  # a sentence repeated in another chapter: whichever comes first takes it
                todo[key] = replace(todo[key], group=min(todo[key].group, rank[chapter.index]))
            elif key not in chapter_of and not cache.has(key):
                todo[key] = SynthRequest(key, sentence.spoken, voice_of(sentence, voice, quote_voice),
                                         rank[chapter.index])
            chapter_of.setdefault(key, chapter.index)
        waiting[chapter.index] = {k for k in chapter.keys if k in todo}
    unique = len(chapter_of)
    per_chapter = {ch.index: sum(1 for k in todo if chapter_of[k] == ch.index) for ch in script.chapters}
    done = dict.fromkeys(per_chapter, 0)
    for index, missing in waiting.items():
        if not missing and gate:
            gate.open(index)

    def on_done(request: SynthRequest, synthesis: Synthesis) -> None:
        cache.put(request.key, synthesis)
        index = chapter_of[request.key]
        done[index] += 1
        if progress:
            progress(index, done[index], per_chapter[index])
        for chapter_index, missing in waiting.items():
            if request.key in missing:
                missing.discard(request.key)
                if not missing and gate:
                    gate.open(chapter_index)

    if todo:
        engine = open_engine()
        try:
            engine.synthesize(sorted(todo.values(), key=lambda request: request.group), on_done)
        finally:
            engine.close()
    total = sum(len(chapter.sentences) for chapter in script.chapters)
    return SynthStats(total=total, unique=unique, cached=unique - len(todo), synthesized=len(todo))
